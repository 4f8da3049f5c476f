"""The documentation: builds with ``mkdocs build --strict``, and every ```python block runs.

Blocks of one page run in order, in one fresh interpreter and one namespace (so a page can
build on its earlier blocks), with the working directory in a temporary folder. Blocks that
talk to a server get a fake Realtime server on loopback through ``OPENAI_API_KEY=sk-test`` and
``OAIRT_BASE_URL``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)

# Run inside the child interpreter: execute each block, report which one failed.
RUNNER = r"""
import json, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
for block in blocks:
    try:
        code = compile(block["code"], f"{block['page']}:{block['line']}", "exec")
        exec(code, namespace)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            print(f"block at {block['page']}:{block['line']} exited with {exc.code}",
                  file=sys.stderr)
            sys.exit(1)
    except BaseException:
        print(f"block at {block['page']}:{block['line']} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


def python_blocks(page: Path) -> list[dict[str, object]]:
    text = page.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        lang = match.group(1).lower()
        if lang in ("python", "py", "python3"):
            line = text.count("\n", 0, match.start()) + 2
            blocks.append({"page": page.name, "line": line, "code": match.group(2)})
    return blocks


PAGES = sorted(p for p in DOCS.glob("*.md"))
PAGES_WITH_CODE = [p for p in PAGES if python_blocks(p)]


@pytest.fixture(scope="module")
def fake_server_url() -> Iterator[str | None]:
    try:
        from anyio.from_thread import start_blocking_portal

        run_fake_server = importlib.import_module("oairt_anyio.testing").run_fake_server
    except (ImportError, AttributeError):
        yield None
        return
    with start_blocking_portal() as portal:
        cm = run_fake_server(api_keys={"sk-test"})
        with portal.wrap_async_context_manager(cm) as server:
            yield str(server.url)


@pytest.fixture(scope="module")
def page_runs(
    fake_server_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, tuple[subprocess.Popen[str], Path]]]:
    """Start every page's blocks at once (each page in its own interpreter and folder).

    Many blocks wait on real-time pacing, so running the pages side by side keeps the
    suite fast; each test then collects its own page's result.
    """
    env = dict(os.environ)
    env["OPENAI_API_KEY"] = "sk-test"
    if fake_server_url:
        env["OAIRT_BASE_URL"] = fake_server_url
    else:
        env.pop("OAIRT_BASE_URL", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    runs: dict[str, tuple[subprocess.Popen[str], Path]] = {}
    for page in PAGES_WITH_CODE:
        folder = tmp_path_factory.mktemp(page.stem)
        (folder / "blocks.json").write_text(json.dumps(python_blocks(page)))
        # Output goes to files: a full pipe must never stall a page nobody is reading yet.
        with (
            open(folder / "blocks.json") as stdin,
            open(folder / "out.txt", "w") as stdout,
            open(folder / "err.txt", "w") as stderr,
        ):
            proc = subprocess.Popen(
                [sys.executable, "-c", RUNNER],
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                text=True,
                cwd=folder,
                env=env,
            )
        runs[page.name] = (proc, folder)
    yield runs
    for proc, _ in runs.values():
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("page", PAGES_WITH_CODE, ids=lambda p: p.name)
def test_python_blocks_run(
    page: Path, page_runs: dict[str, tuple[subprocess.Popen[str], Path]]
) -> None:
    proc, folder = page_runs[page.name]
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"{page.name}: the blocks did not finish within 120 s")
    stderr = (folder / "err.txt").read_text()
    assert proc.returncode == 0, stderr[-4000:]


def test_fence_parser_finds_blocks() -> None:
    sample = DOCS / "concepts.md"
    blocks = python_blocks(sample)
    assert blocks and all("import" in str(b["code"]) for b in blocks)


def test_protocol_page_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(DOCS / "gen_protocol.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_protocol_page_lists_every_event() -> None:
    import typing

    from oairt_core import events

    page = (DOCS / "protocol.md").read_text(encoding="utf-8")
    classes = list(typing.get_args(events.ClientEvent)) + list(
        typing.get_args(events.KnownServerEvent)
    )
    assert len(classes) == 57
    for cls in classes:
        assert f"| `{cls.__struct_config__.tag}` | `{cls.__name__}` |" in page


def _mkdocs() -> str | None:
    local = Path(sys.executable).with_name("mkdocs")
    return str(local) if local.exists() else shutil.which("mkdocs")


@pytest.mark.skipif(_mkdocs() is None, reason="mkdocs is a dev dependency")
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(_mkdocs()), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,  # the API reference (mkdocstrings) reads every module
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The API reference has the names a user had to find with dir() before (issue 12.12).
    reference = tmp_path / "site" / "reference"
    audio_page = (reference / "audio" / "index.html").read_text(encoding="utf-8")
    for name in ("read_wav", "write_wav", "resample"):
        assert f'id="oairt_core.audio.{name}"' in audio_page, name
    # Both adapters' RealtimeSession is one class, written once in the async layer and
    # documented once (on the anyio page); the trio page lists the name and links there.
    anyio_page = (reference / "anyio" / "index.html").read_text(encoding="utf-8")
    for method in ("aclose", "send_item", "create_response", "send_pcm16", "flush_input"):
        assert f'id="oairt_core._async.voice.AsyncVoiceSession.{method}"' in anyio_page, method
    for adapter in ("anyio", "trio"):
        page = (reference / adapter / "index.html").read_text(encoding="utf-8")
        for name in ("RealtimeSession", "open_voice", "connect_voice", "open_realtime"):
            assert f'id="oairt_{adapter}' in page and name in page, (adapter, name)
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "protocol" / "index.html").exists()


def test_nav_lists_only_existing_pages() -> None:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for name in re.findall(r":\s*([\w/-]+\.md)\s*$", text, re.MULTILINE):
        assert (DOCS / name).exists(), name


def test_cli_page_documents_every_command_and_option() -> None:
    """docs/cli.md keeps up with the parser: every subcommand and long option appears."""
    import argparse

    from oairt_anyio._cli import build_parser

    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subparsers.choices.items():
        assert f"## `oairt {name}`" in page, name
        for action in sub._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in page, (name, opt)
