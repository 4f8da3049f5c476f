"""oairt_trio against the loopback wsproto server (trio only: run through the anyio plugin)."""

from __future__ import annotations

import json

import pytest
import trio

import oairt_trio
from oairt_core.connection import MalformedServerEvent
from oairt_core.errors import ConnectionClosedError, HandshakeError, MessageTooBig
from oairt_core.events import InputAudioBufferClearedEvent, InputAudioBufferClearEvent
from oairt_core.protocols import AsyncRealtimeConnection
from tests.wsserver import ServerConn, frame, serve

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-abcdefghijklmnop"


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


def cleared(n: int) -> dict[str, str]:
    return {"type": "input_audio_buffer.cleared", "event_id": f"ev_{n}"}


async def test_exchange_and_server_close() -> None:
    got: list[str] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        got.append((await conn.receive_json())["type"])
        await conn.send_event(cleared(1))
        await conn.close(1000, "bye")

    async with (
        serve(handler) as server,
        oairt_trio.open_realtime(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        assert isinstance(c, AsyncRealtimeConnection)
        await c.send(InputAudioBufferClearEvent())
        events = [ev async for ev in c]
        with pytest.raises(ConnectionClosedError) as info:
            await c.next_event()
        assert info.value.code == 1000
    assert got == ["input_audio_buffer.clear"]
    assert len(events) == 1 and isinstance(events[0], InputAudioBufferClearedEvent)


async def test_connect_realtime_in_nursery_and_client_close() -> None:
    codes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(2))
        codes.append(await conn.wait_closed())

    async with serve(handler) as server, trio.open_nursery() as nursery:
        conn = await oairt_trio.connect_realtime(
            nursery, api_key=KEY, intent="transcription", base_url=server.url
        )
        assert isinstance(await conn.next_event(), InputAudioBufferClearedEvent)
        await conn.close()
        assert conn.closed is not None and conn.closed.normal
    assert codes == [1000]
    assert server.requests[0].target == "/v1/realtime?intent=transcription"


async def test_reset_mid_message() -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.send_raw(frame(0x1, b'{"type": "x", "pad": "aaaaaaaaaaaa"}', fin=False)[:9])
        await conn.abort()

    async with (
        serve(handler) as server,
        oairt_trio.open_realtime(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        assert isinstance(await c.next_event(), InputAudioBufferClearedEvent)
        with pytest.raises(ConnectionClosedError) as info:
            await c.next_event()
        assert info.value.code == 1006


async def test_rejection() -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.reject(
            401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}
        )

    async with serve(handler) as server:
        with pytest.raises(HandshakeError) as info:
            async with oairt_trio.open_realtime(api_key=KEY, model="m", base_url=server.url):
                pass
    assert info.value.status_code == 401 and info.value.message == "Incorrect API key"
    assert KEY not in str(info.value)


async def test_oversized_ping_malformed() -> None:
    pongs: list[bytes] = []
    closes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        pongs.append(await conn.ping(b"p"))
        await conn.send_text("{broken")
        await conn.send_event(cleared(1))
        await conn.send_text(json.dumps({"type": "x", "pad": "z" * 3000}))
        closes.append(await conn.wait_closed())

    async with (
        serve(handler) as server,
        oairt_trio.open_realtime(
            api_key=KEY, model="m", base_url=server.url, max_message_size=2000
        ) as c,
    ):
        assert isinstance(await c.next_event(), MalformedServerEvent)
        assert isinstance(await c.next_event(), InputAudioBufferClearedEvent)
        with pytest.raises(MessageTooBig):
            await c.next_event()
    assert pongs == [b"p"] and closes == [1009]


async def test_body_exception_unwrapped() -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with serve(handler) as server:
        with pytest.raises(ValueError, match="mine"):
            async with oairt_trio.open_realtime(api_key=KEY, model="m", base_url=server.url):
                raise ValueError("mine")


async def test_cancelled_block_closes() -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with serve(handler) as server:
        with trio.CancelScope() as scope:
            async with oairt_trio.open_realtime(api_key=KEY, model="m", base_url=server.url) as c:
                scope.cancel()
                await c.next_event()
        assert c.closed is not None
        with pytest.raises(ConnectionClosedError):
            await c.next_event()


async def test_tls_with_verification() -> None:
    from tests.certs import tls_material

    material = tls_material()

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.close(1000)

    async with serve(handler, material.server_context()) as server:
        async with oairt_trio.open_realtime(
            api_key=KEY, model="m", base_url=server.url, ssl=material.client_context()
        ) as c:
            events = [ev async for ev in c]
        assert len(events) == 1
        with pytest.raises(ConnectionClosedError) as info:
            async with oairt_trio.open_realtime(api_key=KEY, model="m", base_url=server.url):
                pass
        assert "CERTIFICATE" in str(info.value).upper()
