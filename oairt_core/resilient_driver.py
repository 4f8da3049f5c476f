"""The reconnecting connection both adapters share, over a handful of I/O hooks.

:class:`ResilientDriver` holds the whole sequencing of a resilient connection:
sending through a reconnection, pumping each connection's events in order, the
notices about a connection's end, the backoff-and-retry loop and the shutdown.
It makes no decision: which close codes to recover from, the backoff, what to
re-send and what to report lost all come from the sans-IO
:class:`~oairt_core.reconnect.ReconnectState`. It does no I/O and imports no
event loop: ``oairt_anyio.resilient`` and ``oairt_trio.resilient`` subclass it
and supply the primitives (events, cancel scopes, sleeping, their channel's
exception types, which ``connect`` to call in which task group or nursery).
:func:`resilient_block` is their context manager's body, given the task group.

The sync helpers are plain functions:

>>> from oairt_core.events import ResponseCreateEvent
>>> event, stamp = stamp_event(ResponseCreateEvent(), 0)
>>> event.event_id, stamp
('oairt_rc_1', 1)
>>> is_tls_verification(ValueError("no"))
False
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeVar

import msgspec

from .connection import ConnectionClosed, IncomingEvent, MalformedServerEvent
from .driver import AsyncConnectionBase
from .errors import ConnectionClosedError, HandshakeError, OairtError
from .events import (
    ClientEvent,
    ConversationItemCreateEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ResponseCreateEvent,
)
from .reconnect import (
    RandomSource,
    ReconnectFailed,
    ReconnectNotice,
    ReconnectPhase,
    ReconnectPolicy,
    ReconnectState,
)

__all__ = [
    "ResilientDriver",
    "ResilientEvent",
    "is_tls_verification",
    "resilient_block",
    "stamp_event",
]

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


def stamp_event(event: ClientEvent, stamp: int) -> tuple[ClientEvent, int]:
    """``event`` with an ``event_id`` if it needs one and has none, and the next stamp."""
    if isinstance(event, _STAMPED) and event.event_id is msgspec.UNSET:
        stamp += 1
        return msgspec.structs.replace(event, event_id=f"oairt_rc_{stamp}"), stamp
    return event, stamp


def is_tls_verification(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a failed certificate check (never worth retrying)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class EventLike(Protocol):
    """What the driver needs of an anyio or trio event."""

    def set(self) -> None: ...
    async def wait(self) -> Any: ...


class CancelScopeLike(Protocol):
    """What the driver needs of an anyio or trio cancel scope."""

    def __enter__(self) -> Any: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any, /) -> Any: ...
    def cancel(self) -> None: ...


class SendChannel(Protocol):
    async def send(self, value: ResilientEvent, /) -> None: ...
    def close(self) -> None: ...


class ReceiveChannel(Protocol):
    async def receive(self) -> ResilientEvent: ...
    def close(self) -> None: ...


C = TypeVar("C", bound=AsyncConnectionBase)
D = TypeVar("D", bound="ResilientDriver[Any]")


class ResilientDriver(Generic[C]):
    """A Realtime connection that reconnects; the adapters' resilient classes subclass it."""

    # The adapter's channel exceptions: the buffer ended / was closed under us.
    _END: ClassVar[tuple[type[BaseException], ...]] = ()
    _GONE: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(
        self,
        state: ReconnectState,
        first: C,
        connect_kwargs: dict[str, Any],
        *,
        channel: tuple[SendChannel, ReceiveChannel],
        clock: Callable[[], float],
    ) -> None:
        self._state = state
        self._kwargs = connect_kwargs
        self._clock = clock
        self._current: C | None = first
        self._changed = self._new_event()
        self._final: OairtError | None = None
        self._closing = False
        self._stamp = 0
        self._tx, self._rx = channel
        self._done = self._new_event()
        self._scope = self._cancel_scope()
        self.connections = 1

    # ------------------------------------------------------------ the adapter's hooks

    def _new_event(self) -> EventLike:
        raise NotImplementedError

    def _cancel_scope(self, *, shield: bool = False) -> CancelScopeLike:
        raise NotImplementedError

    def _move_on_after(self, seconds: float) -> CancelScopeLike:
        raise NotImplementedError

    async def _sleep(self, seconds: float) -> None:
        raise NotImplementedError

    async def _open(self) -> C:
        """A new connection, from the adapter's ``connect`` in its task group."""
        raise NotImplementedError

    # ------------------------------------------------------------ state

    @property
    def state(self) -> ReconnectState:
        """The sans-IO reconnection state (phase, attempt, the session mirror)."""
        return self._state

    @property
    def connection(self) -> C | None:
        """The current underlying connection (None while reconnecting)."""
        return self._current

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

    # ------------------------------------------------------------ receiving

    async def next_event(self) -> ResilientEvent:
        """The next event or notice; raises once the connection is over for good."""
        try:
            return await self._rx.receive()
        except self._END:
            pass
        await self._done.wait()
        if self._final is not None:
            raise self._final
        raise ConnectionClosedError(1000, "connection closed")

    def __aiter__(self: D) -> D:
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

    # ------------------------------------------------------------ the supervisor

    def _switch(self, conn: C | None) -> None:
        self._current = conn
        changed, self._changed = self._changed, self._new_event()
        changed.set()

    async def _emit(self, item: ResilientEvent) -> bool:
        try:
            await self._tx.send(item)
            return True
        except self._GONE:
            return False

    async def _pump(self, conn: C) -> ConnectionClosed | None:
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

    async def _reconnect(self, closed: ConnectionClosed) -> C | None:
        state = self._state
        while state.phase is ReconnectPhase.WAITING:
            await self._sleep(state.delay_remaining(self._clock()))
            state.attempt_started()
            try:
                conn = await self._open()
            except HandshakeError as exc:
                notice = state.attempt_failed(
                    now=self._clock(), status_code=exc.status_code, reason=str(exc)
                )
            except OairtError as exc:
                notice = state.attempt_failed(
                    now=self._clock(), retryable=not is_tls_verification(exc), reason=str(exc)
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

    # ------------------------------------------------------------ closing

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

    async def _shutdown(self) -> None:
        """Close, shielded, and give the supervisor a moment to finish."""
        with self._cancel_scope(shield=True):
            await self.close()
            with self._move_on_after(5):
                await self._done.wait()


class TaskGroupLike(Protocol):
    """What :func:`resilient_block` needs of an anyio task group or a trio nursery."""

    def start_soon(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], /, *args: Any, name: object = None
    ) -> Any: ...
    @property
    def cancel_scope(self) -> Any: ...


