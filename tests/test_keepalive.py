"""Keepalive (issue 13, item 5): pings every ``ping_interval``, the pong due within
``ping_timeout``; a silent peer, a half-open connection or a trickled message end the
connection with a typed 1011 ``ConnectionClosedError`` saying so.

The sans-IO part takes the time as an argument (no clock is read); the adapter tests
run on anyio-asyncio, anyio-trio and native trio and assert outcomes, never timings.
"""

from __future__ import annotations

import math

import anyio
import pytest
from wsproto.events import Ping, Pong

from oairt_core.connection import ConnectionClosed
from oairt_core.errors import ConnectionClosedError, LocalProtocolError
from oairt_core.events import InputAudioBufferClearedEvent
from tests.conftest import Adapter
from tests.support.wsserver import ServerConn, frame, serve
from tests.test_connection import client_frames, drain, make, opened

KEY = "sk-test-KEEPALIVE-abcdefghijklmnop"
GUARD = 20  # seconds: only reached if the behaviour under test is broken


# ------------------------------------------------------------------ sans-IO


def test_no_timer_until_open_and_none_when_disabled() -> None:
    assert make(ping_interval=20.0).next_deadline() is None  # still connecting
    conn, _ = opened()
    assert conn.next_deadline() is None  # the core default: no keepalive
    conn, _ = opened(ping_interval=20.0, ping_timeout=20.0)
    assert conn.next_deadline() == -math.inf  # due now: start the timer


def test_ping_then_pong_rearms_the_interval() -> None:
    conn, server = opened(ping_interval=20.0, ping_timeout=5.0)
    conn.handle_timer(100.0)
    assert conn.next_deadline() == 120.0 and conn.data_to_send() == b""
    conn.handle_timer(110.0)  # early: nothing happens
    assert conn.data_to_send() == b""
    conn.handle_timer(120.0)
    (ping,) = client_frames(server, conn.data_to_send())
    assert isinstance(ping, Ping)
    assert conn.next_deadline() == 125.0  # the pong is due within ping_timeout
    conn.receive_data(server.send(ping.response()))
    assert drain(conn) == []  # the pong is absorbed
    assert conn.next_deadline() == 140.0  # next ping one interval after the last


def test_a_foreign_pong_does_not_count() -> None:
    conn, server = opened(ping_interval=20.0, ping_timeout=5.0)
    conn.handle_timer(0.0)
    conn.handle_timer(20.0)
    conn.data_to_send()
    conn.receive_data(server.send(Pong(payload=b"not ours")))
    assert conn.next_deadline() == 25.0


def test_missing_pong_fails_the_connection_with_1011() -> None:
    conn, server = opened(ping_interval=20.0, ping_timeout=5.0)
    conn.handle_timer(0.0)
    conn.handle_timer(20.0)
    conn.data_to_send()
    conn.handle_timer(25.0)
    frames = client_frames(server, conn.data_to_send())
    assert [type(f).__name__ for f in frames] == ["CloseConnection"]
    assert frames[0].code == 1011
    (closed,) = drain(conn)
    assert isinstance(closed, ConnectionClosed)
    assert closed.code == 1011 and not closed.normal and not closed.initiated_locally
    assert "keepalive ping timeout" in closed.reason
    error = closed.exception()
    assert isinstance(error, ConnectionClosedError) and error.code == 1011
    assert conn.next_deadline() is None


def test_ping_timeout_none_pings_without_waiting() -> None:
    conn, server = opened(ping_interval=10.0, ping_timeout=None)
    conn.handle_timer(0.0)
    conn.handle_timer(10.0)
    assert [type(f) for f in client_frames(server, conn.data_to_send())] == [Ping]
    assert conn.next_deadline() == 20.0


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf])
def test_bad_values_are_refused(value: float) -> None:
    with pytest.raises(LocalProtocolError):
        make(ping_interval=value)
    with pytest.raises(LocalProtocolError):
        make(ping_timeout=value)


# ------------------------------------------------------------------ adapters

@pytest.mark.anyio
async def test_silent_peer_ends_with_a_typed_keepalive_error(adapter: Adapter) -> None:
    """A server that accepts, sends one event and then never reads (a half-open TCP
    connection looks the same): the pong never comes."""
    stop = anyio.Event()

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": "e1"})
        await stop.wait()

    with anyio.fail_after(GUARD):
        async with serve(handler) as server:
            async with adapter.open_realtime(
                api_key=KEY,
                model="m",
                base_url=server.url,
                ping_interval=0.05,
                ping_timeout=0.05,
            ) as c:
                first = await c.next_event()
                assert isinstance(first, InputAudioBufferClearedEvent)
                with pytest.raises(ConnectionClosedError) as info:
                    await c.next_event()
            stop.set()
    assert info.value.code == 1011
    assert "keepalive ping timeout" in str(info.value)


@pytest.mark.anyio
async def test_message_trickled_byte_by_byte_cannot_block_forever(adapter: Adapter) -> None:
    """One frame announced as 4 KiB, then one byte at a time: the pong cannot get through
    a frame in progress, so the keepalive ends the connection."""
    stop = anyio.Event()

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        payload = b'{"type":"input_audio_buffer.cleared","event_id":"' + b"x" * 4000 + b'"}'
        data = frame(0x1, payload)
        for i in range(len(data)):
            if stop.is_set():
                return
            await conn.send_raw(data[i : i + 1])
            await anyio.sleep(0.01)

    with anyio.fail_after(GUARD):
        async with serve(handler) as server:
            async with adapter.open_realtime(
                api_key=KEY,
                model="m",
                base_url=server.url,
                ping_interval=0.05,
                ping_timeout=0.1,
            ) as c:
                with pytest.raises(ConnectionClosedError) as info:
                    await c.next_event()
            stop.set()
    assert info.value.code == 1011 and "keepalive" in str(info.value)


@pytest.mark.anyio
async def test_a_peer_that_answers_pings_stays_connected(adapter: Adapter) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        # Read (and so answer pings) until the client's message, then reply to it.
        await conn.receive()
        await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": "late"})
        await conn.wait_closed()

    with anyio.fail_after(GUARD):
        async with serve(handler) as server, adapter.open_realtime(
            api_key=KEY,
            model="m",
            base_url=server.url,
            ping_interval=0.01,
            ping_timeout=5.0,
        ) as c:
            core = c.core
            # Let several pings go out and be answered before talking.
            while core._ka_count < 3:
                await anyio.sleep(0.01)
            await c.send_raw('{"type":"input_audio_buffer.clear"}')
            event = await c.next_event()
            assert isinstance(event, InputAudioBufferClearedEvent)
            assert c.closed is None
