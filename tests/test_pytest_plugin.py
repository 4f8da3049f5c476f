"""The ``realtime_server`` pytest fixture, on asyncio and trio."""

from __future__ import annotations

import json
import sys
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


def test_plugin_module_imports_without_anyio() -> None:
    import subprocess

    code = (
        "import sys; sys.modules['anyio'] = None; "
        "import oairt_core.testing.pytest_plugin as p; print(p.realtime_server.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "realtime_server" in out.stdout


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
