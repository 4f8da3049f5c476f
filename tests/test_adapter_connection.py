"""``open_realtime`` / ``connect_realtime`` against the loopback wsproto server.

Every test runs on anyio-asyncio, anyio-trio and native trio (the ``adapter`` fixture).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest

from oairt_core._async.voice import AsyncRealtimeConnection
from oairt_core.connection import MalformedServerEvent
from oairt_core.errors import (
    ConnectionClosedError,
    HandshakeError,
    LocalProtocolError,
    MessageTooBig,
    RemoteProtocolError,
    RequestTimeout,
)
from oairt_core.events import InputAudioBufferClearedEvent, InputAudioBufferClearEvent
from tests.conftest import Adapter
from tests.support.wsserver import ServerConn, frame, serve

pytestmark = pytest.mark.anyio

Opener = Callable[..., AbstractAsyncContextManager[AsyncRealtimeConnection]]


@pytest.fixture
def open_conn(adapter: Adapter) -> Opener:
    opener: Opener = adapter.open_realtime
    return opener


KEY = "sk-test-SECRET-abcdefghijklmnop"
GUARD = 20  # seconds: only reached if the behaviour under test is broken


def cleared(n: int) -> dict[str, str]:
    return {"type": "input_audio_buffer.cleared", "event_id": f"ev_{n}"}


async def test_exchange_events_and_server_close(open_conn: Opener) -> None:
    got: list[str] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        got.append((await conn.receive_json())["type"])
        await conn.send_event(cleared(1))
        await conn.send_event(cleared(2))
        await conn.close(1000, "done")

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="gpt-realtime", base_url=server.url) as c,
    ):
        assert c.state.name == "OPEN"
        assert isinstance(c, AsyncRealtimeConnection)
        assert not c.is_sideband
        await c.send(InputAudioBufferClearEvent())
        events = [ev async for ev in c]
        assert c.closed is not None and c.closed.code == 1000 and c.closed.clean
        with pytest.raises(ConnectionClosedError) as info:
            await c.next_event()
        assert info.value.code == 1000 and info.value.reason == "done"
        with pytest.raises(ConnectionClosedError):
            await c.send(InputAudioBufferClearEvent())
        req = server.requests[0]
    assert got == ["input_audio_buffer.clear"]
    assert [e.event_id for e in events if isinstance(e, InputAudioBufferClearedEvent)] == [
        "ev_1",
        "ev_2",
    ]
    assert req.target == "/v1/realtime?model=gpt-realtime"
    headers = {k.decode().lower(): v.decode() for k, v in req.extra_headers}
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["user-agent"].startswith("oairt/")
    assert "openai-beta" not in headers


async def test_client_initiated_close(open_conn: Opener) -> None:
    codes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        codes.append(await conn.wait_closed())

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        ev = await c.next_event()
        assert isinstance(ev, InputAudioBufferClearedEvent)
    assert c.closed is not None
    assert c.closed.initiated_locally and c.closed.clean and c.closed.normal
    assert c.state.name == "CLOSED"
    assert codes == [1000]


async def test_close_with_unread_buffered_events_does_not_hang(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for i in range(50):
            await conn.send_event(cleared(i))
        await conn.wait_closed()

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url, max_buffered_events=2) as c,
    ):
        await c.next_event()
    assert c.closed is not None and c.closed.clean


async def test_tcp_reset_mid_message_raises_1006_after_buffered_events(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.send_raw(frame(0x1, b'{"type": "input_audio_buffer.cle', fin=False)[:20])
        await conn.abort()

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        first = await c.next_event()
        assert isinstance(first, InputAudioBufferClearedEvent)
        with pytest.raises(ConnectionClosedError) as info:
            await c.next_event()
        assert info.value.code == 1006
        assert c.closed is not None and not c.closed.clean


async def test_async_for_raises_on_abnormal_close(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.close(1011, "server error")

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        seen = []
        with pytest.raises(ConnectionClosedError) as info:
            async for ev in c:
                seen.append(ev)
        assert info.value.code == 1011 and len(seen) == 1


@pytest.mark.parametrize(
    ("status", "etype", "code", "message"),
    [
        (
            401,
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided: sk-tes***nop",
        ),
        (404, "invalid_request_error", "model_not_found", "The model `nope` does not exist"),
        (429, "requests", "rate_limit_exceeded", "Rate limit reached"),
    ],
)
async def test_handshake_rejection(
    status: int, etype: str, code: str, message: str, open_conn: Opener
) -> None:
    async def handler(conn: ServerConn) -> None:
        body = {"error": {"message": message, "type": etype, "code": code, "param": None}}
        await conn.reject(status, body)

    async with serve(handler) as server:
        with pytest.raises(HandshakeError) as info:
            async with open_conn(api_key=KEY, model="nope", base_url=server.url):
                pytest.fail("must not get here")
    err = info.value
    assert (err.status_code, err.message, err.error_type, err.code) == (
        status,
        message,
        etype,
        code,
    )
    assert KEY not in str(err) and KEY not in repr(err)
    assert "SECRET" not in str(err)


async def test_rejection_without_json_body(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.reject(403, b"forbidden here")

    async with serve(handler) as server:
        with pytest.raises(HandshakeError) as info:
            async with open_conn(api_key=KEY, model="m", base_url=server.url):
                pass
    assert info.value.status_code == 403 and info.value.message == "forbidden here"


async def test_oversized_message_closes_1009(open_conn: Opener) -> None:
    closes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.send_fragmented(json.dumps({"type": "x", "pad": "a" * 5000}), 4)
        closes.append(await conn.wait_closed())

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url, max_message_size=1000) as c,
    ):
        assert isinstance(await c.next_event(), InputAudioBufferClearedEvent)
        with pytest.raises(MessageTooBig) as info:
            await c.next_event()
        assert info.value.limit == 1000
        assert c.closed is not None and c.closed.code == 1009
    assert closes == [1009]


async def test_ping_is_answered_and_fragments_with_pings_reassemble(open_conn: Opener) -> None:
    pongs: list[bytes] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        pongs.append(await conn.ping(b"are-you-there"))
        await conn.send_fragmented(json.dumps(cleared(7)), 5, ping_between=True)
        await conn.close(1000)

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        events = [ev async for ev in c]
    assert pongs == [b"are-you-there"]
    assert len(events) == 1 and isinstance(events[0], InputAudioBufferClearedEvent)
    assert events[0].event_id == "ev_7"


async def test_malformed_event_is_delivered_and_session_continues(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_text('{"type": "input_audio_buffer.cleared", "event_id": 5}')
        await conn.send_text("not json")
        await conn.send_bytes(b"\x00\x01")
        await conn.send_event(cleared(2))
        await conn.close(1000)

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        events = [ev async for ev in c]
    assert [type(e).__name__ for e in events] == [
        "MalformedServerEvent",
        "MalformedServerEvent",
        "MalformedServerEvent",
        "InputAudioBufferClearedEvent",
    ]
    first = events[0]
    assert isinstance(first, MalformedServerEvent)
    assert isinstance(first.error, RemoteProtocolError) and b"event_id" in first.raw


async def test_protocol_violation_fails_connection_1002(open_conn: Opener) -> None:
    closes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.send_raw(frame(0x3, b"bad opcode"))  # reserved opcode
        closes.append(await conn.wait_closed())

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        assert isinstance(await c.next_event(), InputAudioBufferClearedEvent)
        with pytest.raises(RemoteProtocolError):
            await c.next_event()
        assert c.closed is not None and c.closed.code == 1002
    assert closes == [1002]


async def test_invalid_utf8_fails_connection_1007(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_raw(frame(0x1, b'{"a": "\xff\xfe"}'))
        await conn.wait_closed()

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        with pytest.raises(RemoteProtocolError):
            await c.next_event()
        assert c.closed is not None and c.closed.code == 1007


async def test_body_exception_is_not_wrapped(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with serve(handler) as server:
        with pytest.raises(KeyError):
            async with open_conn(api_key=KEY, model="m", base_url=server.url):
                raise KeyError("mine")


async def test_send_after_close_is_a_local_error(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        await c.close()
        with pytest.raises((LocalProtocolError, ConnectionClosedError)):
            await c.send(InputAudioBufferClearEvent())


async def test_connect_realtime_in_own_task_group(adapter: Adapter) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(3))
        await conn.wait_closed()

    async with serve(handler) as server, adapter.open_group() as tg:
        conn = await adapter.connect_realtime(
            tg, api_key=KEY, call_id="rtc_abc123", base_url=server.url
        )
        assert conn.is_sideband
        ev = await conn.next_event()
        assert isinstance(ev, InputAudioBufferClearedEvent)
        await conn.close()
        conn2 = await adapter.connect_realtime(tg, api_key=KEY, model="m", base_url=server.url)
        await conn2.close()
    assert server.requests[0].target == "/v1/realtime?call_id=rtc_abc123"


async def test_ssl_false_refused_for_wss(open_conn: Opener) -> None:
    with pytest.raises(LocalProtocolError):
        async with open_conn(api_key=KEY, model="m", ssl=False):
            pass


async def test_connection_refused_is_typed(open_conn: Opener) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with pytest.raises(ConnectionClosedError) as info:
        async with open_conn(api_key=KEY, model="m", base_url=f"ws://127.0.0.1:{port}/v1"):
            pass
    assert info.value.code == 1006


async def test_cancelled_send_never_leaves_half_a_frame(open_conn: Opener) -> None:
    received: list[str | bytes | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        while (msg := await conn.receive()) is not None:
            received.append(msg)

    big = "x" * 2_000_000
    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        with anyio.CancelScope() as scope:
            scope.cancel()  # cancelled before and during the send
            await c.send_raw(json.dumps({"type": "a", "pad": big}))
        await c.send(InputAudioBufferClearEvent())
    # Whatever was sent arrived as whole messages: the first either fully or not at all.
    assert received[-1] == '{"type":"input_audio_buffer.clear"}' or json.loads(
        str(received[-1])
    ) == {"type": "input_audio_buffer.clear"}
    for msg in received[:-1]:
        assert json.loads(str(msg))["pad"] == big


async def test_backpressure_blocks_reader_and_drops_nothing(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for i in range(40):
            await conn.send_event(cleared(i))
        await conn.close(1000)

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url, max_buffered_events=2) as c,
    ):
        await anyio.wait_all_tasks_blocked()
        buffer: Any = c._buffer  # type: ignore[attr-defined]
        # Two events buffered, the reader blocked putting the third (not reading TCP).
        assert len(buffer) == 2 and buffer._writable is not None
        assert c.closed is None  # the close frame is still unread in the socket
        events = [ev async for ev in c]
    ids = [e.event_id for e in events if isinstance(e, InputAudioBufferClearedEvent)]
    assert ids == [f"ev_{i}" for i in range(40)]


async def test_on_message_records_both_directions(open_conn: Opener) -> None:
    log: list[tuple[str, str]] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.receive()
        await conn.send_fragmented(json.dumps(cleared(1)), 3)
        await conn.close(1000)

    async with (
        serve(handler) as server,
        open_conn(
            api_key=KEY, model="m", base_url=server.url, on_message=lambda d, t: log.append((d, t))
        ) as c,
    ):
        await c.send(InputAudioBufferClearEvent())
        _ = [ev async for ev in c]
    assert [d for d, _ in log] == ["client", "server"]
    assert json.loads(log[1][1]) == cleared(1)
    assert all(KEY not in t for _, t in log)


class HookFailed(Exception):
    pass


async def test_a_raising_on_message_hook_reaches_the_reader_unwrapped(open_conn: Opener) -> None:
    """The app's own hook failing while server messages are read: the events before it
    arrive, then ``next_event`` raises the hook's exception itself (no ExceptionGroup from
    the reader task), and the aborted connection refuses sends with the reason."""

    def hook(direction: str, text: str) -> None:
        if direction == "server" and '"ev_2"' in text:
            raise HookFailed("the recorder broke")

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for n in (1, 2, 3):
            await conn.send_event(cleared(n))
        await conn.wait_closed()

    seen: list[str] = []
    with anyio.fail_after(GUARD):
        async with (
            serve(handler) as server,
            open_conn(api_key=KEY, model="m", base_url=server.url, on_message=hook) as c,
        ):
            with pytest.raises(HookFailed, match="the recorder broke"):
                async for ev in c:
                    assert isinstance(ev, InputAudioBufferClearedEvent)
                    seen.append(ev.event_id)
            with pytest.raises(ConnectionClosedError, match="on_message hook raised HookFailed"):
                await c.send(InputAudioBufferClearEvent())
            with pytest.raises(ConnectionClosedError) as info:
                await c.next_event()  # the hook's error is handed out once
            assert info.value.code == 1006
    assert seen == ["ev_1"]


async def test_connect_timeout_is_typed(open_conn: Opener) -> None:
    async def silent(conn: ServerConn) -> None:
        await conn.read_request()
        await conn.wait_closed()

    async with serve(silent) as server:
        with pytest.raises(RequestTimeout):
            async with open_conn(api_key=KEY, model="m", base_url=server.url, connect_timeout=0.05):
                pass


async def test_cancelled_block_closes_and_leaves_no_task(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with serve(handler) as server:
        with anyio.CancelScope() as scope:
            async with open_conn(api_key=KEY, model="m", base_url=server.url) as c:
                scope.cancel()
                await c.next_event()
        assert scope.cancelled_caught
        assert c.closed is not None and c.state.name == "CLOSED"
        with pytest.raises(ConnectionClosedError):
            await c.next_event()
        with pytest.raises(ConnectionClosedError):
            await c.send(InputAudioBufferClearEvent())


async def test_tls_with_verification(open_conn: Opener) -> None:
    from tests.support.certs import tls_material

    material = tls_material()

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(1))
        await conn.close(1000)

    async with serve(handler, material.server_context()) as server:
        assert server.url.startswith("wss://localhost:")
        async with open_conn(
            api_key=KEY, model="m", base_url=server.url, ssl=material.client_context()
        ) as c:
            events = [ev async for ev in c]
        assert len(events) == 1
        # The default context does not trust the test CA: verification is on.
        with pytest.raises(ConnectionClosedError) as info:
            async with open_conn(api_key=KEY, model="m", base_url=server.url):
                pass
        assert info.value.code == 1006 and "CERTIFICATE" in str(info.value).upper()


async def test_write_timeout_aborts_a_stuck_write(open_conn: Opener) -> None:
    stop = anyio.Event()

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await stop.wait()  # never reads: the client's socket buffers fill up

    async with serve(handler) as server:
        async with open_conn(api_key=KEY, model="m", base_url=server.url, write_timeout=0.05) as c:
            with pytest.raises(ConnectionClosedError) as info:
                await c.send_raw("x" * 16_000_000)
            assert info.value.code == 1006
            with pytest.raises(ConnectionClosedError):
                await c.next_event()
        stop.set()


async def test_connect_realtime_raises_handshake_error(adapter: Adapter) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.reject(403, {"error": {"message": "no access", "type": "permission_error"}})

    async with serve(handler) as server, adapter.open_group() as tg:
        with pytest.raises(HandshakeError) as info:
            await adapter.connect_realtime(tg, api_key=KEY, model="m", base_url=server.url)
    assert info.value.status_code == 403 and info.value.error_type == "permission_error"


@pytest.mark.parametrize("buffered", [0, 1])
async def test_tiny_buffers_deliver_every_event_in_order(open_conn: Opener, buffered: int) -> None:
    # 0 is a rendezvous (the reader hands each event over directly); 1 makes the reader
    # block on a full buffer after every event.
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for i in range(30):
            await conn.send_event(cleared(i))
        await conn.close(1000)

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url, max_buffered_events=buffered) as c,
    ):
        events = [ev async for ev in c]
    ids = [e.event_id for e in events if isinstance(e, InputAudioBufferClearedEvent)]
    assert ids == [f"ev_{i}" for i in range(30)]


async def test_concurrent_readers_waiting_on_an_empty_buffer_share_every_event(
    open_conn: Opener,
) -> None:
    # Both readers are parked on the empty buffer before anything arrives; every event
    # goes to exactly one of them and both end at the close.
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.receive()  # the client's go, sent once both readers wait
        for i in range(20):
            await conn.send_event(cleared(i))
        await conn.close(1000)

    seen: list[list[str]] = [[], []]
    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):

        async def read(k: int) -> None:
            async for ev in c:
                if isinstance(ev, InputAudioBufferClearedEvent):
                    seen[k].append(str(ev.event_id))

        async with anyio.create_task_group() as tg:
            tg.start_soon(read, 0)
            tg.start_soon(read, 1)
            await anyio.wait_all_tasks_blocked()
            await c.send(InputAudioBufferClearEvent())
    both = seen[0] + seen[1]
    assert sorted(both) == sorted(f"ev_{i}" for i in range(20))
    assert len(set(both)) == 20
    for part in seen:  # each reader sees its share in arrival order
        assert part == sorted(part, key=lambda s: int(s.split("_")[1]))


async def test_connect_realtime_in_nursery_and_client_close(adapter: Adapter) -> None:
    codes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(2))
        codes.append(await conn.wait_closed())

    async with serve(handler) as server, adapter.open_group() as nursery:
        conn = await adapter.connect_realtime(
            nursery, api_key=KEY, intent="transcription", base_url=server.url
        )
        assert isinstance(await conn.next_event(), InputAudioBufferClearedEvent)
        await conn.close()
        assert conn.closed is not None and conn.closed.normal
    assert codes == [1000]
    assert server.requests[0].target == "/v1/realtime?intent=transcription"


async def test_byte_budget_bounds_buffered_events_and_drops_nothing(open_conn: Opener) -> None:
    """Issue 13.3: an app that reads nothing while the server sends big messages holds at
    most the byte budget (plus the one event always admitted), with backpressure to
    TCP; every event still arrives, in order."""
    big = "x" * (3 * 1024 * 1024)
    budget = 8 * 1024 * 1024

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for i in range(10):
            await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": f"{i}{big}"})
        await conn.close(1000)

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url, max_buffered_bytes=budget) as c,
    ):
        buffer: Any = c._buffer  # type: ignore[attr-defined]
        with anyio.fail_after(GUARD):
            while buffer._writable is None:  # until the reader blocks on a full buffer
                await anyio.sleep(0.01)
        # Blocked on the byte budget, far below the 256-event count bound.
        assert 1 <= len(buffer) < 10
        assert buffer.buffered_bytes <= budget + len(big) + 1024
        events = [ev async for ev in c]
    ids = [str(e.event_id) for e in events if isinstance(e, InputAudioBufferClearedEvent)]
    assert ids == [f"{i}{big}" for i in range(10)]


async def test_a_full_buffer_pushes_back_on_tcp_not_into_memory(open_conn: Opener) -> None:
    """While the app reads nothing, the client stops taking bytes from the kernel once its
    buffer is full: the server's sends block (TCP pushes back) long before all 64 MiB are
    out, and nothing piles up unread in the adapter (the anyio-asyncio receive path keeps
    the transport reading between reads, and must pause it)."""
    big = "x" * (1024 * 1024)
    total = 64
    sent = [0]

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for i in range(total):
            await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": f"{i}{big}"})
            sent[0] += 1
        await conn.close(1000)

    budget = 2 * 1024 * 1024
    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url, max_buffered_bytes=budget) as c,
    ):
        buffer: Any = c._buffer  # type: ignore[attr-defined]
        with anyio.fail_after(GUARD):
            while buffer._writable is None:  # until the reader blocks on a full buffer
                await anyio.sleep(0.01)
            # Until the server makes no more progress (it is blocked, or it sent all).
            while True:
                before = sent[0]
                await anyio.wait_all_tasks_blocked()
                await anyio.sleep(0.05)
                if sent[0] == before or sent[0] == total:
                    break
        assert sent[0] < total
        stream: Any = c._stream  # type: ignore[attr-defined]
        fast = getattr(stream, "_fast", None)
        if fast is not None:  # anyio on asyncio: what the transport read ahead of the reader
            assert sum(len(chunk) for chunk in fast[1].read_queue) <= 1024 * 1024
        events = [ev async for ev in c]
    assert len(events) == total


async def test_default_byte_budget_is_documented_value(open_conn: Opener) -> None:
    from oairt_core._driver import DEFAULT_MAX_BUFFERED_BYTES

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with (
        serve(handler) as server,
        open_conn(api_key=KEY, model="m", base_url=server.url) as c,
    ):
        assert c._buffer._max_bytes == DEFAULT_MAX_BUFFERED_BYTES == 16 * 1024 * 1024  # type: ignore[attr-defined]
