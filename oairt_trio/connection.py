"""The Realtime WebSocket connection on trio (nurseries, memory channels, trio.SSLStream).

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_trio.open_realtime(api_key="sk-...", model="gpt-realtime") as conn:
...         await conn.send(InputAudioBufferClearEvent())
...         async for event in conn:
...             print(type(event).__name__)

Or, in the manner of trio-websocket, in a nursery you own::

    async with trio.open_nursery() as nursery:
        conn = await oairt_trio.connect_realtime(nursery, api_key=key, model="gpt-realtime")
        ...
        await conn.close()

Same object protocol and policies as ``oairt_anyio`` (see its module docstring):
bounded event buffer with backpressure to TCP, whole-frame-or-nothing sends,
bounded close, ``ConnectionClosedError`` after the last buffered event, ``async for``
ending quietly on a normal close.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import trio

from oairt_core.connection import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DEFAULT_WS_BASE_URL,
    Connected,
    ConnectionClosed,
    ConnectionState,
    HandshakeRejected,
    IncomingEvent,
    NeedData,
    RealtimeConnection,
    resolve_ssl_context,
)
from oairt_core.errors import ConnectionClosedError, OairtError, RequestTimeout
from oairt_core.events import ClientEvent
from oairt_core.redact import Secret

__all__ = ["TrioConnection", "connect_realtime", "open_realtime"]

_STREAM_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class TrioConnection:
    """An open Realtime connection on trio; from :func:`open_realtime` or
    :func:`connect_realtime`. Satisfies ``oairt_core.protocols.AsyncRealtimeConnection``.
    """

    def __init__(
        self,
        core: RealtimeConnection,
        stream: trio.abc.Stream,
        *,
        max_buffered_events: int = 256,
        close_timeout: float = 2.0,
        write_timeout: float | None = 30.0,
        read_size: int = 65536,
    ) -> None:
        self._core = core
        self._stream = stream
        self._close_timeout = close_timeout
        self._write_timeout = write_timeout
        self._read_size = read_size
        self._send_lock = trio.Lock()
        self._tx, self._rx = trio.open_memory_channel[IncomingEvent](max_buffered_events)
        self._closed: ConnectionClosed | None = None
        self._reader_done = trio.Event()
        self._stream_closed = False

    @property
    def core(self) -> RealtimeConnection:
        """The sans-IO connection underneath (read its state; do not drive it)."""
        return self._core

    @property
    def state(self) -> ConnectionState:
        return self._core.state

    @property
    def is_sideband(self) -> bool:
        return self._core.is_sideband

    @property
    def subprotocol(self) -> str | None:
        return self._core.subprotocol

    @property
    def response_headers(self) -> list[tuple[str, str]]:
        return self._core.response_headers

    @property
    def closed(self) -> ConnectionClosed | None:
        return self._closed

    def __repr__(self) -> str:
        return f"TrioConnection({self._core!r})"

    # -- sending ---------------------------------------------------------------------

    async def send(self, event: ClientEvent) -> None:
        """Validate, encode and send one client event (whole frame or nothing)."""
        async with self._send_lock:
            self._check_sendable()
            await self._write(self._core.send(event))

    async def send_raw(self, text: str) -> None:
        async with self._send_lock:
            self._check_sendable()
            await self._write(self._core.send_raw(text))

    async def ping(self, payload: bytes = b"") -> None:
        async with self._send_lock:
            self._check_sendable()
            await self._write(self._core.ping(payload))

    def _check_sendable(self) -> None:
        if self._closed is not None:
            raise ConnectionClosedError(self._closed.code, self._closed.reason)

    async def _write(self, data: bytes) -> None:
        # Send lock held. Shielded: trio's send_all may stop mid-buffer when cancelled,
        # which would corrupt the frame stream; write_timeout bounds the shield.
        if not data:
            return
        if self._stream_closed:
            raise ConnectionClosedError(1006, "the connection was aborted")
        with trio.CancelScope(shield=True):
            with trio.move_on_after(
                self._write_timeout if self._write_timeout is not None else float("inf")
            ) as scope:
                try:
                    await self._stream.send_all(data)
                    return
                except _STREAM_GONE as exc:
                    await self._abort()
                    raise ConnectionClosedError(1006, "connection lost while sending") from exc
            if scope.cancelled_caught:
                await self._abort()
                raise ConnectionClosedError(1006, "write timed out; connection aborted")

    async def _abort(self) -> None:
        if not self._stream_closed:
            self._stream_closed = True
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self._stream)

    # -- receiving -------------------------------------------------------------------

    async def next_event(self) -> IncomingEvent:
        """The next server event; raises once the connection is over (see module doc)."""
        try:
            return await self._rx.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            pass
        if self._closed is None:
            await self._reader_done.wait()
        assert self._closed is not None
        raise self._closed.exception()

    def __aiter__(self) -> TrioConnection:
        return self

    async def __anext__(self) -> IncomingEvent:
        # A plain iterator rather than an async generator: breaking out of ``async for``
        # leaves nothing suspended to finalise.
        try:
            return await self.next_event()
        except OairtError:
            if self._closed is not None and self._closed.normal:
                raise StopAsyncIteration from None
            raise

    async def _run_reader(self) -> None:
        core = self._core
        discard = False
        try:
            while True:
                event = core.next_event()
                if isinstance(event, NeedData):
                    await self._flush()
                    data: bytes | bytearray | None
                    try:
                        data = await self._stream.receive_some(self._read_size)
                    except _STREAM_GONE:
                        data = None
                    core.receive_data(data)
                    continue
                if isinstance(event, ConnectionClosed):
                    self._closed = event
                    await self._flush()
                    return
                if isinstance(event, (Connected, HandshakeRejected)):
                    continue  # handshake events; only seen before the reader starts
                if discard:
                    continue
                try:
                    await self._tx.send(event)  # blocks while the buffer is full: backpressure
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    discard = True
        finally:
            if self._closed is None:  # cancelled, or crashed: the connection is torn down
                core.receive_data(None)
                self._closed = core.closed
            self._tx.close()
            await self._abort()
            self._reader_done.set()

    async def _flush(self) -> None:
        data = self._core.data_to_send()
        if data:
            try:
                async with self._send_lock:
                    await self._write(data)
            except ConnectionClosedError:
                self._core.receive_data(None)

    # -- closing ---------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close frame, bounded wait for the reply, socket closed. Idempotent."""
        self._rx.close()
        if self._closed is None:
            try:
                async with self._send_lock:
                    if self._core.state is ConnectionState.OPEN:
                        await self._write(self._core.close(code, reason))
            except ConnectionClosedError:
                pass
        with trio.move_on_after(self._close_timeout):
            await self._reader_done.wait()
        await self._abort()
        await self._reader_done.wait()

    async def aclose(self) -> None:
        await self.close()


