"""The Realtime WebSocket connection, written once over a :class:`~._backend.Backend`.

``oairt_anyio.AnyioConnection`` and ``oairt_trio.TrioConnection`` are this class
under their adapter's name. All protocol decisions are made by the sans-IO
:class:`~oairt_core.connection.RealtimeConnection` and
:class:`~oairt_core._driver.ConnectionDriver`; this module moves bytes.

Policies (the same on every adapter):

* **Backpressure.** A reader task feeds the core and puts each event into a buffer
  bounded by ``max_buffered_events`` and by ``max_buffered_bytes`` (16 MiB). When it
  is full the reader stops reading the socket until you take an event, so a slow
  consumer slows the server down through TCP flow control. Nothing is dropped. (While
  the reader is blocked, pings are not answered and pongs not read either: keep
  reading, or the keepalive ends the connection.) On a stream that delivers its reads
  from the event loop (plain sockets on asyncio, :meth:`ByteStream.deliver_to`), each
  read is fed to the core and its events buffered right in that callback; the reader
  task wakes only for what needs an await (a full buffer, a pong or close reply to
  write, the end), so a frame costs one task wake-up (the app's) instead of two.
* **A hook that raises.** An exception from ``on_message`` while server messages are
  read aborts the connection; ``next_event()`` returns every event parsed before it,
  then raises that exception itself (once; later calls raise :class:`ConnectionClosedError`,
  1006), and sends raise :class:`ConnectionClosedError` at once.
* **Keepalive.** A ping every ``ping_interval`` s (20); no pong within
  ``ping_timeout`` s (20) ends the connection with 1011 ``ConnectionClosedError``
  ("keepalive ping timeout"): a silent server, a half-open TCP connection or a message
  trickled byte by byte cannot block ``next_event()`` forever.
* **End of the connection.** ``next_event()`` first returns every event that arrived,
  then raises :class:`ConnectionClosedError` (1006 when TCP was lost without a close
  frame) or the protocol error we closed for (e.g. :class:`MessageTooBig`). ``async
  for`` ends quietly on a normal close (we closed, or the server said 1000).
* **Sending.** Sends are serialised by a lock; a frame is written whole or not at all.
  A send cancelled before its write started sent nothing; one cancelled part-way (or
  failed, or slower than ``write_timeout``) aborts the connection: every later
  operation raises :class:`ConnectionClosedError` (1006) saying why.
* **Closing.** ``close()`` sends a close frame, waits at most ``close_timeout`` s for
  the reply, then closes the socket. Events not yet read are discarded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .._driver import ConnectionPlan
from ..connection import (
    ConnectionClosed,
    ConnectionState,
    IncomingEvent,
    NeedData,
    RealtimeConnection,
)
from ..errors import ConnectionClosedError, OairtError
from ..events import ClientEvent
from ._backend import (
    BUFFERED,
    SENT,
    Backend,
    ByteStream,
    Event,
    TaskGroup,
    TransportError,
)
from ._sync import Buffer, BufferClosed, Lock

__all__ = ["AsyncConnection", "open_connection"]

C = TypeVar("C", bound="AsyncConnection")
T = TypeVar("T")

_READ_SIZE = 65536


class AsyncConnection:
    """An open Realtime connection (see the module docstring for its policies)."""

    def __init__(self, backend: Backend, plan: ConnectionPlan, stream: ByteStream) -> None:
        self._backend = backend
        self._driver = plan.driver
        self._stream = stream
        self._close_timeout = plan.close_timeout
        self._write_timeout = plan.write_timeout
        self._send_lock = Lock(backend)
        self._buffer: Buffer[IncomingEvent] = Buffer(
            backend, plan.max_buffered_events, plan.max_buffered_bytes
        )
        self._reader_done = backend.event()
        self._stream_closed = False
        self._unread = 0  # bytes read and not yet charged to an event
        # Set while the keepalive timer waits for a pong: the reader wakes it when one
        # arrives, since the next deadline then moves (to the next ping).
        self._timer_wake: Event | None = None
        self._pongs_seen = 0
        # Reads delivered by the stream (see ``_on_data``).
        self._parked: Event | None = None  # set while the reader waits for a reason to wake
        self._held: tuple[IncomingEvent | ConnectionClosed, int] | None = None

    # ------------------------------------------------------------ state

    @property
    def core(self) -> RealtimeConnection:
        """The sans-IO connection underneath (read its state; do not drive it)."""
        return self._driver.core

    @property
    def state(self) -> ConnectionState:
        return self._driver.core.state

    @property
    def is_sideband(self) -> bool:
        return self._driver.core.is_sideband

    @property
    def subprotocol(self) -> str | None:
        return self._driver.core.subprotocol

    @property
    def response_headers(self) -> list[tuple[str, str]]:
        """The server's 101 response headers, redacted."""
        return self._driver.core.response_headers

    @property
    def closed(self) -> ConnectionClosed | None:
        """How the connection ended, once it has."""
        return self._driver.closed

    @property
    def session_expires_at(self) -> int | None:
        """``session.expires_at`` (unix seconds) from this connection's ``session.created``.

        None until it arrived, or when the server sent none (see
        :attr:`RealtimeConnection.session_expires_at`); set once the reader took it in,
        so by the time :meth:`next_event` returns that event. Compare it with wall-clock
        time (``Backend.wall_time``).
        """
        return self._driver.core.session_expires_at

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._driver.core!r})"

    # ------------------------------------------------------------ sending

    async def send(self, event: ClientEvent) -> None:
        """Validate, encode and send one client event (whole frame or nothing)."""
        await self._send(self._driver.frame_event, event)

    async def send_raw(self, text: str) -> None:
        """Send ``text`` as one message, unvalidated."""
        await self._send(self._driver.frame_raw, text)

    async def ping(self, payload: bytes = b"") -> None:
        """Send a ping; the pong is absorbed by the core."""
        await self._send(self._driver.frame_ping, payload)

    async def _send(self, frame: Callable[[T], bytes], arg: T) -> None:
        # Framed under the lock, so frames go out in the order the core made them.
        # Uncontended (the usual case) the lock is taken with no await at all; ``_write``
        # checks for a cancel before writing.
        lock = self._send_lock
        if not lock.try_acquire():
            await lock.acquire()
        try:
            await self._write(frame(arg))
        finally:
            lock.release()

    async def _write(self, data: bytes) -> None:
        # Send lock held. Not shielded, so a cancel is honoured at once; a write cancelled
        # (or failed, or timed out) part-way aborts the connection instead.
        if not data:
            return
        backend = self._backend
        self._driver.check_writable(self._stream_closed)
        await backend.checkpoint_if_cancelled()  # a cancel here: nothing was sent
        sent = self._stream.try_send(data)
        if sent == SENT:
            return  # taken whole at once: no timeout scope, no loop trip
        try:
            with backend.move_on_after(self._write_timeout) as scope:
                if sent == BUFFERED:
                    await self._stream.drain()  # committed: a cancel now aborts
                else:
                    await self._stream.send_all(data)
        except TransportError as exc:
            await self._abort()
            raise self._driver.write_failed("lost") from exc
        except backend.cancelled_exc_class():
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
            with self._backend.cancel_scope(shield=True):
                await self._stream.aclose_forcefully()

    async def _flush(self) -> None:
        data = self._driver.data_to_send()
        if data:
            try:
                await self._send_lock.acquire()
                try:
                    await self._write(data)
                finally:
                    self._send_lock.release()
            except ConnectionClosedError:
                self._driver.transport_lost()

    # ------------------------------------------------------------ receiving

    async def next_event(self) -> IncomingEvent:
        """The next server event (or :class:`MalformedServerEvent`).

        Raises :class:`ConnectionClosedError` (or the protocol error we closed for) once
        every event that arrived before the close has been returned.
        """
        # A buffered event is returned without a trip through the event loop (a cancel is
        # still honoured first); only an empty buffer waits, and that wait is where a
        # cancel lands.
        if len(self._buffer):
            await self._backend.checkpoint_if_cancelled()
        try:
            return await self._buffer.get()
        except BufferClosed:
            pass
        await self._reader_done.wait()
        hook_error = self._driver.take_feed_error()
        if hook_error is not None:
            raise hook_error  # the app's own exception, once; later reads get the close
        raise self._driver.end_error()

    def __aiter__(self: C) -> C:
        return self

    async def __anext__(self) -> IncomingEvent:
        # A plain iterator rather than an async generator: breaking out of ``async for``
        # leaves nothing suspended to finalise.
        try:
            return await self.next_event()
        except OairtError:
            if self._driver.iteration_ends_quietly:
                raise StopAsyncIteration from None
            raise

    async def _run(self) -> None:
        """The connection's task: the reader, and the keepalive timer when enabled."""
        if self._driver.core.next_deadline() is None:
            await self._run_reader()
            return
        async with self._backend.task_group() as tg:
            tg.start_soon(self._run_keepalive)
            try:
                await self._run_reader()
            finally:
                tg.cancel_scope.cancel()

    async def _run_reader(self) -> None:
        """Feed the core from the socket until the connection is over.

        A stream that delivers its reads (asyncio, see :meth:`_on_data`) wakes this task
        only for what needs an await; otherwise (trio, TLS) it reads with
        ``receive_some`` itself.
        """
        driver = self._driver
        delivered = self._stream.deliver_to(self._on_data)
        try:
            while True:
                held, self._held = self._held, None
                step: IncomingEvent | ConnectionClosed | NeedData
                if held is not None:
                    step, size = held
                else:
                    step, size = driver.next_step(), -1
                if isinstance(step, NeedData):
                    if driver.feeding_failed:
                        return  # the events parsed before it are buffered: now the abort
                    if not delivered:
                        await self._flush()
                        self._feed(await self._stream.receive_some(_READ_SIZE))
                    elif driver.has_data_to_send():
                        await self._flush()  # then look again: more may have arrived
                    else:
                        parked = self._parked = self._backend.event()
                        try:
                            await parked.wait()
                        finally:
                            self._parked = None
                elif isinstance(step, ConnectionClosed):
                    await self._flush()  # our close reply, or the frame failing the connection
                    return
                else:
                    if size < 0:
                        # The bytes read so far pay for this event: the buffer's byte
                        # budget counts what came off the socket.
                        size, self._unread = self._unread, 0
                    try:
                        if not self._buffer.put_nowait(step, size):  # no loop trip with room
                            self._stream.pause_receiving()  # backpressure to TCP
                            await self._buffer.put(step, size)  # blocks while it is full
                    except BufferClosed:
                        driver.discard_events()  # close() abandoned the buffer
                    # Paused above, or by _deliver for the event it held: the event is in.
                    self._stream.resume_receiving()
        finally:
            driver.reader_finished()  # the core is finished now: later reads are ignored
            self._buffer.close()
            await self._abort()
            self._reader_done.set()

    def _feed(self, data: bytes) -> None:
        """Bytes read, into the core (by the reader, or from the loop's callback)."""
        self._unread += len(data)
        try:
            self._driver.receive_data(data)
        except Exception as exc:  # an on_message hook raised: next_event raises it
            self._driver.feed_failed(exc)
        if self._timer_wake is not None:
            self._pong_check()

    # A stream that delivers its reads (asyncio): ``_on_data`` runs in the event loop for
    # each read and, while the reader task waits (``_parked``), moves the events straight
    # into the buffer. The reader wakes only for what needs an await: a full buffer, bytes
    # to write (a pong, a close reply), the end, or an error raised while feeding the core.
    # Per frame that is one task wake-up (the app's) instead of two.

    def _on_data(self, data: bytes) -> None:
        if self._driver.feeding_failed:
            return
        self._feed(data)
        if self._parked is not None:
            self._deliver()

    def _deliver(self) -> None:
        driver, buffer = self._driver, self._buffer
        while True:
            step = driver.next_step()
            if isinstance(step, NeedData):
                if driver.has_data_to_send() or driver.feeding_failed:
                    self._wake_reader()
                return
            if isinstance(step, ConnectionClosed):
                self._held = (step, 0)
                self._wake_reader()
                return
            size, self._unread = self._unread, 0
            try:
                if buffer.put_nowait(step, size):
                    continue
            except BufferClosed:
                driver.discard_events()
                continue
            self._held = (step, size)
            self._stream.pause_receiving()
            self._wake_reader()
            return

    def _wake_reader(self) -> None:
        parked, self._parked = self._parked, None
        if parked is not None:
            parked.set()

    def _pong_check(self) -> None:
        pongs = self._driver.core.keepalive_pongs
        if pongs != self._pongs_seen and self._timer_wake is not None:
            self._pongs_seen = pongs
            self._timer_wake.set()

    async def _run_keepalive(self) -> None:
        """Honour the core's keepalive deadline: ping, or end a silent connection."""
        backend = self._backend
        core = self._driver.core
        while (deadline := core.next_deadline()) is not None:
            delay = deadline - backend.current_time()
            if delay > 0:
                wake = self._timer_wake = backend.event()
                with backend.move_on_after(delay):
                    await wake.wait()
                self._timer_wake = None
                if wake.is_set():
                    continue  # a pong came: the deadline moved
            core.handle_timer(backend.current_time())
            await self._flush()
            if core.closed is not None:
                await self._abort()  # wakes the reader, which reports the close
                return

    # ------------------------------------------------------------ closing

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the WebSocket: close frame, bounded wait for the reply, socket closed.

        Idempotent. Buffered events not yet read are discarded.
        """
        self._buffer.abandon()
        try:
            try:
                async with self._send_lock:
                    await self._write(self._driver.frame_close(code, reason))
            except ConnectionClosedError:
                pass
            with self._backend.move_on_after(self._close_timeout):
                await self._reader_done.wait()
        finally:
            await self._abort()  # also when close() itself is cancelled: nothing left open
        await self._reader_done.wait()

    async def aclose(self) -> None:
        """``close(1000)``, for ``contextlib.aclosing`` and friends."""
        await self.close()


async def open_connection(backend: Backend, plan: ConnectionPlan, cls: type[C]) -> C:
    """Connect and finish the upgrade within ``connect_timeout`` (the reader not started).

    Raises :class:`HandshakeError`, :class:`RequestTimeout` or :class:`ConnectError`.
    """
    driver = plan.driver
    stream: ByteStream | None = None
    try:
        with backend.move_on_after(plan.connect_timeout) as scope:
            stream = await backend.connect_tcp(plan.host, plan.port, plan.ssl_context)
            try:
                await stream.send_all(driver.initiate())
            except TransportError as exc:
                raise plan.connect_error(exc) from exc
            while not driver.handshake_done():
                driver.receive_data(await stream.receive_some(_READ_SIZE))
    except BaseException:
        if stream is not None:
            await stream.aclose_forcefully()
        raise
    if scope.cancelled_caught:
        if stream is not None:
            await stream.aclose_forcefully()
        raise plan.timeout_error()
    assert stream is not None
    return cls(backend, plan, stream)


def start(conn: AsyncConnection, group: TaskGroup) -> None:
    """Run ``conn``'s reader (and keepalive) in ``group``."""
    group.start_soon(conn._run)
