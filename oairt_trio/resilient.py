"""Opt-in reconnection on trio: a Realtime connection that survives dropped connections.

>>> async def main() -> None:  # doctest: +SKIP
...     policy = ReconnectPolicy(max_attempts=5, replay_items=True)
...     async with open_resilient(api_key="sk-...", model="gpt-realtime", policy=policy) as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             if isinstance(event, (ResponseLost, InputAudioLost)):
...                 ...  # tell the user, re-send the audio, ask again
...             print(type(event).__name__)

The trio twin of :mod:`oairt_anyio.resilient` (same behaviour, see its docstring):
decisions come from :class:`oairt_core.reconnect.ReconnectState`; this module opens
connections with :func:`oairt_trio.connect_realtime` in its own nursery, sleeps with
``trio.sleep`` and moves events through a bounded memory channel.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeAlias

import msgspec
import trio

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

from .connection import TrioConnection, connect_realtime

__all__ = ["ResilientTrioConnection", "ResilientEvent", "open_resilient"]

ResilientEvent: TypeAlias = IncomingEvent | ReconnectNotice
"""What a resilient connection yields: server events, malformed ones, and notices."""

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


class ResilientTrioConnection:
    """A Realtime connection that reconnects; get one from :func:`open_resilient`."""

    def __init__(
        self,
        state: ReconnectState,
        nursery: trio.Nursery,
        first: TrioConnection,
        connect_kwargs: dict[str, Any],
        *,
        max_buffered_events: int,
        clock: Callable[[], float],
    ) -> None:
        self._state = state
        self._nursery = nursery
        self._kwargs = connect_kwargs
        self._clock = clock
        self._current: TrioConnection | None = first
        self._changed = trio.Event()
        self._final: OairtError | None = None
        self._closing = False
        self._stamp = 0
        self._tx, self._rx = trio.open_memory_channel[ResilientEvent](max_buffered_events)
        self._done = trio.Event()
        self._scope = trio.CancelScope()
        self.connections = 1

    @property
    def state(self) -> ReconnectState:
        """The sans-IO reconnection state (phase, attempt, the session mirror)."""
        return self._state

    @property
    def connection(self) -> TrioConnection | None:
        """The current underlying connection (None while reconnecting)."""
        return self._current

    def __repr__(self) -> str:
        return (
            f"ResilientTrioConnection(phase={self._state.phase.value}, "
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
        except (trio.EndOfChannel, trio.ClosedResourceError):
            pass
        await self._done.wait()
        if self._final is not None:
            raise self._final
        raise ConnectionClosedError(1000, "connection closed")

    def __aiter__(self) -> ResilientTrioConnection:
        return self

    async def __anext__(self) -> ResilientEvent:
        try:
            return await self.next_event()
        except ConnectionClosedError:
            if self._final is None:
                raise StopAsyncIteration from None
            raise

    # -- the supervisor ------------------------------------------------------------------

    def _switch(self, conn: TrioConnection | None) -> None:
        self._current = conn
        changed, self._changed = self._changed, trio.Event()
        changed.set()

    async def _emit(self, item: ResilientEvent) -> bool:
        try:
            await self._tx.send(item)
            return True
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return False

    async def _pump(self, conn: TrioConnection) -> ConnectionClosed | None:
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
            if closed.clean and closed.code == 1000 and closed.error is None:
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

    async def _reconnect(self, closed: ConnectionClosed) -> TrioConnection | None:
        state = self._state
        while state.phase is ReconnectPhase.WAITING:
            await trio.sleep(state.delay_remaining(self._clock()))
            state.attempt_started()
            try:
                conn = await connect_realtime(self._nursery, **self._kwargs)
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
        self._scope.cancel()
        self._switch(self._current)

    async def aclose(self) -> None:
        await self.close()


@asynccontextmanager
async def open_resilient(
    *,
    policy: ReconnectPolicy | None = None,
    rng: RandomSource | None = None,
    clock: Callable[[], float] | None = None,
    max_buffered_events: int = 256,
    **connect_kwargs: Any,
) -> AsyncIterator[ResilientTrioConnection]:
    """Like :func:`oairt_trio.open_realtime` (same keyword arguments), reconnecting per
    ``policy``. The first connection's failure raises as with ``open_realtime``.
    """
    state = ReconnectState(policy or ReconnectPolicy(), rng=rng)
    kwargs = dict(connect_kwargs, max_buffered_events=max_buffered_events)
    error: BaseException | None = None
    async with trio.open_nursery() as nursery:
        try:
            first = await connect_realtime(nursery, **kwargs)
        except Exception as exc:
            error = exc  # raised outside the nursery: no ExceptionGroup
        else:
            conn = ResilientTrioConnection(
                state,
                nursery,
                first,
                kwargs,
                max_buffered_events=max_buffered_events,
                clock=clock or trio.current_time,
            )
            nursery.start_soon(conn._supervise)
            try:
                yield conn
            except Exception as exc:
                error = exc
            finally:
                with trio.CancelScope(shield=True):
                    await conn.close()
                    with trio.move_on_after(5):
                        await conn._done.wait()
                nursery.cancel_scope.cancel()
    if error is not None:
        raise error
