"""Ctrl-C exits 130 from every long-running ``oairt`` command, on every supported Python.

3.10's asyncio surfaces SIGINT out of ``anyio.run`` as ``CancelledError`` where 3.11+ raise
``KeyboardInterrupt`` (see ``oairt_anyio._sigint``); these run the real console entry point in
a subprocess and send a real SIGINT once the command says it is ready.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from oairt_anyio._sigint import is_interrupt

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")}
    return subprocess.Popen(
        [sys.executable, "-m", "oairt_anyio._cli", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PYTHONUNBUFFERED": "1"},
    )


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


def first_line_starting(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(prefix):
            return line.strip()
    raise AssertionError(f"no line starting {prefix!r}; stderr: {proc.communicate()[1]}")


@pytest.fixture
def fake_server() -> Iterator[str]:
    proc = spawn("fake-server", "--port", "0")
    try:
        yield first_line_starting(proc, "listening on ").split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        stop(proc)


def test_fake_server_ctrl_c_exits_130() -> None:
    proc = spawn("fake-server", "--port", "0")
    try:
        first_line_starting(proc, "listening on ws://127.0.0.1:")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert "stopping (SIGINT)" in err
        assert "Traceback" not in err
    finally:
        stop(proc)


def test_chat_ctrl_c_while_waiting_for_input_exits_130(fake_server: str) -> None:
    proc = spawn("chat", "--base-url", fake_server, "--api-key", "sk-test")
    try:
        first_line_starting(proc, "connected to ")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err
        assert err.endswith("oairt: interrupted\n")
        assert "Traceback" not in err
    finally:
        stop(proc)


def test_is_interrupt_matches_what_each_python_raises() -> None:
    import asyncio

    assert is_interrupt(KeyboardInterrupt())
    assert not is_interrupt(Exception("boom"))
    # Only where asyncio cannot turn the SIGINT cancellation back into KeyboardInterrupt.
    assert is_interrupt(asyncio.CancelledError()) == (sys.version_info < (3, 11))