G = TypeVar("G", bound=TaskGroupLike)


@asynccontextmanager
async def resilient_block(
    group: AbstractAsyncContextManager[G],
    cls: Callable[..., D],
    connect: Callable[..., Awaitable[AsyncConnectionBase]],
    *,
    policy: ReconnectPolicy | None,
    rng: RandomSource | None,
    clock: Callable[[], float],
    max_buffered_events: int,
    connect_kwargs: dict[str, Any],
) -> AsyncIterator[D]:
    """The adapters' ``connect_resilient`` / ``open_resilient`` over their task group.

    The first connection is ``await connect(group, **kwargs)``; its failure raises as
    is. It is wrapped in ``cls(state, group, first, kwargs, max_buffered_events=...,
    clock=...)`` whose supervisor runs in ``group``; leaving the block closes
    everything and leaves no task behind.
    """
    state = ReconnectState(policy or ReconnectPolicy(), rng=rng)
    kwargs = dict(connect_kwargs, max_buffered_events=max_buffered_events)
    error: BaseException | None = None
    async with group as tg:
        try:
            first = await connect(tg, **kwargs)
        except Exception as exc:
            # Raised outside the task group so it is not wrapped in an ExceptionGroup.
            error = exc
        else:
            conn = cls(
                state, tg, first, kwargs, max_buffered_events=max_buffered_events, clock=clock
            )
            tg.start_soon(conn._supervise)
            try:
                yield conn
            except Exception as exc:
                error = exc
            finally:
                await conn._shutdown()
                tg.cancel_scope.cancel()
    if error is not None:
        raise error
