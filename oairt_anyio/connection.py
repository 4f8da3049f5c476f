"""The Realtime WebSocket connection on anyio (asyncio or trio backend).

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_anyio.connect(api_key="sk-...", model="gpt-realtime") as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             print(type(event).__name__)

The adapter only moves bytes: all protocol decisions are made by
:class:`oairt_core.RealtimeConnection` and :class:`oairt_core.driver.ConnectionDriver`.
``api_key`` defaults to ``$OPENAI_API_KEY`` and ``base_url`` to ``$OAIRT_BASE_URL``
(else the public API); every keyword option is described in
:class:`oairt_core.driver.ConnectOptions`.

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
* **Sending.** Sends are serialised by a lock; a frame is written whole or not at all.
  Cancelling a ``send()`` takes effect at once: if the write had not started, nothing was
  sent and the connection goes on; if it was cancelled part-way (e.g. a peer that stopped
  reading), the connection is aborted, since the server would misparse everything after a
  cut frame: the socket is closed and every later operation raises
  :class:`ConnectionClosedError` (1006, "a send was cancelled part-way; connection
  aborted"). A write that cannot finish within ``write_timeout`` aborts it the same way.
* **Closing.** ``close()`` (and leaving ``async with``) sends a close frame, waits at most
  ``close_timeout`` seconds for the server's reply, then closes the socket. Events not yet
  read when you call ``close()`` are discarded: you said you are done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel

from oairt_core.connection import ConnectionClosed, IncomingEvent, NeedData
from oairt_core.driver import AsyncConnectionBase, ConnectionDriver, ConnectionPlan, plan_connection
from oairt_core.errors import ConnectionClosedError

from ._net import STREAM_GONE, open_stream

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from oairt_core.driver import ConnectOptions

__all__ = ["AnyioConnection", "connect", "serve_connection", "start_connection"]


class AnyioConnection(AsyncConnectionBase):
    """An open Realtime connection; get one from :func:`connect` or :func:`start_connection`.

    Satisfies :class:`oairt_core.protocols.AsyncRealtimeConnection`.
    """

    def __init__(
        self,
        driver: ConnectionDriver,
        stream: anyio.abc.ByteStream,
        *,
        max_buffered_events: int = 256,
        close_timeout: float = 2.0,
        write_timeout: float | None = 30.0,
        read_size: int = 65536,
    ) -> None:
        self._driver = driver
        self._stream = stream
        self._close_timeout = close_timeout
        self._write_timeout = write_timeout
        self._read_size = read_size
        self._send_lock = anyio.Lock()
        self._tx, self._rx = anyio.create_memory_object_stream[IncomingEvent](max_buffered_events)
        self._reader_done = anyio.Event()
        # Set (and dropped) by the reader when it buffers an event or ends: an empty buffer
        # is waited on through it rather than ``receive()``, which would first take a
        # needless trip through the event loop.
        self._ready: anyio.Event | None = None
        self._rendezvous = max_buffered_events == 0  # no buffer: hand-over in receive()
        self._stream_closed = False

    async def _lock(self) -> None:
        # Uncontended (the usual case): take the lock without a trip through the event loop
        # (``Lock.acquire`` always yields; the write yields anyway, and ``_write`` checks for
        # a cancel before writing). Contended: queue fairly behind the holder as before.
        try:
            self._send_lock.acquire_nowait()
        except anyio.WouldBlock:
            await self._send_lock.acquire()

    async def _send(self, frame: Callable[[], bytes]) -> None:
        await self._lock()
        try:
            await self._write(frame())
        finally:
            self._send_lock.release()

    async def _write(self, data: bytes) -> None:
        # Call with the send lock held. Not shielded, so a cancel is honoured at once; a
        # write cancelled (or failed, or timed out) part-way aborts the connection instead.
        if not data:
            return
        self._driver.check_writable(self._stream_closed)
        await anyio.lowlevel.checkpoint_if_cancelled()  # a cancel here: nothing was sent
        try:
            with anyio.move_on_after(self._write_timeout) as scope:
                await self._stream.send(data)
        except STREAM_GONE as exc:
            await self._abort()
            raise self._driver.write_failed("lost") from exc
        except anyio.get_cancelled_exc_class():
            self._driver.write_failed("cancelled")
            await self._abort()
            raise
        if scope.cancelled_caught:
            await self._abort()
            raise self._driver.write_failed("timeout")

    async def _abort(self) -> None:
        # Closing the stream wakes the reader, which then reports the loss.
        if not self._stream_closed:
            self._stream_closed = True
            with anyio.CancelScope(shield=True):
                await anyio.aclose_forcefully(self._stream)

    async def next_event(self) -> IncomingEvent:
        """The next server event (or :class:`MalformedServerEvent`).

        Raises :class:`ConnectionClosedError` (or the protocol error we closed for) once
        every event that arrived before the close has been returned.
        """
        # An event already buffered is returned without a trip through the event loop (a
        # cancel is still honoured first); only an empty buffer waits.
        await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                return self._rx.receive_nowait()
            except anyio.WouldBlock:
                if self._rendezvous:
                    try:
                        return await self._rx.receive()
                    except (anyio.EndOfStream, anyio.ClosedResourceError):
                        break
                ready = self._ready
                if ready is None:
                    ready = self._ready = anyio.Event()
                await ready.wait()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                break
        await self._reader_done.wait()
        raise self._driver.end_error()

    def _wake(self) -> None:
        ready = self._ready
        if ready is not None:
            self._ready = None
            ready.set()

    async def _run_reader(self) -> None:
        """Feed the core from the socket until the connection is over."""
        driver = self._driver
        try:
            while True:
                step = driver.next_step()
                if isinstance(step, NeedData):
                    await self._flush()
                    try:
                        data: bytes | None = await self._stream.receive(self._read_size)
                    except STREAM_GONE:
                        data = None
                    driver.receive_data(data)
                elif isinstance(step, ConnectionClosed):
                    await self._flush()  # our close reply, or the frame failing the connection
                    return
                else:
                    try:
                        try:
                            self._tx.send_nowait(step)  # no loop round trip while there is room
                            self._wake()
                        except anyio.WouldBlock:
                            await self._tx.send(step)  # blocks while the buffer is full
                            self._wake()  # it may have gone into the buffer after all
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        driver.discard_events()  # close() closed the receive side
        finally:
            driver.reader_finished()
            self._tx.close()
            self._wake()
            await self._abort()
            self._reader_done.set()

    async def _flush(self) -> None:
        data = self._driver.data_to_send()
        if data:
            try:
                await self._lock()
                try:
                    await self._write(data)
                finally:
                    self._send_lock.release()
            except ConnectionClosedError:
                self._driver.transport_lost()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket: close frame, bounded wait for the reply, socket closed.

        Idempotent. Buffered events not yet read are discarded.
        """
        self._rx.close()
        try:
            try:
                async with self._send_lock:
                    await self._write(self._driver.frame_close(code, reason))
            except ConnectionClosedError:
                pass
            with anyio.move_on_after(self._close_timeout):
                await self._reader_done.wait()
        finally:
            await self._abort()  # also when close() itself is cancelled: nothing left open
        await self._reader_done.wait()


