"""A Realtime connection that reconnects, written once over a :class:`~._backend.Backend`.

``open_realtime(..., reconnect=ReconnectPolicy(...))`` yields one. All decisions
(which close codes to recover from, the backoff, the retry budget, what to re-send,
what to report lost) come from the sans-IO :class:`~oairt_core.reconnect.ReconnectState`;
this module only sequences them.

How it behaves:

* Events come out in order: every server event that arrived on a connection, then
  the notices about its end (:class:`ResponseLost`, :class:`InputAudioLost`,
  :class:`ItemsLost`), :class:`Reconnecting` per attempt, :class:`Reconnected`,
  then the new connection's events (``session.created`` first).
* Each reconnection is a **new session**: the merged ``session.update`` the client
  sent is re-applied (and, with ``replay_items``, the replayable conversation items
  are re-created) before any of your own events go out.
* :meth:`ReconnectingConnection.send` waits while reconnecting and sends on the new
  connection; an event whose write failed because the connection dropped is sent
  again on the new one. It raises :class:`ConnectionClosedError` once reconnection
  has given up.
* When it gives up (:class:`ReconnectFailed`: the retry budget is spent, a close code
  that is not recoverable, a refused handshake such as 401), iteration yields the
  notice and then raises :class:`ConnectionClosedError` with the last close code.
* Everything runs in the block's task group: leaving the block leaves no task behind.

>>> from oairt_core.events import ResponseCreateEvent
>>> event, stamp = stamp_event(ResponseCreateEvent(), 0)
>>> event.event_id, stamp
('oairt_rc_1', 1)
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

import msgspec

from ..connection import ConnectionClosed, ConnectionState, IncomingEvent, MalformedServerEvent
from ..errors import ConnectionClosedError, HandshakeError, OairtError
from ..events import (
    ClientEvent,
    ConversationItemCreateEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ResponseCreateEvent,
    SessionCreatedEvent,
)
from ..reconnect import ReconnectFailed, ReconnectNotice, ReconnectPhase, ReconnectState
from ._backend import Backend, Event
from ._sync import Buffer, BufferClosed
from .connection import AsyncConnection

__all__ = ["ReconnectingConnection", "ReconnectingEvent", "is_tls_verification", "stamp_event"]

ReconnectingEvent: TypeAlias = IncomingEvent | ReconnectNotice
"""What a reconnecting connection yields: server events, malformed ones, and notices."""

# Client events whose failure the server reports by echoing event_id: stamping one lets
# the mirror match the error to the request (so a refused request is not reported lost).
_STAMPED = (
    InputAudioBufferCommitEvent,
    InputAudioBufferClearEvent,
    ResponseCreateEvent,
    ConversationItemCreateEvent,
)

R = TypeVar("R", bound="ReconnectingConnection")


def stamp_event(event: ClientEvent, stamp: int) -> tuple[ClientEvent, int]:
    """``event`` with an ``event_id`` if it needs one and has none, and the next stamp."""
    if isinstance(event, _STAMPED) and event.event_id is msgspec.UNSET:
        stamp += 1
        return msgspec.structs.replace(event, event_id=f"oairt_rc_{stamp}"), stamp
    return event, stamp


def is_tls_verification(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a failed certificate check (never worth retrying).

    >>> is_tls_verification(ValueError("no"))
    False
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ReconnectingConnection:
    """A Realtime connection that reconnects (see the module docstring)."""

    def __init__(
        self,
        backend: Backend,
        state: ReconnectState,
        first: AsyncConnection,
        open_next: Callable[[], Awaitable[AsyncConnection]],
        *,
        max_buffered_events: int,
    ) -> None:
        self._backend = backend
        self._state = state
        self._open_next = open_next
        self._current: AsyncConnection | None = first
        self._changed: Event = backend.event()
        self._final: OairtError | None = None
        self._hook_error: Exception | None = None
        self._closing = False
        self._stamp = 0
        self._buffer: Buffer[ReconnectingEvent] = Buffer(backend, max_buffered_events)
        self._done = backend.event()
        self._scope = backend.cancel_scope()
        self.connections = 1
        # Taken as each session.created is pumped: the events are buffered, and the
        # connection that sent the one being read may be gone (or replaced) by then.
        self._session_expires_at: int | None = None

    # ------------------------------------------------------------ state

    @property
    def reconnect_state(self) -> ReconnectState:
        """The sans-IO reconnection state (phase, attempt, the session mirror)."""
        return self._state

    @property
    def connection(self) -> AsyncConnection | None:
        """The current underlying connection (None while reconnecting)."""
        return self._current

    @property
    def is_sideband(self) -> bool:
        return self._current.is_sideband if self._current is not None else False

    @property
    def state(self) -> ConnectionState:
        conn = self._current
        if conn is not None:
            return conn.state
        return (
            ConnectionState.CLOSED if self._final or self._closing else ConnectionState.CONNECTING
        )

    @property
    def closed(self) -> ConnectionClosed | None:
        """How the session ended for good (None while it lives or reconnects)."""
        if not self._done.is_set():
            return None
        if self._final is not None:
            code = getattr(self._final, "code", 1006)
            return ConnectionClosed(code, str(self._final), clean=False)
        return ConnectionClosed(1000, "connection closed", initiated_locally=self._closing)

    @property
    def session_expires_at(self) -> int | None:
        """``session.expires_at`` (unix seconds) of the latest server session's ``session.created``.

        Each reconnection starts a new server session with its own expiry: this is the
        one of the last ``session.created`` that came through, kept while reconnecting
        (None before the first, or when the server sent none). See
        :attr:`AsyncConnection.session_expires_at`.
        """
        return self._session_expires_at

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(phase={self._state.phase.value}, "
            f"connections={self.connections}, current={self._current!r})"
        )

    # ------------------------------------------------------------ sending

    async def send(self, event: ClientEvent) -> None:
        """Send on the current connection, waiting through a reconnection if need be."""
        event, self._stamp = stamp_event(event, self._stamp)
        while True:
            if self._final is not None:
                raise self._final
            if self._closing:
                raise ConnectionClosedError(1000, "connection closed by the client")
            conn = self._current
            changed = self._changed
            if conn is None:
                await changed.wait()
                continue
            try:
                await conn.send(event)
            except ConnectionClosedError:
                # The connection dropped under us; the supervisor will notice in order.
                if self._current is conn and not self._closing:
                    await changed.wait()
                continue
            self._state.client_event(event)
            return

    async def send_raw(self, text: str) -> None:
        """Send ``text`` on the current connection (not tracked, not re-sent)."""
        while True:
            conn = self._current
            if self._final is not None:
                raise self._final
            if self._closing:
                raise ConnectionClosedError(1000, "connection closed by the client")
            if conn is None:
                await self._changed.wait()
                continue
            await conn.send_raw(text)
            return

    # ------------------------------------------------------------ receiving

    async def next_event(self) -> ReconnectingEvent:
        """The next event or notice; raises once the connection is over for good."""
        try:
            return await self._buffer.get()
        except BufferClosed:
            pass
        await self._done.wait()
        hook_error, self._hook_error = self._hook_error, None
        if hook_error is not None:
            raise hook_error  # once; later calls raise the close
        if self._final is not None:
            raise self._final
        raise ConnectionClosedError(1000, "connection closed")

    def __aiter__(self: R) -> R:
        return self

    async def __anext__(self) -> ReconnectingEvent:
        try:
            return await self.next_event()
        except ConnectionClosedError:
            if self._final is None:
                raise StopAsyncIteration from None  # we closed, or the server said 1000
            raise

    # ------------------------------------------------------------ the supervisor

    def _switch(self, conn: AsyncConnection | None) -> None:
        self._current = conn
        changed, self._changed = self._changed, self._backend.event()
        changed.set()

    async def _emit(self, item: ReconnectingEvent) -> bool:
        try:
            await self._buffer.put(item)
            return True
        except BufferClosed:
            return False

    async def _pump(self, conn: AsyncConnection) -> ConnectionClosed | None:
        """Forward one connection's events until it ends; how it ended."""
        while True:
            try:
                event = await conn.next_event()
            except OairtError:
                return conn.closed
            except Exception as exc:
                # The app's on_message hook raised: not a drop, so no reconnection. The
                # app gets the exception itself from next_event.
                self._hook_error = exc
                self._final = ConnectionClosedError(
                    1006, f"the on_message hook raised {type(exc).__name__}"
                )
                return None
            if type(event) is SessionCreatedEvent:
                self._session_expires_at = conn.session_expires_at
            if not isinstance(event, MalformedServerEvent):
                self._state.server_event(event, now=self._backend.current_time())
            if not await self._emit(event):
                return None

    async def _supervise(self) -> None:
        try:
            with self._scope:
                await self._run()
        finally:
            self._buffer.close()
            self._switch(None)
            self._done.set()

    async def _run(self) -> None:
        state = self._state
        conn = self._current
        while conn is not None:
            closed = await self._pump(conn)
            if self._closing or closed is None:
                return
            self._switch(None)
            await conn.close()  # already over: this only releases its buffer (idempotent)
            if closed.initiated_locally and closed.error is None:
                return
            now = self._backend.current_time()
            notices = state.disconnected(closed.code, now=now, reason=closed.reason)
            if closed.clean and closed.code == 1000 and closed.error is None:
                # A normal close by the server: report what was lost, then end quietly.
                for notice in notices[:-1]:
                    await self._emit(notice)
                return
            for notice in notices:
                if not await self._emit(notice):
                    return
            if isinstance(notices[-1], ReconnectFailed):
                self._final = closed.exception()
                return
            conn = await self._reconnect(closed)

    async def _reconnect(self, closed: ConnectionClosed) -> AsyncConnection | None:
        state = self._state
        clock = self._backend.current_time
        while state.phase is ReconnectPhase.WAITING:
            await self._backend.sleep(state.delay_remaining(clock()))
            state.attempt_started()
            try:
                conn = await self._open_next()
            except HandshakeError as exc:
                notice = state.attempt_failed(
                    now=clock(), status_code=exc.status_code, reason=str(exc)
                )
            except OairtError as exc:
                notice = state.attempt_failed(
                    now=clock(), retryable=not is_tls_verification(exc), reason=str(exc)
                )
            else:
                self.connections += 1
                events, notices = state.connected(now=clock())
                try:
                    for event in events:
                        await conn.send(event)
                except ConnectionClosedError:
                    pass  # it died at once; the pump sees the close and tries again
                for n in notices:
                    if not await self._emit(n):
                        return None
                self._switch(conn)
                return conn
            if not await self._emit(notice):
                return None
            if isinstance(notice, ReconnectFailed):
                self._final = ConnectionClosedError(closed.code, notice.reason or closed.reason)
                return None
        return None

    # ------------------------------------------------------------ closing

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close for good (no reconnection): the current connection, then the supervisor."""
        self._closing = True
        self._buffer.abandon()
        conn = self._current
        if conn is not None:
            await conn.close(code, reason)
        # Stop a backoff or an attempt in progress; wake senders waiting for a reconnection.
        self._scope.cancel()
        self._switch(self._current)

    async def aclose(self) -> None:
        await self.close()

    async def _shutdown(self) -> None:
        """Close, shielded, and give the supervisor a moment to finish."""
        with self._backend.cancel_scope(shield=True):
            await self.close()
            with self._backend.move_on_after(5):
                await self._done.wait()
