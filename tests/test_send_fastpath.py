"""The anyio backend's per-frame fast paths keep anyio's guarantees.

Sending (``try_send``): what is written, when the caller must wait, and that a sender that
never waits still lets the event loop run. Receiving (``deliver_to``): every byte read, in
order, then one end of stream, and reads stop while paused. Behaviour only, no timings.
"""

from __future__ import annotations

import socket
from functools import partial
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from oairt_anyio._backend import _MAX_STREAK, BACKEND
from oairt_core._async._backend import BUFFERED, NOT_SENT, SENT


async def _pair(tg: anyio.abc.TaskGroup) -> tuple[Any, object, bytearray]:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    got = bytearray()

    async def serve(stream: anyio.abc.SocketStream) -> None:
        try:
            while True:
                got.extend(await stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass

    tg.start_soon(listener.serve, serve)
    stream: Any = await BACKEND.connect_tcp("127.0.0.1", port, None)
    return stream, listener, got


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_fast_writes_arrive_whole_and_yield_every_streak(anyio_backend: str) -> None:
    async with anyio.create_task_group() as tg:
        stream, _listener, got = await _pair(tg)
        results = [stream.try_send(b"%04d" % i) for i in range(_MAX_STREAK + 3)]
        # A sender that never waits gets the fast path only so many times in a row...
        assert results[:_MAX_STREAK] == [SENT] * _MAX_STREAK
        assert results[_MAX_STREAK:] == [NOT_SENT] * 3
        # ...then the slow path (one trip through the loop) resets the streak.
        await stream.send_all(b"tail")
        assert stream.try_send(b"more") == SENT
        expected = b"".join(b"%04d" % i for i in range(_MAX_STREAK)) + b"tailmore"
        with anyio.fail_after(10):
            while len(got) < len(expected):
                await anyio.sleep(0.01)
        assert bytes(got) == expected
        await stream.aclose_forcefully()
        tg.cancel_scope.cancel()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_write_the_kernel_cannot_take_must_drain(anyio_backend: str) -> None:
    # A listener that never accepts: the connection completes in the kernel's backlog and
    # nothing reads it (anyio's own server streams would read ahead into memory).
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        stream: Any = await BACKEND.connect_tcp("127.0.0.1", port, None)
        # Kernel buffers autotune (to tens of MB on loopback): keep writing until a
        # drain has to wait, at most 160 MB, more than any of them holds.
        chunk, waited, result = b"x" * 4_000_000, False, SENT
        for _ in range(40):
            stream._streak = 0  # this test is not about the fairness streak
            result = stream.try_send(chunk)
            if result == SENT:
                continue
            assert result == BUFFERED
            # Committed but not written out: the next write may not overtake it.
            assert stream.try_send(b"y") == NOT_SENT
            with anyio.move_on_after(0.2) as scope:
                await stream.drain()
            if scope.cancelled_caught:
                waited = True  # the peer never reads: the drain waits
                break
        assert waited, result
        await stream.aclose_forcefully()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_anyio_on_trio_takes_the_ordinary_path(anyio_backend: str) -> None:
    async with anyio.create_task_group() as tg:
        stream, _listener, _got = await _pair(tg)
        assert stream.try_send(b"x") == NOT_SENT
        await stream.aclose_forcefully()
        tg.cancel_scope.cancel()


def test_native_trio_fast_writes_arrive_whole_and_yield_every_streak() -> None:
    import trio

    from oairt_trio import _backend as trio_backend

    async def main() -> None:
        got = bytearray()
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(trio.serve_tcp, lambda s: _drain_into(s, got), 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            stream: Any = await trio_backend.BACKEND.connect_tcp("127.0.0.1", port, None)
            limit = trio_backend._MAX_STREAK
            results = [stream.try_send(b"%04d" % i) for i in range(limit + 2)]
            assert results == [SENT] * limit + [NOT_SENT] * 2
            await stream.send_all(b"tail")  # trio's path: a checkpoint, the streak resets
            assert stream.try_send(b"more") == SENT
            expected = b"".join(b"%04d" % i for i in range(limit)) + b"tailmore"
            with trio.fail_after(10):
                while len(got) < len(expected):
                    await trio.sleep(0.01)
            assert bytes(got) == expected
            await stream.aclose_forcefully()
            nursery.cancel_scope.cancel()

    async def _drain_into(s: trio.SocketStream, got: bytearray) -> None:
        async for chunk in s:
            got.extend(chunk)

    trio.run(main)


def test_native_trio_a_partial_write_is_drained_whole() -> None:
    import trio

    from oairt_trio import _backend as trio_backend

    async def main() -> None:
        got = bytearray()
        release = trio.Event()

        async def slow_reader(s: trio.SocketStream) -> None:
            await release.wait()  # the kernel buffers fill up before anything is read
            async for chunk in s:
                got.extend(chunk)

        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(
                partial(trio.serve_tcp, slow_reader, 0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            stream: Any = await trio_backend.BACKEND.connect_tcp("127.0.0.1", port, None)
            big = bytes(range(256)) * 200_000  # 51 MB: more than the kernel takes at once
            assert stream.try_send(big) == BUFFERED
            assert stream.try_send(b"y") == NOT_SENT  # nothing may overtake the rest
            release.set()
            await stream.drain()
            await stream.aclose_forcefully()
            with trio.fail_after(30):
                while len(got) < len(big):
                    await trio.sleep(0.01)
            assert bytes(got) == big
            nursery.cancel_scope.cancel()

    trio.run(main)


async def _server_pair(tg: anyio.abc.TaskGroup) -> tuple[Any, Any]:
    """(our stream, the server's anyio stream) over loopback."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    accepted: list[anyio.abc.SocketStream] = []
    ready = anyio.Event()

    async def serve(stream: anyio.abc.SocketStream) -> None:
        accepted.append(stream)
        ready.set()
        await anyio.sleep_forever()

    tg.start_soon(listener.serve, serve)
    stream: Any = await BACKEND.connect_tcp("127.0.0.1", port, None)
    await ready.wait()
    return stream, accepted[0]


async def _until(condition: Any) -> None:
    with anyio.fail_after(10):
        while not condition():
            await anyio.sleep(0.01)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_deliver_to_hands_over_what_was_read_before_then_ends_once(
    anyio_backend: str,
) -> None:
    async with anyio.create_task_group() as tg:
        stream, peer = await _server_pair(tg)
        await peer.send(b"upgrade")  # the handshake is read with receive_some...
        assert await stream.receive_some(100) == b"upgrade"
        await peer.send(b"read ahead")  # ...which leaves reading on: these are queued
        await peer.send_eof()
        protocol = stream._fast[1]
        await _until(lambda: protocol.is_at_eof)  # both came before the switch
        got: list[bytes] = []
        assert stream.deliver_to(got.append)
        assert got == [b"read ahead", b""]
        await stream.aclose_forcefully()  # connection_lost: no second end
        await anyio.sleep(0.05)
        assert got == [b"read ahead", b""]
        tg.cancel_scope.cancel()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_deliver_to_sends_each_read_in_order_and_honours_a_pause(anyio_backend: str) -> None:
    async with anyio.create_task_group() as tg:
        stream, peer = await _server_pair(tg)
        got = bytearray()
        ends: list[bytes] = []
        assert stream.deliver_to(lambda data: got.extend(data) if data else ends.append(data))
        await peer.send(b"one ")
        await _until(lambda: got == b"one ")
        stream.pause_receiving()
        await peer.send(b"two")
        await anyio.sleep(0.05)
        assert got == b"one "  # paused: left in the kernel, nothing delivered
        stream.resume_receiving()
        await _until(lambda: got == b"one two")
        await peer.aclose()  # the peer goes: one end of stream
        await _until(lambda: ends == [b""])
        await stream.aclose_forcefully()
        await anyio.sleep(0.05)
        assert ends == [b""]
        tg.cancel_scope.cancel()


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_anyio_on_trio_has_no_delivered_reads(anyio_backend: str) -> None:
    async with anyio.create_task_group() as tg:
        stream, _peer = await _server_pair(tg)
        assert stream.deliver_to(lambda data: None) is False  # the reader keeps reading
        await stream.aclose_forcefully()
        tg.cancel_scope.cancel()
