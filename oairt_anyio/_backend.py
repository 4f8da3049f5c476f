"""anyio's implementation of the async layer's :class:`~oairt_core._async._backend.Backend`."""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.to_thread

from oairt_core._async._backend import (
    BUFFERED,
    NOT_SENT,
    SENT,
    ByteStream,
    Event,
    Listener,
    TaskGroup,
    TransportError,
    idle_socket_dropped,
)
from oairt_core._driver import connect_error

T = TypeVar("T")


# What a broken or closed transport raises on read or write.
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)

# Fast writes in a row with no other trip through the event loop (this stream's reads,
# slow writes and drains reset the count); the next write then takes anyio's path,
# which yields once, so a sender that never waits cannot starve the other tasks.
_MAX_STREAK = 16


def _asyncio_transport(stream: anyio.abc.ByteStream) -> tuple[Any, Any] | None:
    """The asyncio transport and protocol under a plain (non-TLS) anyio socket stream.

    anyio's ``SocketStream.send`` on asyncio ends with a cancel-shielded checkpoint: one
    extra trip through the event loop for every frame, plus the caller's timeout scope.
    ``transport.write`` is what it does in between; reaching it directly is the
    per-frame fast path. Private attributes, so looked up defensively: when anyio
    changes them this returns None and every write takes anyio's own path.
    """
    try:
        from anyio._backends._asyncio import SocketStream
    except ImportError:  # pragma: no cover - anyio without its asyncio backend
        return None
    if type(stream) is not SocketStream:
        return None
    transport = getattr(stream, "_transport", None)
    protocol = getattr(stream, "_protocol", None)
    if transport is None or not hasattr(protocol, "write_event"):
        return None
    return transport, protocol


class _Stream:
    __slots__ = ("_fast", "_streak", "_stream")

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream
        self._fast = _asyncio_transport(stream)
        self._streak = 0

    def try_send(self, data: bytes) -> int:
        """``data`` whole to the asyncio transport, as anyio's ``send`` would, minus its
        trailing checkpoint (an extra event-loop trip per frame)."""
        fast = self._fast
        if fast is None or self._streak >= _MAX_STREAK:
            return NOT_SENT
        transport, protocol = fast
        if (
            not protocol.write_event.is_set()  # still draining an earlier write
            or protocol.exception is not None
            or transport.is_closing()
            or getattr(self._stream, "_closed", True)
        ):
            return NOT_SENT
        self._streak += 1
        transport.write(data)
        # anyio keeps the high-water mark at 0: whatever the kernel did not take at once
        # pauses the transport, and the caller waits for the drain.
        return SENT if protocol.write_event.is_set() else BUFFERED

    async def drain(self) -> None:
        fast = self._fast
        assert fast is not None
        transport, protocol = fast
        self._streak = 0
        await protocol.write_event.wait()
        if protocol.exception is not None or transport.is_closing():
            raise TransportError(str(protocol.exception or "connection lost"))

    async def send_all(self, data: bytes) -> None:
        self._streak = 0
        try:
            await self._stream.send(data)
        except _GONE as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc

    async def receive_some(self, max_bytes: int) -> bytes:
        self._streak = 0
        fast = self._fast
        if fast is not None:
            return await self._receive_fast(fast, max_bytes)
        try:
            return await self._stream.receive(max_bytes)
        except _GONE:
            return b""

    async def _receive_fast(self, fast: tuple[Any, Any], max_bytes: int) -> bytes:
        """anyio's ``receive`` on asyncio, minus two costs per read.

        anyio resumes the transport's reading before each wait and pauses it after
        (two ``epoll_ctl`` calls per frame for a paced session) and takes a trip
        through the loop when data is already queued. Here reading stays on between
        reads, and is paused only when the reader stops reading
        (:meth:`pause_receiving`: its buffer is full), so TCP still pushes back.
        Measured: 150 paced sessions on one core instead of 100
        (``benchmarks.scale_bench``). Same private attributes as the send path.
        """
        transport, protocol = fast
        queue = protocol.read_queue
        if not queue:
            if protocol.is_at_eof or protocol.exception is not None or transport.is_closing():
                return b""
            transport.resume_reading()  # a no-op when it is on
            await protocol.read_event.wait()
            if not queue:  # woken by end of stream or a lost connection
                return b""
        chunk: bytes = queue.popleft()
        if len(chunk) > max_bytes:
            queue.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        if not queue:
            protocol.read_event.clear()
        return chunk

    def pause_receiving(self) -> None:
        fast = self._fast
        if fast is not None:
            fast[0].pause_reading()  # a no-op when it is off

    def resume_receiving(self) -> None:
        fast = self._fast
        if fast is not None:
            fast[0].resume_reading()  # a no-op when it is on

    def deliver_to(self, sink: Callable[[bytes], None]) -> bool:
        """Reads go to ``sink`` straight from asyncio's protocol callbacks.

        anyio's protocol queues each read and sets an event for a task to wake on; the
        connection's reader would wake once per frame only to feed the core. Here the
        protocol's three read callbacks call ``sink`` instead (what anyio's do first still
        happens: EOF and the error are recorded, and writers are woken on a lost
        connection). Plain asyncio sockets only, like the rest of the fast path.
        """
        fast = self._fast
        if fast is None:
            return False
        transport, protocol = fast
        lost = protocol.connection_lost
        ended = False

        def end() -> None:
            nonlocal ended
            if not ended:
                ended = True
                sink(b"")

        def data_received(data: bytes) -> None:
            sink(data)

        def eof_received() -> bool:
            protocol.is_at_eof = True
            end()
            return True  # keep the transport: the connection closes it

        def connection_lost(exc: Exception | None) -> None:
            lost(exc)
            end()

        protocol.data_received = data_received
        protocol.eof_received = eof_received
        protocol.connection_lost = connection_lost
        # uvloop looks the callbacks up when a protocol is set, not per read.
        transport.set_protocol(protocol)
        self._streak = 0
        queued = list(protocol.read_queue)  # read ahead before the switch
        protocol.read_queue.clear()
        protocol.read_event.clear()
        for chunk in queued:
            sink(chunk)
        if protocol.is_at_eof or protocol.exception is not None or transport.is_closing():
            end()
        transport.resume_reading()
        return True

    async def aclose_forcefully(self) -> None:
        await anyio.aclose_forcefully(self._stream)

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        except _GONE:
            pass

    def idle_dropped(self) -> bool:
        fast = self._fast
        if fast is not None:
            protocol = fast[1]
            # Reading stays on between reads: what arrived may be in the queue already.
            if protocol.read_queue or protocol.is_at_eof or protocol.exception is not None:
                return True
        return idle_socket_dropped(self._stream.extra(anyio.abc.SocketAttribute.raw_socket, None))


