"""trio's implementation of the async layer's :class:`~oairt_core._async._backend.Backend`."""

from __future__ import annotations

import math
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import trio

from oairt_core._async._backend import (
    BUFFERED,
    NOT_SENT,
    SENT,
    ByteStream,
    Listener,
    TaskGroup,
    TransportError,
    idle_socket_dropped,
)
from oairt_core._driver import connect_error

T = TypeVar("T")

# What a broken or closed transport raises on read or write.
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


# Fast writes in a row with no other trip through the scheduler (this stream's reads,
# slow writes and drains reset the count); the next write then takes trio's path,
# which yields once, so a sender that never waits cannot starve the other tasks.
_MAX_STREAK = 16


class _Stream:
    __slots__ = ("_pending", "_sock", "_streak", "_stream")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream
        # The stdlib socket under a plain trio.SocketStream (not TLS): trio's send_all
        # on it ends with a cancel-shielded checkpoint, an extra scheduler pass per frame.
        # Private, so looked up defensively: without it every write takes trio's path.
        sock = None
        if isinstance(stream, trio.SocketStream):
            sock = getattr(stream.socket, "_sock", None)
        self._sock = sock
        self._streak = 0
        self._pending = b""

    def try_send(self, data: bytes) -> int:
        sock = self._sock
        if sock is None or self._streak >= _MAX_STREAK or self._pending:
            return NOT_SENT
        stream = self._stream
        assert isinstance(stream, trio.SocketStream)
        if stream.socket.did_shutdown_SHUT_WR:
            return NOT_SENT
        try:
            sent = sock.send(data)
        except OSError:  # would block, or broken: trio's own path waits or reports it
            return NOT_SENT
        self._streak += 1
        if sent == len(data):
            return SENT
        self._pending = data[sent:]  # committed: the caller drains the rest
        return BUFFERED

    async def drain(self) -> None:
        pending, self._pending = self._pending, b""
        await self.send_all(pending)

    async def send_all(self, data: bytes) -> None:
        self._streak = 0
        try:
            await self._stream.send_all(data)
        except _GONE as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc

    async def receive_some(self, max_bytes: int) -> bytes:
        self._streak = 0
        try:
            return bytes(await self._stream.receive_some(max_bytes))
        except _GONE:
            return b""

    def pause_receiving(self) -> None:
        pass  # trio reads from the kernel only inside receive_some

    def deliver_to(self, sink: Callable[[bytes], None]) -> bool:
        return False  # no read callbacks in trio: the reader task calls receive_some

    def resume_receiving(self) -> None:
        pass

    async def aclose_forcefully(self) -> None:
        await trio.aclose_forcefully(self._stream)

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        except _GONE:
            pass

    def idle_dropped(self) -> bool:
        stream = self._stream
        if isinstance(stream, trio.SSLStream):
            stream = stream.transport_stream
        return idle_socket_dropped(stream.socket if isinstance(stream, trio.SocketStream) else None)


class _Listener:
    __slots__ = ("_listeners", "port")

    def __init__(self, listeners: list[trio.SocketListener]) -> None:
        self._listeners = listeners
        self.port: int = listeners[0].socket.getsockname()[1]

    async def serve(self, handler: Callable[[ByteStream], Awaitable[None]]) -> None:
        async def accepted(stream: trio.SocketStream) -> None:
            await handler(_Stream(stream))

        await trio.serve_listeners(accepted, self._listeners)

    async def aclose(self) -> None:
        for listener in self._listeners:
            await listener.aclose()


def _seconds(seconds: float | None) -> float:
    return math.inf if seconds is None else seconds


class TrioBackend:
    """The async layer on trio (nurseries, ``trio.SSLStream``)."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self.environ = environ

    def default_ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context()

    async def connect_tcp(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None
    ) -> ByteStream:
        # TLS handshake done here, so its failures are connect failures. https_compatible:
        # the WebSocket close (or HTTP framing) marks the end; no close_notify needed.
        tcp: trio.SocketStream | None = None
        try:
            tcp = await trio.open_tcp_stream(host, port)
            if ssl_context is None:
                return _Stream(tcp)
            tls = trio.SSLStream(tcp, ssl_context, server_hostname=host, https_compatible=True)
            await tls.do_handshake()
            return _Stream(tls)
        except (OSError, trio.BrokenResourceError) as exc:
            if tcp is not None:
                await trio.aclose_forcefully(tcp)
            # trio wraps a TLS failure in BrokenResourceError: name the TLS error itself as
            # the cause, as anyio does, so callers see the same chain on every adapter.
            root = exc.__cause__ if isinstance(exc, trio.BrokenResourceError) else None
            cause = root if isinstance(root, ssl.SSLError) else exc
            raise connect_error(host, port, cause) from cause
        except BaseException:
            if tcp is not None:
                await trio.aclose_forcefully(tcp)
            raise

    async def listen_tcp(self, host: str, port: int) -> Listener:
        return _Listener(await trio.open_tcp_listeners(port, host=host))

    def wrap_stream(self, stream: Any) -> ByteStream:
        if not isinstance(stream, trio.abc.Stream):
            raise TypeError(f"expected a trio Stream, got {type(stream).__name__}")
        return _Stream(stream)

    def event(self) -> trio.Event:
        return trio.Event()

    def cancel_scope(self, *, shield: bool = False) -> trio.CancelScope:
        return trio.CancelScope(shield=shield)

    def move_on_after(self, seconds: float | None, *, shield: bool = False) -> trio.CancelScope:
        return trio.move_on_after(_seconds(seconds), shield=shield)

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)

    def current_time(self) -> float:
        return trio.current_time()

    async def checkpoint(self) -> None:
        await trio.lowlevel.checkpoint()

    async def checkpoint_if_cancelled(self) -> None:
        await trio.lowlevel.checkpoint_if_cancelled()

    def cancelled_exc_class(self) -> type[BaseException]:
        return trio.Cancelled

    async def run_sync(self, fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)

    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]:
        group: Any = trio.open_nursery()
        return group  # type: ignore[no-any-return]

    def wall_time(self) -> float:
        return time.time()


BACKEND = TrioBackend()
