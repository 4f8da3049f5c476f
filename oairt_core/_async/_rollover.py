"""Session rollover for a live voice session, written once over a :class:`~._backend.Backend`.

``open_voice(..., rollover=RolloverPolicy(...))`` runs the session over a
:class:`RolloverConnection`: a connection that moves the call to a fresh server
session before the server's cap (GA: 60 minutes). The decisions (when the window
opens, what a quiet moment is, what to carry over, what was lost) come from the
sans-IO :class:`~oairt_core._rollover.RolloverState`; this module sequences them:

1. When the window opens (``before`` seconds ahead of the cap) a **standby**
   connection is opened in the background and its ``session.created`` read.
2. At the first **quiet moment** after that (checked after every event, when the
   assistant's audio will have played out, and when the app reports playback) the
   switch happens: under the session's lock, the carry-over (``session.update``, the
   conversation as text, the last input audio) goes to the standby, which becomes
   the connection; the old one is closed with 1000.
3. If the server's cap comes first (``session_expired``, then close 1001), the switch
   happens then, with the least loss (see :meth:`RolloverState.plan`).

While it switches, events the app sends (audio above all) are held and sent on the
new session after the carry-over, in order; sends never wait. Beyond
``max_held_bytes`` of held audio (about 10 s: only a switch stuck that long, at the
cap, gets there) the oldest held audio is dropped and reported in the notice's
``lost``. The app's ``async for`` sees one
:class:`~oairt_core._rollover.SessionRolledOver` notice per switch, and nothing else
of it: the new session's ``session.created``, the acknowledgements of the carried
items and the old session's ``session_expired`` error are consumed here.

A session joined with ``call_id`` (WebRTC/SIP sideband) cannot roll over: the call
belongs to its server session.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from .._conversation import SessionMirror
from .._log import get_logger
from .._rollover import (
    RolloverPlan,
    RolloverPolicy,
    RolloverReason,
    RolloverState,
    is_session_expired,
)
from .._voice_audio import bytes_per_ms
from ..connection import ConnectionClosed, ConnectionState, IncomingEvent, MalformedServerEvent
from ..errors import ConnectionClosedError, OairtError
from ..events import (
    ClientEvent,
    ConversationItemAddedEvent,
    ConversationItemCreatedEvent,
    ConversationItemDoneEvent,
    InputAudioBufferAppendEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from ..models import ConversationItem
from ..reconnect import (
    InputAudioLost,
    ItemsLost,
    Reconnected,
    ReconnectFailed,
    Reconnecting,
    ResponseLost,
)

if TYPE_CHECKING:
    from .._session import VoiceSession
    from ._backend import Backend, CancelScope, Event, TaskGroup
    from ._sync import Lock

__all__ = ["RolloverConnection"]

log = get_logger("rollover")

_ITEM_ACKS = (ConversationItemAddedEvent, ConversationItemDoneEvent, ConversationItemCreatedEvent)
_NOTICES = (Reconnecting, Reconnected, ResponseLost, InputAudioLost, ItemsLost, ReconnectFailed)

#: Events held while switching, in bytes of audio (about 10 s of 24 kHz PCM16).
DEFAULT_MAX_HELD_BYTES = 480_000
#: Attempts to open a connection at the cap before the session ends.
CAP_ATTEMPTS = 3
#: ... with this many seconds more between each (the call is silent meanwhile).
CAP_BACKOFF = 0.25
#: After a standby failed to open, wait this long before the next try (seconds).
STANDBY_RETRY = 1.0
#: At the cap the summary hook gets this long (seconds); then the history is carried.
SUMMARY_TIMEOUT = 5.0


class _Standby(msgspec.Struct):
    conn: Any
    created_at: float
    created: SessionCreatedEvent
    # session.expires_at and the wall clock when it was read, for the new session's cap.
    expires_at: int | None = None
    wall_at: float | None = None


def _kind(item: ConversationItem) -> tuple[str, str | None]:
    return type(item).__name__, getattr(item, "role", None)


class RolloverConnection:
    """The voice session's connection, moved to a fresh session before the cap.

    ``first`` is the connection opened by ``open_voice`` (plain or reconnecting);
    ``open_next()`` opens another the same way. :meth:`attach` gives it the voice
    session it serves (its state is read for quiet moments and the carry-over).
    """

    def __init__(
        self,
        backend: Backend,
        policy: RolloverPolicy,
        first: Any,
        open_next: Callable[[], Awaitable[Any]],
        group: TaskGroup,
        *,
        max_held_bytes: int = DEFAULT_MAX_HELD_BYTES,
    ) -> None:
        self._backend = backend
        self.policy = policy
        self._current: Any = first
        self._open_next = open_next
        self._group = group
        self._max_held = max_held_bytes
        self._core: VoiceSession | None = None
        self._lock: Lock | None = None
        #: the sans-IO rollover state (made by :meth:`attach`: it needs the input format)
        self.rollover: RolloverState | None = None
        self._notices: deque[Any] = deque()
        # Switching: sends are held, then flushed to the new session in order.
        self._switching = False
        self._switched: Event = backend.event()
        self._held: deque[ClientEvent] = deque()
        self._held_bytes = 0
        self._held_dropped = 0  # audio bytes dropped from a full hold (reported lost)
        # The standby connection and its opening task.
        self._standby: _Standby | None = None
        self._opening = False
        self._standby_changed: Event = backend.event()
        self._retry_at = 0.0
        self._last_error: OairtError | None = None
        # The reader's wait for an event; cancelled to make it look again.
        self._wait: CancelScope | None = None
        # The new session's acknowledgements of the carry-over, consumed here.
        self._ack_update = False
        self._ack_items: dict[type, deque[tuple[str, str | None]]] = {}
        self._closing = False
        self._cap_seen = False
        self._pending_cap = False
        self.connections = 1

    def attach(self, core: VoiceSession, lock: Lock) -> None:
        """The voice session this connection serves, and its lock."""
        self._core = core
        self._lock = lock
        self.rollover = RolloverState(
            self.policy, bytes_per_ms=bytes_per_ms(core.config.input_format)
        )

    # ------------------------------------------------------------ the connection protocol

    @property
    def connection(self) -> Any:
        """The connection of the current server session."""
        return self._current

    @property
    def state(self) -> ConnectionState:
        state: ConnectionState = self._current.state
        return state

    @property
    def is_sideband(self) -> bool:
        return bool(self._current.is_sideband)

    @property
    def closed(self) -> ConnectionClosed | None:
        closed: ConnectionClosed | None = self._current.closed
        return closed

    def __repr__(self) -> str:
        done = self.rollover.rollovers if self.rollover else 0
        return (
            f"{type(self).__name__}(connections={self.connections}, "
            f"rollovers={done}, current={self._current!r})"
        )

    async def send(self, event: ClientEvent) -> None:
        """Send on the current session; while switching, hold it for the new one."""
        while True:
            if self._switching:
                self._hold(event)
                return
            conn = self._current
            if self.rollover is not None:
                # Recorded before the write: audio racing a switch is in the tail re-sent.
                self.rollover.client_event(event)
            try:
                await conn.send(event)
                return
            except ConnectionClosedError:
                if self._closing:
                    raise
                if conn is self._current and not self._switching:
                    if not self._cap_close(conn):
                        raise
                    # The cap closed the session before the reader saw it: hold until
                    # the reader rolls over (or the call ends).
                    self._switching = True
                # The old session ended under a switch: the event goes to the new one.
                continue

    def _hold(self, event: ClientEvent) -> None:
        # Never waits: the sender may hold the session lock the switch needs. Beyond the
        # bound the oldest held audio goes (and is reported lost); other events are small.
        self._held.append(event)
        if isinstance(event, InputAudioBufferAppendEvent):
            self._held_bytes += len(event.audio)
        while self._held_bytes > self._max_held:
            oldest = next(e for e in self._held if isinstance(e, InputAudioBufferAppendEvent))
            self._held.remove(oldest)
            self._held_bytes -= len(oldest.audio)
            self._held_dropped += len(oldest.audio)

    async def send_raw(self, text: str) -> None:
        while self._switching:
            await self._switched.wait()
        await self._current.send_raw(text)

    def kick(self) -> None:
        """Something the quiet check reads changed (the app reported playback): look again."""
        if self._wait is not None:
            self._wait.cancel()

    async def next_event(self) -> IncomingEvent | Any:
        """The next server event of the current session, or a :class:`SessionRolledOver`."""
        while True:
            if self._notices:
                return self._notices.popleft()
            if self._pending_cap and not self._closing:
                self._pending_cap = False
                await self._roll("cap")
                continue
            state, core = self.rollover, self._core
            now = self._backend.current_time()
            timeout: float | None = None
            if state is not None and core is not None and not self._closing:
                if self._wants_standby(now):
                    self._opening = True
                    self._group.start_soon(self._open_standby)
                quiet = state.should_roll_over(
                    core.conversation, core.playback, now, core.tools.unfinished
                )
                if quiet and self._standby is not None:
                    await self._roll("quiet")
                    if self._notices:
                        continue
                    # Not rolled (no longer quiet): wait for the next event before looking again.
                check = state.next_check(core.playback, now)
                if check is not None:
                    timeout = max(0.0, check - now)
                if self._standby is None and not self._opening and self._retry_at > now:
                    # A standby failed to open: try again at _retry_at.
                    wait = self._retry_at - now
                    timeout = wait if timeout is None else min(timeout, wait)
            conn = self._current
            scope = self._backend.move_on_after(timeout)
            self._wait = scope
            try:
                with scope:
                    event = await conn.next_event()
            except ConnectionClosedError as exc:
                if conn is not self._current:
                    continue  # the old session, already replaced
                if self._at_cap(exc) and not self._closing:
                    await self._roll("cap")
                    continue
                raise
            finally:
                self._wait = None
            if scope.cancelled_caught or conn is not self._current:
                continue
            if self._consume(event):
                continue
            return event

    def __aiter__(self) -> RolloverConnection:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.next_event()
        except ConnectionClosedError:
            closed = self.closed
            if closed is not None and closed.normal:
                raise StopAsyncIteration from None
            raise

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close for good: the current session's connection and the standby."""
        self._closing = True
        self._switching = False
        self._wake_senders()
        self.kick()
        standby, self._standby = self._standby, None
        if standby is not None:
            await standby.conn.close()
        await self._current.close(code, reason)

    async def aclose(self) -> None:
        await self.close()

    # ------------------------------------------------------------ internals

    def _cap_close(self, conn: Any) -> bool:
        closed = conn.closed
        if closed is None or self.rollover is None or closed.code != 1001:
            return False
        return self._cap_seen or self.rollover.watching(self._backend.current_time())

    def _at_cap(self, exc: ConnectionClosedError) -> bool:
        # A 1001 after the session_expired error, or one at the deadline without it (an
        # intermediary dropped the error): the cap.
        if self.rollover is None or getattr(exc, "code", None) != 1001:
            return False
        return self._cap_seen or self.rollover.watching(self._backend.current_time())

    def _consume(self, event: Any) -> bool:
        """Record a server event; True when the app must not see it."""
        state, core = self.rollover, self._core
        if state is None or core is None or isinstance(event, (MalformedServerEvent, *_NOTICES)):
            return False  # not a server event: a reconnection notice is the app's
        state.server_event(event)
        if isinstance(event, SessionCreatedEvent):
            # The first session's start, or (reconnect=) a new session after a drop.
            now = self._backend.current_time()
            # The server's own expiry, if earlier than the policy's session_limit, wins.
            expires_at = self._current.session_expires_at
            wall_now = self._backend.wall_time()
            if state.deadline is None:
                state.session_created(now=now, expires_at=expires_at, wall_now=wall_now)
            else:
                state.reconnected(now=now, expires_at=expires_at, wall_now=wall_now)
            return False
        if is_session_expired(event):
            # The cap: switch as soon as this returns (the close 1001 follows).
            self._cap_seen = True
            self._switching = True  # hold the app's sends from now on
            self._pending_cap = True
            return True
        if isinstance(event, SessionUpdatedEvent) and self._ack_update:
            self._ack_update = False
            core.conversation.server_event(event)
            return True
        if isinstance(
            event,
            (ConversationItemAddedEvent, ConversationItemDoneEvent, ConversationItemCreatedEvent),
        ):
            expected = self._ack_items.get(type(event))
            if expected:
                if expected[0] == _kind(event.item):
                    expected.popleft()
                    core.conversation.server_event(event)
                    return True
                expected.clear()  # not ours: stop guessing
        return False

    def _wants_standby(self, now: float) -> bool:
        state = self.rollover
        return (
            state is not None
            and state.watching(now)
            and self._standby is None
            and not self._opening
            and now >= self._retry_at
            and not self._closing
        )

    async def _open_standby(self) -> None:
        self._opening = True
        try:
            conn = await self._open_next()
            try:
                first = await conn.next_event()
                if not isinstance(first, SessionCreatedEvent):
                    raise ConnectionClosedError(1002, "the new session did not start")
            except BaseException:
                with self._backend.cancel_scope(shield=True):
                    await conn.close()
                raise
            self.connections += 1
            self._standby = _Standby(
                conn,
                self._backend.current_time(),
                first,
                expires_at=conn.session_expires_at,
                wall_at=self._backend.wall_time(),
            )
        except OairtError as exc:
            log.warning("could not open the next session: %s", exc)
            self._last_error = exc
            self._retry_at = self._backend.current_time() + STANDBY_RETRY
        finally:
            self._opening = False
            changed, self._standby_changed = self._standby_changed, self._backend.event()
            changed.set()
            self.kick()

    async def _take_standby(self, attempts: int) -> _Standby:
        for attempt in range(attempts):
            if attempt:
                await self._backend.sleep(CAP_BACKOFF * attempt)
            while self._opening:
                await self._standby_changed.wait()
            if self._standby is not None:
                standby, self._standby = self._standby, None
                return standby
            self._opening = True
            await self._open_standby()
            if self._standby is not None:
                standby, self._standby = self._standby, None
                return standby
        raise self._last_error or ConnectionClosedError(1006, "could not open the next session")

    async def _summary(self) -> tuple[str | None, str | None]:
        summarize = self.policy.summarize
        if summarize is None or self.rollover is None or self._core is None:
            return None, None
        items = self.rollover.summary_input(self._core.conversation, self._core.playback)
        try:
            answer: Any = summarize(items)
            if inspect.isawaitable(answer):
                answer = await answer
        except Exception as exc:  # the app's hook: carry the history instead
            log.error("the rollover summary hook raised", exc_info=exc)
            return None, f"{type(exc).__name__}: {exc}"
        if not isinstance(answer, str):
            return None, f"summarize returned {type(answer).__name__}, not str"
        return answer, None

    async def _roll(self, reason: RolloverReason) -> None:
        state, core, lock = self.rollover, self._core, self._lock
        assert state is not None and core is not None and lock is not None
        at_cap = reason == "cap"
        standby = self._standby
        if not at_cap:
            assert standby is not None
            # Summarise while the old session still takes the app's events.
            summary, summary_error = await self._summary()
        self._switching = True
        try:
            if at_cap:
                standby = await self._take_standby(CAP_ATTEMPTS)  # raises: the call ends
                scope = self._backend.move_on_after(SUMMARY_TIMEOUT)
                summary, summary_error = None, "the summary hook took too long"
                with scope:
                    summary, summary_error = await self._summary()
            assert standby is not None
            async with lock:
                now = self._backend.current_time()
                tools = core.tools.unfinished
                if not at_cap and state.quiet_reason(core.conversation, core.playback, now, tools):
                    # No longer quiet (the summary took a while): try again later.
                    await self._flush_held()
                    return
                self._standby = None
                plan = state.plan(
                    core.conversation,
                    core.playback,
                    core.config.session_update(),
                    now=now,
                    reason=reason,
                    tools_running=tools,
                    summary=summary,
                    summary_error=summary_error,
                )
                notice = plan.notice
                if self._held_dropped:
                    dropped, self._held_dropped = self._held_dropped, 0
                    rate = state.input.bytes_per_ms
                    lost = InputAudioLost(bytes=dropped, ms=dropped / rate, in_speech=False)
                    notice = msgspec.structs.replace(notice, lost=(*notice.lost, lost))
                old = self._current
                await self._switch(standby, plan)
            self._notices.append(notice)
            self._group.start_soon(self._close_old, old)
        finally:
            self._switching = False
            self._wake_senders()

    async def _switch(self, standby: _Standby, plan: RolloverPlan) -> None:
        state, core = self.rollover, self._core
        assert state is not None and core is not None
        new = standby.conn
        for event in plan.events:
            await new.send(event)
        state.switched(core.conversation, plan)
        state.session_created(
            now=standby.created_at, expires_at=standby.expires_at, wall_now=standby.wall_at
        )
        core.conversation.server_event(standby.created)
        core.connection_replaced()
        self._cap_seen = False
        self._ack_update = any(isinstance(e, SessionUpdateEvent) for e in plan.events)
        kinds = deque(_kind(item) for item in plan.items)
        self._ack_items = {
            ConversationItemAddedEvent: deque(kinds),
            ConversationItemDoneEvent: deque(kinds),
            ConversationItemCreatedEvent: deque(kinds),
        }
        old_state = getattr(self._current, "reconnect_state", None)
        if old_state is not None and old_state.mirror is core.conversation:
            # The old session's late events (or a reconnect of it) must not reach the call's
            # conversation tracker, which the new session's connection shares from now on.
            old_state.mirror = SessionMirror()
        self._current = new
        await self._flush_held()

    async def _flush_held(self) -> None:
        # Still switching: new sends keep queueing behind these, so order holds.
        conn = self._current
        while self._held:
            event = self._held.popleft()
            if isinstance(event, InputAudioBufferAppendEvent):
                self._held_bytes -= len(event.audio)
            if self.rollover is not None:
                self.rollover.client_event(event)
            try:
                await conn.send(event)
            except ConnectionClosedError:
                if self._closing:
                    return
                raise
        self._held_bytes = 0

    def _wake_senders(self) -> None:
        switched, self._switched = self._switched, self._backend.event()
        switched.set()

    async def _close_old(self, old: Any) -> None:
        with self._backend.move_on_after(10, shield=True):
            try:
                await old.close(1000, "session rolled over")
            except OairtError:
                pass  # already gone (the cap): nothing to close
