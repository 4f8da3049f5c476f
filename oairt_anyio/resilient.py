"""Opt-in reconnection on anyio: a Realtime connection that survives dropped connections.

>>> async def main() -> None:  # doctest: +SKIP
...     policy = ReconnectPolicy(max_attempts=5, replay_items=True)
...     async with connect_resilient(api_key="sk-...", model="gpt-realtime", policy=policy) as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             if isinstance(event, (ResponseLost, InputAudioLost)):
...                 ...  # tell the user, re-send the audio, ask again
...             print(type(event).__name__)

All decisions (which close codes to recover from, the backoff, what to re-send,
what to report lost) are made by :class:`oairt_core.reconnect.ReconnectState`;
this module only opens connections, sleeps and moves events.

How it behaves:

* Events come out in order: every server event that arrived on a connection, then
  the notices about its end (:class:`ResponseLost`, :class:`InputAudioLost`,
  :class:`ItemsLost`), :class:`Reconnecting` per attempt, :class:`Reconnected`,
  then the new connection's events (``session.created`` first). Reconnection
  happens in that order, so keep reading events.
* Each reconnection is a **new session**: the merged ``session.update`` the client
  sent is re-applied (and, with ``replay_items``, the replayable conversation items
  are re-created) before any of your own events go out.
* :meth:`ResilientConnection.send` waits while reconnecting and sends on the new
  connection; an event whose write failed because the connection dropped is sent
  again on the new one (it belongs to the new session). It raises
  :class:`ConnectionClosedError` once reconnection has given up.
* When it gives up (:class:`ReconnectFailed`, a close code that is not recoverable,
  a refused handshake such as 401), iteration yields the notice and then raises
  :class:`ConnectionClosedError` with the last close code.
* Everything runs in the block's task group: leaving the block leaves no task behind.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import anyio
import anyio.abc
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from oairt_core.connection import ConnectionClosed, IncomingEvent, MalformedServerEvent
from oairt_core.errors import ConnectionClosedError, HandshakeError, OairtError
from oairt_core.events import (
    ClientEvent,
    ConversationItemCreateEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ResponseCreateEvent,
)
from oairt_core.reconnect import (
    RandomSource,
    ReconnectFailed,
    ReconnectNotice,
    ReconnectPhase,
    ReconnectPolicy,
    ReconnectState,
)

from .connection import AnyioConnection, start_connection

__all__ = ["ResilientConnection", "ResilientEvent", "connect_resilient"]

ResilientEvent: TypeAlias = IncomingEvent | ReconnectNotice
"""What a resilient connection yields: server events, malformed ones, and notices."""

# Client events whose failure the server reports by echoing event_id: stamping one lets
# the mirror match the error to the request (so a refused request is not reported lost).
_STAMPED = (
    InputAudioBufferCommitEvent,
    InputAudioBufferClearEvent,
    ResponseCreateEvent,
    ConversationItemCreateEvent,
)


def _is_tls_verification(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class ResilientConnection:
    """A Realtime connection that reconnects; get one from :func:`connect_resilient`."""

    def __init__(
        self,
        state: ReconnectState,
        task_group: anyio.abc.TaskGroup,
        first: AnyioConnection,
        connect_kwargs: dict[str, Any],
        *,
        max_buffered_events: int,
        clock: Callable[[], float],
    ) -> None:
        self._state = state
        self._tg = task_group
        self._kwargs = connect_kwargs
        self._clock = clock
        self._current: AnyioConnection | None = first
        self._changed = anyio.Event()
        self._final: OairtError | None = None
        self._closing = False
        self._stamp = 0
        tx, rx = anyio.create_memory_object_stream[ResilientEvent](max_buffered_events)
        self._tx: MemoryObjectSendStream[ResilientEvent] = tx
        self._rx: MemoryObjectReceiveStream[ResilientEvent] = rx
        self._done = anyio.Event()
        self._scope = anyio.CancelScope()
        self.connections = 1

    @property
    def state(self) -> ReconnectState:
        """The sans-IO reconnection state (phase, attempt, the session mirror)."""
        return self._state

    @property
    def connection(self) -> AnyioConnection | None:
        """The current underlying connection (None while reconnecting)."""
        return self._current

    def __repr__(self) -> str:
        return (
            f"ResilientConnection(phase={self._state.phase.value}, "
            f"connections={self.connections}, current={self._current!r})"
        )

    # -- sending -------------------------------------------------------------------------

    def _stamped(self, event: ClientEvent) -> ClientEvent:
        if isinstance(event, _STAMPED) and event.event_id is msgspec.UNSET:
            self._stamp += 1
            return msgspec.structs.replace(event, event_id=f"oairt_rc_{self._stamp}")
        return event

    async def send(self, event: ClientEvent) -> None:
        """Send on the current connection, waiting through a reconnection if need be."""
        event = self._stamped(event)
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

    # -- receiving -----------------------------------------------------------------------

    async def next_event(self) -> ResilientEvent:
        """The next event or notice; raises once the connection is over for good."""
        try:
            return await self._rx.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            pass
        await self._done.wait()
        if self._final is not None:
            raise self._final
        raise ConnectionClosedError(1000, "connection closed")

    def __aiter__(self) -> ResilientConnection:
        return self

    async def __anext__(self) -> ResilientEvent:
        # A plain iterator, not an async generator: breaking out of ``async for`` leaves
        # nothing suspended to finalise.
        try:
            return await self.next_event()
        except ConnectionClosedError:
            if self._final is None:
                raise StopAsyncIteration from None  # we closed, or the server said 1000
            raise

    # -- the supervisor ------------------------------------------------------------------

    def _switch(self, conn: AnyioConnection | None) -> None:
        self._current = conn
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def _emit(self, item: ResilientEvent) -> bool:
        try:
            await self._tx.send(item)
            return True
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False

    async def _pump(self, conn: AnyioConnection) -> ConnectionClosed | None:
        """Forward one connection's events until it ends; how it ended."""
        while True:
            try:
                event = await conn.next_event()
            except OairtError:
                return conn.closed
            if not isinstance(event, MalformedServerEvent):
                self._state.server_event(event)
            if not await self._emit(event):
                return None

    async def _supervise(self) -> None:
        try:
            with self._scope:
                await self._run()
        finally:
            self._tx.close()
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
            notices = state.disconnected(closed.code, now=self._clock(), reason=closed.reason)
            if closed.clean and closed.code in (1000,) and closed.error is None:
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

    async def _reconnect(self, closed: ConnectionClosed) -> AnyioConnection | None:
        state = self._state
        while state.phase is ReconnectPhase.WAITING:
            await anyio.sleep(state.delay_remaining(self._clock()))
            state.attempt_started()
            try:
                conn = await start_connection(self._tg, **self._kwargs)
            except HandshakeError as exc:
                notice = state.attempt_failed(
                    now=self._clock(), status_code=exc.status_code, reason=str(exc)
                )
            except OairtError as exc:
                notice = state.attempt_failed(
                    now=self._clock(), retryable=not _is_tls_verification(exc), reason=str(exc)
                )
            else:
                self.connections += 1
                events, notices = state.connected(now=self._clock())
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

    # -- closing -------------------------------------------------------------------------

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close for good (no reconnection): the current connection, then the supervisor."""
        self._closing = True
        self._rx.close()
        conn = self._current
        if conn is not None:
            await conn.close(code, reason)
        # Stop a backoff or an attempt in progress; wake senders waiting for a reconnection.
        self._scope.cancel()
        self._switch(self._current)

    async def aclose(self) -> None:
        await self.close()


@asynccontextmanager
async def connect_resilient(
    *,
    policy: ReconnectPolicy | None = None,
    rng: RandomSource | None = None,
    clock: Callable[[], float] | None = None,
    max_buffered_events: int = 256,
    **connect_kwargs: Any,
) -> AsyncIterator[ResilientConnection]:
    """Like :func:`oairt_anyio.connect` (same keyword arguments), reconnecting per ``policy``.

    The first connection is opened before the block starts; its failure raises as with
    ``connect`` (reconnection is for connections that were up). ``rng`` (jitter) and
    ``clock`` (defaults to ``anyio.current_time``) are injectable for tests.
    """
    state = ReconnectState(policy or ReconnectPolicy(), rng=rng)
    kwargs = dict(connect_kwargs, max_buffered_events=max_buffered_events)
    error: BaseException | None = None
    async with anyio.create_task_group() as tg:
        try:
            first = await start_connection(tg, **kwargs)
        except Exception as exc:
            # Raised outside the task group so it is not wrapped in an ExceptionGroup.
            error = exc
        else:
            conn = ResilientConnection(
                state,
                tg,
                first,
                kwargs,
                max_buffered_events=max_buffered_events,
                clock=clock or anyio.current_time,
            )
            tg.start_soon(conn._supervise)
            try:
                yield conn
            except Exception as exc:
                error = exc
            finally:
                with anyio.CancelScope(shield=True):
                    await conn.close()
                    with anyio.move_on_after(5):
                        await conn._done.wait()
                tg.cancel_scope.cancel()
    if error is not None:
        raise error
