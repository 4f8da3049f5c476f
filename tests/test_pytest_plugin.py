"""The ``realtime_server`` pytest fixture, on asyncio and trio."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import wsproto
import wsproto.events as wse

from oairt_core.testing import say

pytest_plugins = ["pytester"]


async def _session(url: str, api_key: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A tiny raw WebSocket client: send ``events``, collect until response.done."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    ws = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    received: list[dict[str, Any]] = []
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(
            ws.send(
                wse.Request(
                    host=host,
                    target="/v1/realtime?model=gpt-realtime",
                    extra_headers=[(b"authorization", f"Bearer {api_key}".encode())],
                )
            )
        )
        with anyio.fail_after(10):
            accepted = False
            while not accepted:
                ws.receive_data(await stream.receive())
                for ev in ws.events():
                    if isinstance(ev, wse.AcceptConnection):
                        accepted = True
                    elif isinstance(ev, wse.TextMessage):
                        received.append(json.loads(ev.data))
            for e in events:
                await stream.send(ws.send(wse.Message(data=json.dumps(e))))
            while not received or received[-1]["type"] != "response.done":
                ws.receive_data(await stream.receive())
                for ev in ws.events():
                    if isinstance(ev, wse.TextMessage):
                        received.append(json.loads(ev.data))
        await stream.send(ws.send(wse.CloseConnection(code=1000)))
    return received


@pytest.mark.anyio
async def test_fixture_serves_a_scripted_reply(realtime_server: Any) -> None:
    realtime_server.script.text("Scripted hello")
    got = await _session(
        realtime_server.url,
        realtime_server.api_key,
        [{"type": "response.create", "response": {"output_modalities": ["text"]}}],
    )
    assert got[0]["type"] == "session.created"
    assert (
        next(e for e in got if e["type"] == "response.output_text.done")["text"] == "Scripted hello"
    )
    assert realtime_server.url.startswith("ws://127.0.0.1:") and realtime_server.url.endswith("/v1")
    assert not realtime_server.violations


@pytest.mark.anyio
@pytest.mark.realtime_server(api_keys={"sk-custom"}, script=None)
async def test_marker_options(realtime_server: Any) -> None:
    assert realtime_server.api_key == "sk-custom"
    realtime_server.script.reply(say("x"))
    got = await _session(realtime_server.url, "sk-custom", [{"type": "response.create"}])
    assert got[-1]["response"]["status"] == "completed"


def _blocker(*modules: str) -> str:
    """Python source that makes ``modules`` (and their submodules) unimportable, like an
    extra that was never installed: a meta-path finder that refuses them."""
    return (
        "import sys\n"
        "class _Missing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {modules!r}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _Missing())\n"
    )


def _run(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


def test_plugin_module_imports_without_anyio() -> None:
    code = _blocker("anyio") + (
        "import oairt_anyio.pytest_plugin as p; print(p.realtime_server.__name__)"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert "realtime_server" in out.stdout


def test_plugin_is_registered_from_oairt_anyio() -> None:
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="pytest11") if e.name == "oairt"]
    assert ep.value == "oairt_anyio.pytest_plugin"


def test_pytest_runs_without_anyio(tmp_path: Path) -> None:
    """The plugin loads for every pytest run: without the extra it must not break pytest."""
    (tmp_path / "test_plain.py").write_text("def test_ok():\n    assert True\n")
    code = _blocker("anyio") + (
        "import pytest\n"
        # anyio's own plugin entry point outlives the blocked package in this simulation.
        "sys.exit(pytest.main(['-q', '-p', 'no:anyio', '-p', 'no:cacheprovider', "
        f"{str(tmp_path)!r}]))"
    )
    out = _run(code)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout


def test_oairt_core_never_imports_an_adapter() -> None:
    """The core is the bottom layer: no module of oairt_core imports oairt_anyio or oairt_trio."""
    import ast

    import oairt_core

    root = Path(oairt_core.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
                names = [str(a.value) for a in node.args if isinstance(a, ast.Constant)]
            offenders += [
                f"{path.relative_to(root)}: {n}"
                for n in names
                if str(n).split(".")[0] in ("oairt_anyio", "oairt_trio")
            ]
    assert offenders == []


def test_oairt_command_without_anyio_names_the_extra() -> None:
    code = _blocker("anyio") + ("from oairt_anyio._cli import main\nsys.exit(main(sys.argv[1:]))")
    for args in ([], ["chat"], ["--version"]):
        out = _run(code, *args)
        assert out.returncode == 1, (args, out.stderr)
        assert out.stdout == ""
        assert out.stderr == (
            "oairt: error: the oairt command needs the anyio extra: pip install 'oairt[anyio]'\n"
        )


def test_oairt_anyio_names_without_anyio_name_the_extra() -> None:
    code = _blocker("anyio") + (
        "import oairt_anyio\n"
        "try:\n"
        "    from oairt_anyio import open_realtime\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "oairt_anyio.open_realtime needs anyio: pip install 'oairt[anyio]'"


def test_import_oairt_trio_without_trio_names_the_extra() -> None:
    code = _blocker("trio") + (
        "try:\n"
        "    import oairt_trio\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ImportError oairt_trio needs trio: pip install 'oairt[trio]'"


def test_fixture_through_pytester(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
import pytest

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""
    )
    pytester.makepyfile(
        """
import pytest
import sniffio

import oairt_anyio

@pytest.mark.anyio
async def test_user(realtime_server, anyio_backend):
    # The fixture serves from inside the test's own event loop, whichever it is.
    assert sniffio.current_async_library() == anyio_backend
    realtime_server.script.say("hi")
    assert realtime_server.http_url.startswith("http://127.0.0.1:")
    assert realtime_server.connections == []
    async with oairt_anyio.open_realtime(
        api_key=realtime_server.api_key, model="gpt-realtime", base_url=realtime_server.url
    ) as conn:
        async for event in conn:
            if type(event).__name__ == "SessionCreatedEvent":
                break
    assert len(realtime_server.connections) == 1
    print("served on", anyio_backend)
"""
    )
    result = pytester.runpytest_subprocess("-p", "anyio", "-q", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*served on asyncio*", "*served on trio*"])