async def _open(
    *,
    ssl: bool | _ssl.SSLContext | None,
    connect_timeout: float | None,
    max_buffered_events: int,
    close_timeout: float,
    write_timeout: float | None,
    **core_kwargs: Any,
) -> TrioConnection:
    core = RealtimeConnection(**core_kwargs)
    ssl_context = resolve_ssl_context(core.secure, ssl)
    stream: trio.abc.Stream | None = None
    try:
        with trio.fail_after(connect_timeout if connect_timeout is not None else float("inf")):
            try:
                tcp = await trio.open_tcp_stream(core.host, core.port)
            except OSError as exc:
                detail = exc.strerror or type(exc).__name__
                raise ConnectionClosedError(
                    1006, f"cannot connect to {core.host}:{core.port}: {detail}"
                ) from exc
            # https_compatible: the WebSocket close handshake marks the end of the data,
            # so a server dropping TCP without TLS close_notify is not an error.
            stream = (
                tcp
                if ssl_context is None
                else trio.SSLStream(
                    tcp, ssl_context, server_hostname=core.host, https_compatible=True
                )
            )
            await _handshake(core, stream)
    except trio.TooSlowError:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise RequestTimeout(
            f"connecting to {core.host}:{core.port} timed out after {connect_timeout} s"
        ) from None
    except BaseException:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise
    return TrioConnection(
        core,
        stream,
        max_buffered_events=max_buffered_events,
        close_timeout=close_timeout,
        write_timeout=write_timeout,
    )


