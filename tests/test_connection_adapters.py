"""Behaviour both WebSocket adapters share through oairt_core._driver.

Every test runs three times: oairt_anyio on asyncio, oairt_anyio on trio, and oairt_trio
on trio (one parametrisation drives both the loop and the adapter, so nothing is skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from oairt_core._async.voice import AsyncRealtimeConnection
from oairt_core.errors import (
    ConnectError,
    ConnectionClosedError,
    LocalProtocolError,
)
from oairt_core.events import InputAudioBufferClearedEvent, InputAudioBufferClearEvent
from tests.conftest import Adapter
from tests.support.wsserver import ServerConn, serve

pytestmark = pytest.mark.anyio

KEY = "sk-test-ENVKEY-abcdefghijklmnop"
GUARD = 20  # seconds: only reached if the behaviour under test is broken

Opener = Callable[..., AbstractAsyncContextManager[AsyncRealtimeConnection]]


@pytest.fixture
def open_conn(adapter: Adapter) -> Opener:
    opener: Opener = adapter.open_realtime
    return opener


def cleared(n: int) -> dict[str, str]:
    return {"type": "input_audio_buffer.cleared", "event_id": f"ev_{n}"}


async def test_key_and_endpoint_default_from_the_environment(
    open_conn: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        seen.append(conn.header("authorization"))
        await conn.send_event(cleared(1))
        await conn.close(1000)

    async with serve(handler) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        # The http flavour of the URL becomes ws:// for the WebSocket.
        monkeypatch.setenv("OAIRT_BASE_URL", server.url.replace("ws://", "http://"))
        with anyio.fail_after(GUARD):
            async with open_conn(model="gpt-realtime") as c:
                events = [ev async for ev in c]
    assert seen == [f"Bearer {KEY}"]
    assert [type(e) for e in events] == [InputAudioBufferClearedEvent]


async def test_explicit_arguments_win_over_the_environment(
    open_conn: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        seen.append(conn.header("authorization"))
        await conn.close(1000)

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-from-the-environment-000")
    monkeypatch.setenv("OAIRT_BASE_URL", "ws://127.0.0.1:1/v1")  # nothing listens there
    async with serve(handler) as server:
        with anyio.fail_after(GUARD):
            async with open_conn(api_key=KEY, model="m", base_url=server.url) as c:
                assert [ev async for ev in c] == []
    assert seen == [f"Bearer {KEY}"]


async def test_missing_key_is_a_local_error_naming_the_variable(
    open_conn: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LocalProtocolError, match="OPENAI_API_KEY"):
        async with open_conn(model="m", base_url="ws://127.0.0.1:1/v1"):
            pass


async def test_unknown_option_is_a_type_error(open_conn: Opener) -> None:
    with pytest.raises(TypeError, match="modle"):
        async with open_conn(api_key=KEY, modle="m"):
            pass


async def test_refused_connection_is_a_connect_error(open_conn: Opener) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with pytest.raises(ConnectError) as info:
        async with open_conn(api_key=KEY, model="m", base_url=f"ws://127.0.0.1:{port}/v1"):
            pass
    assert isinstance(info.value, ConnectionClosedError) and info.value.code == 1006
    assert f"127.0.0.1:{port}" in str(info.value) and "refused" in str(info.value)
    assert info.value.__cause__ is not None
    assert KEY not in str(info.value)


async def test_untrusted_certificate_is_a_connect_error(open_conn: Opener) -> None:
    from tests.support.certs import tls_material

    async def handler(conn: ServerConn) -> None:
        await conn.accept()

    async with serve(handler, tls_material().server_context()) as server:
        with pytest.raises(ConnectError, match="TLS certificate verification failed") as info:
            with anyio.fail_after(GUARD):
                async with open_conn(api_key=KEY, model="m", base_url=server.url):
                    pass
    assert f"localhost:{server.port}" in str(info.value)
    assert KEY not in str(info.value)


async def test_cancelling_a_blocked_send_is_honoured_and_aborts(open_conn: Opener) -> None:
    stop = anyio.Event()

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await stop.wait()  # never reads: the client's socket buffers fill up

    chunk = "x" * (1 << 20)
    async with serve(handler) as server:
        with anyio.fail_after(GUARD):  # only reached if the cancel is ignored
            async with open_conn(
                api_key=KEY, model="m", base_url=server.url, write_timeout=None
            ) as c:
                with anyio.CancelScope() as scope:
                    async with anyio.create_task_group() as tg:

                        async def cancel_when_blocked() -> None:
                            # Every other task is parked: the send is stuck in the write.
                            await wait_all_tasks_blocked()
                            scope.cancel()

                        tg.start_soon(cancel_when_blocked)
                        for _ in range(1000):  # far more than any socket buffer holds
                            await c.send_raw(chunk)
                assert scope.cancelled_caught
                # The cut frame made the connection unusable: it was aborted, and says so.
                with pytest.raises(ConnectionClosedError, match="cancelled part-way") as info:
                    await c.send(InputAudioBufferClearEvent())
                assert info.value.code == 1006
                with pytest.raises(ConnectionClosedError, match="cancelled part-way"):
                    await c.next_event()
                assert c.closed is not None and not c.closed.normal
        stop.set()


async def test_a_send_cancelled_before_it_starts_leaves_the_connection_usable(
    open_conn: Opener,
) -> None:
    received: list[str | bytes | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        while (msg := await conn.receive()) is not None:
            received.append(msg)

    async with serve(handler) as server:
        with anyio.fail_after(GUARD):
            async with open_conn(api_key=KEY, model="m", base_url=server.url) as c:
                with anyio.CancelScope() as scope:
                    scope.cancel()
                    await c.send_raw('{"type":"never.sent"}')
                await c.send(InputAudioBufferClearEvent())
    assert received == ['{"type":"input_audio_buffer.clear"}']


@pytest.mark.parametrize("buffered", [True, False], ids=["an-event-buffered", "nothing-buffered"])
async def test_a_read_cancelled_before_it_starts_takes_no_event(
    open_conn: Opener, buffered: bool
) -> None:
    """A cancel already pending ends ``next_event`` at once and loses nothing. With an event
    buffered (returned without a loop trip) the cancel is checked first and the event stays
    for the next read; with nothing buffered the read skips that check, as it is about to
    wait, and the wait must take the cancel."""

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        if not buffered:
            await conn.receive()  # the event is sent only after the cancelled read
        await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": "kept"})
        await conn.wait_closed()

    async with serve(handler) as server:
        with anyio.fail_after(GUARD):
            async with open_conn(api_key=KEY, model="m", base_url=server.url) as c:
                buffer: Any = c._buffer  # type: ignore[attr-defined]
                while buffered and not len(buffer):
                    await anyio.sleep(0.01)
                with anyio.CancelScope() as scope:
                    scope.cancel()
                    await c.next_event()
                assert scope.cancelled_caught
                if not buffered:
                    await c.send(InputAudioBufferClearEvent())
                event = await c.next_event()
    assert isinstance(event, InputAudioBufferClearedEvent) and event.event_id == "kept"


async def test_a_cancelled_close_still_releases_the_connection(open_conn: Opener) -> None:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.wait_closed()

    async with serve(handler) as server:
        with anyio.fail_after(GUARD):
            async with open_conn(api_key=KEY, model="m", base_url=server.url) as c:
                with anyio.CancelScope() as scope:
                    scope.cancel()
                    await c.close()  # cancelled before it could send anything
                assert scope.cancelled_caught
                with pytest.raises(ConnectionClosedError):
                    await c.next_event()  # the reader ended: the socket was closed
                assert c.closed is not None