async def _open_connection(options: dict[str, Any]) -> AnyioConnection:
    plan: ConnectionPlan = plan_connection(options)
    driver = plan.driver
    stream: anyio.abc.ByteStream | None = None
    try:
        with anyio.fail_after(plan.connect_timeout):
            stream = await open_stream(plan.host, plan.port, plan.ssl_context)
            await stream.send(driver.initiate())
            while not driver.handshake_done():
                try:
                    data: bytes | None = await stream.receive(65536)
                except STREAM_GONE:
                    data = None
                driver.receive_data(data)
    except TimeoutError:
        if stream is not None:
            await anyio.aclose_forcefully(stream)
        raise plan.timeout_error() from None
    except BaseException:
        if stream is not None:
            await anyio.aclose_forcefully(stream)
        raise
    return AnyioConnection(
        driver,
        stream,
        max_buffered_events=plan.max_buffered_events,
        close_timeout=plan.close_timeout,
        write_timeout=plan.write_timeout,
    )


async def serve_connection(
    *,
    task_status: anyio.abc.TaskStatus[AnyioConnection] = anyio.TASK_STATUS_IGNORED,
    **options: Unpack[ConnectOptions],
) -> None:
    """Open a connection, hand it to ``task_status.started``, run its reader until it ends.

    For task groups you manage yourself (or use :func:`start_connection`)::

        conn = await tg.start(functools.partial(oairt_anyio.serve_connection,
                                                model="gpt-realtime"))
        ...
        await conn.close()

    Same options as :func:`connect`. Raises :class:`HandshakeError` (from ``tg.start``)
    when the server refuses.
    """
    conn = await _open_connection(dict(options))
    try:
        task_status.started(conn)
        await conn._run_reader()
    finally:
        with anyio.CancelScope(shield=True):
            await conn._abort()


async def start_connection(
    task_group: anyio.abc.TaskGroup, **options: Unpack[ConnectOptions]
) -> AnyioConnection:
    """``await task_group.start(serve_connection, **options)``; same keyword arguments."""

    async def run(*, task_status: anyio.abc.TaskStatus[AnyioConnection]) -> None:
        await serve_connection(**options, task_status=task_status)

    conn: AnyioConnection = await task_group.start(run)
    return conn


@asynccontextmanager
async def connect(**options: Unpack[ConnectOptions]) -> AsyncIterator[AnyioConnection]:
    """Open a Realtime connection for the duration of the block.

    Keyword options (all optional; see :class:`oairt_core.driver.ConnectOptions`):
    ``api_key`` (default ``$OPENAI_API_KEY``), ``model``, ``call_id``, ``intent``,
    ``base_url`` (default ``$OAIRT_BASE_URL``, else the public API), ``organization``,
    ``project``, ``safety_identifier``, ``user_agent``, ``extra_headers``,
    ``extra_query``, ``subprotocols``, ``max_message_size``, ``on_message``, ``ssl``,
    ``connect_timeout`` (30 s), ``close_timeout`` (2 s), ``write_timeout`` (30 s),
    ``max_buffered_events`` (256).

    ``ssl``: None follows the URL (``wss://`` -> verified TLS with the system's default
    context), an ``SSLContext`` is used as given, False is allowed only for ``ws://``.
    Raises :class:`HandshakeError` when the server refuses the upgrade,
    :class:`RequestTimeout` when connecting takes longer than ``connect_timeout`` and
    :class:`ConnectError` (a :class:`ConnectionClosedError`, 1006) when the server cannot
    be reached (DNS, TCP or TLS failure).
    ``on_message(direction, text)`` ("client"/"server") sees every text message, for
    recording; ``max_buffered_events`` bounds the event buffer (see the module docstring).
    Exceptions from the block come out unwrapped (not in an ExceptionGroup).
    """
    conn = await _open_connection(dict(options))
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
