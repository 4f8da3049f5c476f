"""The embedding examples (docs/examples) run against the loopback server, no adapter."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from oairt_core.errors import ConnectionClosedError, HandshakeError
from oairt_core.events import ResponseCreateEvent
from tests.support.wsserver import ServerConn, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"
KEY = "sk-test-embedding-0000"
DONE = {
    "type": "response.done",
    "event_id": "ev_2",
    "response": {
        "id": "resp_1",
        "object": "realtime.response",
        "status": "completed",
        "output": [],
    },
}


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


received: list[str] = []
closes: list[int | None] = []


async def conversation(conn: ServerConn) -> None:
    await conn.accept()
    received.append((await conn.receive_json())["type"])
    await conn.ping(b"keepalive")  # the example must answer it
    await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": "ev_1"})
    await conn.send_event(DONE)
    closes.append(await conn.wait_closed())


async def refuse(conn: ServerConn) -> None:
    await conn.reject(401, {"error": {"message": "bad key", "type": "invalid_request_error"}})


async def drop(conn: ServerConn) -> None:
    await conn.accept()
    await conn.receive()
    await conn.abort()


def run(name: str, base_url: str) -> list[str]:
    module = load(name)
    if name == "blocking_socket":
        result: list[str] = module.run_blocking(
            KEY, "gpt-realtime", ResponseCreateEvent(), base_url
        )
    else:
        result = asyncio.run(
            module.run_asyncio(KEY, "gpt-realtime", ResponseCreateEvent(), base_url)
        )
    return result


@pytest.mark.parametrize("name", ["blocking_socket", "asyncio_streams"])
def test_example_talks_to_server(name: str) -> None:
    received.clear()
    closes.clear()
    with serve_in_thread(conversation) as server:
        seen = run(name, server.url)
    assert seen == ["InputAudioBufferClearedEvent", "ResponseDoneEvent"]
    assert received == ["response.create"]
    assert closes == [1000]


@pytest.mark.parametrize("name", ["blocking_socket", "asyncio_streams"])
def test_example_reports_rejection_and_drop(name: str) -> None:
    with serve_in_thread(refuse) as server, pytest.raises(HandshakeError) as info:
        run(name, server.url)
    assert info.value.status_code == 401 and KEY not in str(info.value)
    with serve_in_thread(drop) as server, pytest.raises(ConnectionClosedError) as closed:
        run(name, server.url)
    assert closed.value.code == 1006


def test_docs_page_shows_the_examples_verbatim() -> None:
    page = (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8")
    for name in ("blocking_socket", "asyncio_streams"):
        assert (EXAMPLES / f"{name}.py").read_text(encoding="utf-8") in page