async def _handshake(core: RealtimeConnection, stream: trio.abc.Stream) -> None:
    try:
        await stream.send_all(core.initiate())
    except _STREAM_GONE as exc:
        # A TLS failure (certificate not trusted, ...) surfaces here: trio.SSLStream
        # handshakes on first use.
        detail = exc.__cause__ or exc
        raise ConnectionClosedError(
            1006, f"connection failed during the handshake: {detail}"
        ) from exc
    while True:
        event = core.next_event()
        if isinstance(event, NeedData):
            try:
                data: bytes | bytearray | None = await stream.receive_some(65536)
            except _STREAM_GONE:
                data = None
            core.receive_data(data)
            continue
        if isinstance(event, (HandshakeRejected, ConnectionClosed)):
            raise event.exception()
        return


async def connect_realtime(
    nursery: trio.Nursery,
    *,
    api_key: str | Secret,
    model: str | None = None,
    call_id: str | None = None,
    intent: Literal["realtime", "transcription"] | None = None,
    base_url: str = DEFAULT_WS_BASE_URL,
    organization: str | None = None,
    project: str | None = None,
    safety_identifier: str | None = None,
    user_agent: str | None = None,
    extra_headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    extra_query: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    on_message: Callable[[str, str], None] | None = None,
    ssl: bool | _ssl.SSLContext | None = None,
    connect_timeout: float | None = 30.0,
    close_timeout: float = 2.0,
    write_timeout: float | None = 30.0,
    max_buffered_events: int = 256,
) -> TrioConnection:
    """Connect, then run the reader in ``nursery``; close with ``await conn.close()``.

    Raises :class:`HandshakeError`, :class:`RequestTimeout` or
    :class:`ConnectionClosedError` (1006, cannot connect) before anything is started.
    """
    conn = await _open(
        api_key=api_key,
        model=model,
        call_id=call_id,
        intent=intent,
        base_url=base_url,
        organization=organization,
        project=project,
        safety_identifier=safety_identifier,
        user_agent=user_agent,
        extra_headers=extra_headers,
        extra_query=extra_query,
        subprotocols=subprotocols,
        max_message_size=max_message_size,
        on_message=on_message,
        ssl=ssl,
        connect_timeout=connect_timeout,
        close_timeout=close_timeout,
        write_timeout=write_timeout,
        max_buffered_events=max_buffered_events,
    )
    nursery.start_soon(conn._run_reader)
    return conn


@asynccontextmanager
async def open_realtime(
    *,
    api_key: str | Secret,
    model: str | None = None,
    call_id: str | None = None,
    intent: Literal["realtime", "transcription"] | None = None,
    base_url: str = DEFAULT_WS_BASE_URL,
    organization: str | None = None,
    project: str | None = None,
    safety_identifier: str | None = None,
    user_agent: str | None = None,
    extra_headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    extra_query: Mapping[str, str] | None = None,
    subprotocols: Sequence[str] | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    on_message: Callable[[str, str], None] | None = None,
    ssl: bool | _ssl.SSLContext | None = None,
    connect_timeout: float | None = 30.0,
    close_timeout: float = 2.0,
    write_timeout: float | None = 30.0,
    max_buffered_events: int = 256,
) -> AsyncIterator[TrioConnection]:
    """A Realtime connection for the duration of the block (closed cleanly on exit).

    Exceptions from the block come out unwrapped (not in an ExceptionGroup).
    """
    conn = await _open(
        api_key=api_key,
        model=model,
        call_id=call_id,
        intent=intent,
        base_url=base_url,
        organization=organization,
        project=project,
        safety_identifier=safety_identifier,
        user_agent=user_agent,
        extra_headers=extra_headers,
        extra_query=extra_query,
        subprotocols=subprotocols,
        max_message_size=max_message_size,
        on_message=on_message,
        ssl=ssl,
        connect_timeout=connect_timeout,
        close_timeout=close_timeout,
        write_timeout=write_timeout,
        max_buffered_events=max_buffered_events,
    )
    body_error: Exception | None = None
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(conn._run_reader)
            try:
                yield conn
            except Exception as exc:
                # Kept out of the nursery so it is not wrapped in an ExceptionGroup.
                body_error = exc
            finally:
                with trio.CancelScope(shield=True):
                    await conn.close()
    finally:
        await conn._abort()
    if body_error is not None:
        raise body_error
