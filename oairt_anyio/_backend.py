"""anyio's implementation of the async layer's :class:`~oairt_core._async._backend.Backend`."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.to_thread

from oairt_core._async._backend import (
    ByteStream,
    TaskGroup,
    TransportError,
    idle_socket_dropped,
)
from oairt_core._driver import connect_error

T = TypeVar("T")

# What a broken or closed transport raises on read or write.
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


class _Stream:
    __slots__ = ("_stream",)

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self._stream = stream

    async def send_all(self, data: bytes) -> None:
        try:
            await self._stream.send(data)
        except _GONE as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc

    async def receive_some(self, max_bytes: int) -> bytes:
        try:
            return await self._stream.receive(max_bytes)
        except _GONE:
            return b""

    async def aclose_forcefully(self) -> None:
        await anyio.aclose_forcefully(self._stream)

    def idle_dropped(self) -> bool:
        return idle_socket_dropped(self._stream.extra(anyio.abc.SocketAttribute.raw_socket, None))


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

    def event(self) -> anyio.Event:
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


BACKEND = AnyioBackend()