class _Listener:
    __slots__ = ("_listener", "port")

    def __init__(self, listener: anyio.abc.Listener[anyio.abc.SocketStream], port: int) -> None:
        self._listener = listener
        self.port = port

    async def serve(self, handler: Callable[[ByteStream], Awaitable[None]]) -> None:
        async def accepted(stream: anyio.abc.SocketStream) -> None:
            await handler(_Stream(stream))

        await self._listener.serve(accepted)

    async def aclose(self) -> None:
        await self._listener.aclose()


class AnyioBackend:
    """The async layer on anyio (asyncio or trio underneath)."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.environ = environ

    def default_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context()

    async def connect_tcp(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None
    ) -> ByteStream:
        # tls_standard_compatible=False: the WebSocket close handshake (or the HTTP
        # framing) marks the end of the data; a missing close_notify is no error.
        try:
            if ssl_context is None:
                stream: anyio.abc.ByteStream = await anyio.connect_tcp(host, port)
            else:
                stream = await anyio.connect_tcp(
                    host,
                    port,
                    ssl_context=ssl_context,
                    tls_hostname=host,
                    tls_standard_compatible=False,
                )
        except (OSError, anyio.BrokenResourceError) as exc:
            raise connect_error(host, port, exc) from exc
        return _Stream(stream)

    async def listen_tcp(self, host: str, port: int) -> Listener:
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
        return _Listener(listener, listener.extra(anyio.abc.SocketAttribute.local_port))

    def wrap_stream(self, stream: Any) -> ByteStream:
        if not isinstance(stream, anyio.abc.ByteStream):
            raise TypeError(f"expected an anyio ByteStream, got {type(stream).__name__}")
        return _Stream(stream)

    def event(self) -> Event:
        # anyio's Event on asyncio wraps an asyncio.Event: 3.4 µs to make against 1.9 for
        # this check and the plain one, and the connection makes one per wait for an
        # event. Cancellation reaches a task waiting on either the same way (anyio cancels
        # the task), so on asyncio the plain one does.
        if anyio.get_cancelled_exc_class() is asyncio.CancelledError:
            return asyncio.Event()
        return anyio.Event()

    def cancel_scope(self, *, shield: bool = False) -> anyio.CancelScope:
        return anyio.CancelScope(shield=shield)

    def move_on_after(self, seconds: float | None, *, shield: bool = False) -> anyio.CancelScope:
        return anyio.move_on_after(seconds, shield=shield)

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def current_time(self) -> float:
        return anyio.current_time()

    async def checkpoint(self) -> None:
        await anyio.lowlevel.checkpoint()

    async def checkpoint_if_cancelled(self) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()

    def cancelled_exc_class(self) -> type[BaseException]:
        return anyio.get_cancelled_exc_class()

    async def run_sync(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)

    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        group: Any = anyio.create_task_group()
        return group  # type: ignore[no-any-return]

    def wall_time(self) -> float:
        return time.time()


BACKEND = AnyioBackend()
