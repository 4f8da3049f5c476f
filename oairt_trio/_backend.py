"""trio's implementation of the async layer's :class:`~oairt_core._async._backend.Backend`."""

from __future__ import annotations

import math
import os
import ssl
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import trio

from oairt_core._async._backend import (
    NOT_SENT,
    ByteStream,
    TaskGroup,
    TransportError,
    idle_socket_dropped,
)
from oairt_core.driver import connect_error

T = TypeVar("T")

# What a broken or closed transport raises on read or write.
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class _Stream:
    __slots__ = ("_stream",)

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream

    def try_send(self, data: bytes) -> int:
        return NOT_SENT  # trio's send_all is already a single checkpoint

    async def drain(self) -> None:  # pragma: no cover - try_send never buffers
        await trio.lowlevel.checkpoint()

    async def send_all(self, data: bytes) -> None:
        try:
            await self._stream.send_all(data)
        except _GONE as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc

    async def receive_some(self, max_bytes: int) -> bytes:
        try:
            return bytes(await self._stream.receive_some(max_bytes))
        except _GONE:
            return b""

    async def aclose_forcefully(self) -> None:
        await trio.aclose_forcefully(self._stream)

    def idle_dropped(self) -> bool:
        stream = self._stream
        if isinstance(stream, trio.SSLStream):
            stream = stream.transport_stream
        return idle_socket_dropped(stream.socket if isinstance(stream, trio.SocketStream) else None)


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


BACKEND = TrioBackend()
