"""The README's Python blocks run, in order, against the fake server (as a user's would
against the real API: the key and endpoint come from OPENAI_API_KEY and OAIRT_BASE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_docs import RUNNER, python_blocks

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_has_the_two_commands_on_its_first_screen() -> None:
    first_screen = "\n".join(README.read_text(encoding="utf-8").splitlines()[:20])
    assert "make demo" in first_screen
    assert "make test" in first_screen


@pytest.mark.anyio
async def test_readme_python_blocks_run(tmp_path: Path) -> None:
    from oairt_anyio.testing import run_fake_server

    blocks = python_blocks(README)
    assert len(blocks) >= 3
    async with run_fake_server(api_keys={"sk-test"}) as server:
        env = dict(os.environ, OPENAI_API_KEY="sk-test", OAIRT_BASE_URL=str(server.url))
        env["PYTHONPATH"] = str(README.parent) + os.pathsep + env.get("PYTHONPATH", "")
        proc = await _run(RUNNER, json.dumps(blocks), env, tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "assistant: You said:" in proc.stdout
    assert '{"sum":5}' in proc.stdout
    assert "SessionUpdatedEvent" in proc.stdout


async def _run(
    code: str, stdin: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    import anyio

    # The server runs in this event loop, so the child must run beside it, not block it.
    return await anyio.to_thread.run_sync(
        lambda: subprocess.run(
            [sys.executable, "-c", code],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=120,
        )
    )
