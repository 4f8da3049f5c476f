"""The Realtime WebSocket connection on anyio (asyncio or trio backend).

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_anyio.connect(api_key="sk-...", model="gpt-realtime") as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             print(type(event).__name__)

The adapter only moves bytes: all protocol decisions are made by
:class:`oairt_core.RealtimeConnection`.

Policies (the same in ``oairt_trio``):

* **Backpressure.** A reader task feeds the core and puts each event into a bounded
  buffer of ``max_buffered_events``. When it is full the reader stops reading the
  socket until you take an event, so a slow consumer slows the server down through
  TCP flow control. Nothing is ever dropped while you are reading. (While the reader is
  blocked, pings are not answered either.)
* **End of the connection.** ``next_event()`` first returns every event that arrived,
  then raises: :class:`ConnectionClosedError` (``code``, ``reason``; 1006 when TCP was
  lost without a close frame) or, when we failed the connection because the server broke
  the protocol, that error (e.g. :class:`MessageTooBig` after closing with 1009).
  ``async for`` ends quietly when the close was normal (we closed, or the server closed
  with 1000) and raises the same exceptions otherwise. ``conn.closed`` then holds the
  :class:`ConnectionClosed` event.
* **Sending.** Sends are serialised by a lock and the socket write of a frame is shielded
  from cancellation, so a cancelled ``send()`` has sent either the whole frame or nothing.
  A write that cannot finish within ``write_timeout`` aborts the connection.
* **Closing.** ``close()`` (and leaving ``async with``) sends a close frame, waits at most
  ``close_timeout`` seconds for the server's reply, then closes the socket. Events not yet
  read when you call ``close()`` are discarded: you said you are done.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

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

from ._net import open_stream

__all__ = ["AnyioConnection", "connect", "serve_connection", "start_connection"]

_STREAM_GONE = (
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    OSError,
)


class AnyioConnection:
    """An open Realtime connection; get one from :func:`connect` or :func:`start_connection`.

    Satisfies :class:`oairt_core.protocols.AsyncRealtimeConnection`.
    """

    def __init__(
        self,
        core: RealtimeConnection,
        stream: anyio.abc.ByteStream,
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
        self._send_lock = anyio.Lock()
        tx, rx = anyio.create_memory_object_stream[IncomingEvent](max_buffered_events)
        self._tx: MemoryObjectSendStream[IncomingEvent] = tx
        self._rx: MemoryObjectReceiveStream[IncomingEvent] = rx
        self._closed: ConnectionClosed | None = None
        self._reader_done = anyio.Event()
        self._stream_closed = False

    # -- what the protocol exposes ---------------------------------------------------

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
        """The server's 101 response headers, redacted."""
        return self._core.response_headers

    @property
    def closed(self) -> ConnectionClosed | None:
        """How the connection ended, once it has."""
        return self._closed

    def __repr__(self) -> str:
        return f"AnyioConnection({self._core!r})"

    # -- sending ---------------------------------------------------------------------

    async def send(self, event: ClientEvent) -> None:
        """Validate, encode and send one client event (whole frame or nothing)."""
        async with self._send_lock:
            self._check_sendable()
            await self._write(self._core.send(event))

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one message, unvalidated."""
        async with self._send_lock:
            self._check_sendable()
            await self._write(self._core.send_raw(text))

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping (keepalive); the pong is absorbed by the core."""
        async with self._send_lock:
            self._check_sendable()
            await self._write(self._core.ping(payload))

    def _check_sendable(self) -> None:
        if self._closed is not None:
            raise ConnectionClosedError(self._closed.code, self._closed.reason)

    async def _write(self, data: bytes) -> None:
        # Call with the send lock held. Shielded so cancellation never cuts a frame in half
        # (the server would then misparse everything after it); bounded by write_timeout so
        # the shield cannot hang forever on a peer that stopped reading.
        if not data:
            return
        if self._stream_closed:
            raise ConnectionClosedError(1006, "the connection was aborted")
        with anyio.CancelScope(shield=True):
            with anyio.move_on_after(self._write_timeout) as scope:
                try:
                    await self._stream.send(data)
                    return
                except _STREAM_GONE as exc:
                    await self._abort()
                    raise ConnectionClosedError(1006, "connection lost while sending") from exc
            if scope.cancelled_caught:
                await self._abort()
                raise ConnectionClosedError(1006, "write timed out; connection aborted")

    async def _abort(self) -> None:
        # Closing the stream wakes the reader, which then reports the loss.
        if not self._stream_closed:
            self._stream_closed = True
            with anyio.CancelScope(shield=True):
                await anyio.aclose_forcefully(self._stream)

    # -- receiving -------------------------------------------------------------------

    async def next_event(self) -> IncomingEvent:
        """The next server event (or :class:`MalformedServerEvent`).

        Raises :class:`ConnectionClosedError` (or the protocol error we closed for) once
        every event that arrived before the close has been returned.
        """
        try:
            return await self._rx.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        if self._closed is None:  # receive side closed by close(): we are closing
            await self._reader_done.wait()
        assert self._closed is not None
        raise self._closed.exception()

    def __aiter__(self) -> AnyioConnection:
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
        """Feed the core from the socket until the connection is over."""
        core = self._core
        discard = False
        try:
            while True:
                event = core.next_event()
                if isinstance(event, NeedData):
                    await self._flush()
                    try:
                        data: bytes | None = await self._stream.receive(self._read_size)
                    except _STREAM_GONE:
                        data = None
                    core.receive_data(data)
                    continue
                if isinstance(event, ConnectionClosed):
                    self._closed = event
                    await self._flush()  # our close reply, or the frame failing the connection
                    return
                if isinstance(event, (Connected, HandshakeRejected)):
                    continue  # handshake events; only seen before the reader starts
                if discard:
                    continue
                try:
                    await self._tx.send(event)  # blocks while the buffer is full: backpressure
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    discard = True  # close() closed the receive side: nobody will read
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
        """Close the WebSocket: close frame, bounded wait for the reply, socket closed.

        Idempotent. Buffered events not yet read are discarded.
        """
        self._rx.close()
        if self._closed is None:
            try:
                async with self._send_lock:
                    if self._core.state is ConnectionState.OPEN:
                        await self._write(self._core.close(code, reason))
            except ConnectionClosedError:
                pass
        with anyio.move_on_after(self._close_timeout):
            await self._reader_done.wait()
        await self._abort()
        await self._reader_done.wait()

    async def aclose(self) -> None:
        """``close(1000)``, for ``contextlib.aclosing`` and friends."""
        await self.close()


async def _handshake(
    core: RealtimeConnection, stream: anyio.abc.ByteStream, read_size: int
) -> None:
    await stream.send(core.initiate())
    while True:
        event = core.next_event()
        if isinstance(event, NeedData):
            try:
                data: bytes | None = await stream.receive(read_size)
            except _STREAM_GONE:
                data = None
            core.receive_data(data)
            continue
        if isinstance(event, HandshakeRejected):
            raise event.exception()
        if isinstance(event, ConnectionClosed):
            raise event.exception()
        return  # Connected; any events after it stay queued in the core


async def _open_connection(
    *,
    ssl: bool | _ssl.SSLContext | None,
    connect_timeout: float | None,
    max_buffered_events: int,
    close_timeout: float,
    write_timeout: float | None,
    **core_kwargs: Any,
) -> AnyioConnection:
    core = RealtimeConnection(**core_kwargs)
    ssl_context = resolve_ssl_context(core.secure, ssl)
    stream: anyio.abc.ByteStream | None = None
    try:
        with anyio.fail_after(connect_timeout):
            stream = await open_stream(core.host, core.port, ssl_context)
            await _handshake(core, stream, 65536)
    except TimeoutError:
        if stream is not None:
            await anyio.aclose_forcefully(stream)
        raise RequestTimeout(
            f"connecting to {core.host}:{core.port} timed out after {connect_timeout} s"
        ) from None
    except BaseException:
        if stream is not None:
            await anyio.aclose_forcefully(stream)
        raise
    return AnyioConnection(
        core,
        stream,
        max_buffered_events=max_buffered_events,
        close_timeout=close_timeout,
        write_timeout=write_timeout,
    )


async def serve_connection(
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
    task_status: anyio.abc.TaskStatus[AnyioConnection] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Open a connection, hand it to ``task_status.started``, run its reader until it ends.

    For task groups you manage yourself (or use :func:`start_connection`)::

        conn = await tg.start(functools.partial(oairt_anyio.serve_connection, api_key=k,
                                                model="gpt-realtime"))
        ...
        await conn.close()

    Raises :class:`HandshakeError` (from ``tg.start``) when the server refuses.
    """
    conn = await _open_connection(
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
    try:
        task_status.started(conn)
        await conn._run_reader()
    finally:
        with anyio.CancelScope(shield=True):
            await conn._abort()


async def start_connection(task_group: anyio.abc.TaskGroup, **kwargs: Any) -> AnyioConnection:
    """``await task_group.start(serve_connection, **kwargs)``; same keyword arguments."""

    async def run(*, task_status: anyio.abc.TaskStatus[AnyioConnection]) -> None:
        await serve_connection(**kwargs, task_status=task_status)

    conn: AnyioConnection = await task_group.start(run)
    return conn


@asynccontextmanager
async def connect(
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
) -> AsyncIterator[AnyioConnection]:
    """Open a Realtime connection for the duration of the block.

    ``ssl``: None follows the URL (``wss://`` -> verified TLS with the system's default
    context), an ``SSLContext`` is used as given, False is allowed only for ``ws://``.
    Raises :class:`HandshakeError` when the server refuses the upgrade,
    :class:`RequestTimeout` when connecting takes longer than ``connect_timeout`` and
    :class:`ConnectionClosedError` (1006) when the TCP connection cannot be made.
    ``on_message(direction, text)`` ("client"/"server") sees every text message, for
    recording; ``max_buffered_events`` bounds the event buffer (see the module docstring).
    Exceptions from the block come out unwrapped (not in an ExceptionGroup).
    """
    conn = await _open_connection(
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
        async with anyio.create_task_group() as tg:
            tg.start_soon(conn._run_reader)
            try:
                yield conn
            except Exception as exc:
                # Kept out of the task group so it is not wrapped in an ExceptionGroup.
                body_error = exc
            finally:
                with anyio.CancelScope(shield=True):
                    await conn.close()
    finally:
        with anyio.CancelScope(shield=True):
            await conn._abort()
    if body_error is not None:
        raise body_error
