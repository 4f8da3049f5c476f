"""Opt-in reconnection, sans-IO: a backoff policy and a mirror of what the session knew.

Nothing here sleeps, reads the clock or draws random numbers by itself: the
adapter passes ``now`` (seconds, any monotonic origin) and a random source.

>>> import random
>>> policy = ReconnectPolicy()
>>> policy.should_reconnect(1006), policy.should_reconnect(1000)
(True, False)
>>> [round(policy.next_delay(n, lambda: 1.0), 2) for n in (1, 2, 3, 4, 5, 6)]
[0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
>>> 0.375 <= policy.next_delay(1, random.Random(7)) <= 0.5
True
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

import msgspec

from ._conversation import SessionMirror
from .errors import LocalProtocolError
from .events import ClientEvent, ConversationItemCreateEvent, ResponseDoneEvent, ServerEvent

__all__ = [
    "DEFAULT_RECOVERABLE_CODES",
    "RETRYABLE_HANDSHAKE_STATUSES",
    "InputAudioLost",
    "ItemsLost",
    "RandomSource",
    "ReconnectFailed",
    "ReconnectNotice",
    "ReconnectPhase",
    "ReconnectPolicy",
    "ReconnectState",
    "Reconnected",
    "Reconnecting",
    "ResponseLost",
]

#: Close codes the OpenAI SDK treats as recoverable (going away, no status,
#: abnormal closure, server error, service restart, try again later, TLS).
DEFAULT_RECOVERABLE_CODES: frozenset[int] = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1015})

#: HTTP statuses of a refused upgrade worth trying again (timeout, rate limit,
#: server side trouble). 401/403/404 never get better by waiting.
RETRYABLE_HANDSHAKE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

#: A random source: ``random.Random`` (its ``random()`` is used) or any
#: zero-argument callable returning a float in [0, 1].
RandomSource: TypeAlias = random.Random | Callable[[], float]


def _draw(rng: RandomSource) -> float:
    value = rng.random() if isinstance(rng, random.Random) else rng()
    # Clamp: a misbehaving source must not push the delay outside the bounds.
    if not math.isfinite(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


@dataclass(frozen=True)
class ReconnectPolicy:
    """When to reconnect and how long to wait; the OpenAI SDK's defaults.

    The delay before attempt ``n`` (1-based) is
    ``min(base_delay * 2**(n-1), max_delay)`` times a jitter factor drawn
    uniformly from ``jitter``. At most ``max_attempts`` attempts follow one
    disconnection; the budget is refilled only once a connection has proved
    healthy: it completed a response (``response.done``) or stayed up for
    ``healthy_after`` seconds. A server that accepts and then drops at once
    (``session.created``, close 1011) therefore ends in :class:`ReconnectFailed`
    after ``max_attempts`` attempts instead of being retried forever.
    ``replay_items`` also re-creates the conversation items the client knew of
    (see :class:`SessionMirror`); ``None`` (the default) means off for a plain
    connection and on for a voice session.

    >>> ReconnectPolicy(max_attempts=2).should_reconnect(1012)
    True
    >>> ReconnectPolicy(recoverable_codes=frozenset()).should_reconnect(1012)
    False
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: tuple[float, float] = (0.75, 1.0)
    recoverable_codes: frozenset[int] = field(default=DEFAULT_RECOVERABLE_CODES)
    replay_items: bool | None = None
    healthy_after: float = 10.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.healthy_after) and self.healthy_after >= 0):
            raise ValueError("healthy_after must be a finite number >= 0")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")
        if not (math.isfinite(self.base_delay) and self.base_delay >= 0):
            raise ValueError("base_delay must be a finite number >= 0")
        if not (math.isfinite(self.max_delay) and self.max_delay >= self.base_delay):
            raise ValueError("max_delay must be finite and >= base_delay")
        lo, hi = self.jitter
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
            raise ValueError("jitter must be (low, high) with 0 <= low <= high")
        # Accept any iterable of ints but store a frozenset (hashable, immutable).
        object.__setattr__(self, "recoverable_codes", frozenset(self.recoverable_codes))

    def should_reconnect(self, close_code: int | None) -> bool:
        """Whether a close with ``close_code`` is worth reconnecting after.

        ``None`` (the TCP connection vanished without a close frame) counts as
        1006, abnormal closure.
        """
        code = 1006 if close_code is None else close_code
        return code in self.recoverable_codes

    def should_retry_handshake(self, status_code: int) -> bool:
        """Whether a refused upgrade with this HTTP status is worth another attempt."""
        return status_code in RETRYABLE_HANDSHAKE_STATUSES

    def base_for(self, attempt: int) -> float:
        """The delay before jitter for 1-based ``attempt``: capped exponential."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        # Bound the exponent so 2.0**n stays a float; the cap wins long before.
        return min(self.base_delay * 2.0 ** min(attempt - 1, 1000), self.max_delay)

    def next_delay(self, attempt: int, rng: RandomSource) -> float:
        """Seconds to wait before 1-based ``attempt``; ``rng`` supplies the jitter."""
        lo, hi = self.jitter
        return self.base_for(attempt) * (lo + (hi - lo) * _draw(rng))

    def with_codes(self, codes: Iterable[int]) -> ReconnectPolicy:
        """A copy recovering from exactly ``codes``."""
        return ReconnectPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            jitter=self.jitter,
            recoverable_codes=frozenset(codes),
            replay_items=self.replay_items,
            healthy_after=self.healthy_after,
        )


# --------------------------------------------------------------------------------------
# What the client knew: the session mirror
# --------------------------------------------------------------------------------------


class Reconnecting(msgspec.Struct, frozen=True, kw_only=True):
    """The connection dropped; attempt ``attempt`` starts ``delay`` s later (at ``retry_at``)."""

    attempt: int
    delay: float
    close_code: int | None
    retry_at: float
    reason: str = ""


class Reconnected(msgspec.Struct, frozen=True, kw_only=True):
    """A new connection is up (after ``attempt`` attempts); the session config is being re-applied.

    ``replayed_items`` conversation items are being re-created (``replay_items=True``).
    """

    attempt: int
    replayed_items: int = 0


class ResponseLost(msgspec.Struct, frozen=True, kw_only=True):
    """A response was in flight when the connection dropped; its ``response.done`` never came.

    ``response_id`` is ``None`` for a ``response.create`` the server had not yet
    answered with ``response.created``.
    """

    response_id: str | None


class InputAudioLost(msgspec.Struct, frozen=True, kw_only=True):
    """Audio appended but never committed (nor cleared) by the server was lost.

    ``in_speech`` says server VAD had detected speech that had not ended yet.
    """

    bytes: int
    ms: float
    in_speech: bool = False


class ItemsLost(msgspec.Struct, frozen=True, kw_only=True):
    """Conversation items that the new session does not have (in conversation order).

    Without ``replay_items`` that is every item; with it, the items that cannot
    be re-created (see :meth:`SessionMirror.replay_events`).
    """

    item_ids: tuple[str, ...]
    unacknowledged_creates: int = 0


class ReconnectFailed(msgspec.Struct, frozen=True, kw_only=True):
    """Reconnection gave up: ``attempts`` made, the last close code and why."""

    attempts: int
    close_code: int | None
    reason: str


ReconnectNotice: TypeAlias = (
    Reconnecting | Reconnected | ResponseLost | InputAudioLost | ItemsLost | ReconnectFailed
)


# --------------------------------------------------------------------------------------
# The controller: policy + mirror + attempts, time as an input
# --------------------------------------------------------------------------------------


class ReconnectPhase(enum.Enum):
    CONNECTED = "connected"
    WAITING = "waiting"  # backing off until retry_at
    CONNECTING = "connecting"
    FAILED = "failed"


class ReconnectState:
    """Drives reconnection for one logical session; the adapter does the I/O.

    The adapter reports what happens (``client_event``/``server_event`` while
    connected, ``disconnected`` when the connection drops, ``attempt_failed`` or
    ``connected`` after each attempt) and gets back the notices to hand to the
    user and the client events to send. It waits ``Reconnecting.delay`` seconds
    (until ``Reconnecting.retry_at`` on its clock) before each attempt.

    >>> state = ReconnectState(ReconnectPolicy(), rng=lambda: 1.0)
    >>> [type(n).__name__ for n in state.disconnected(1012, now=10.0)]
    ['Reconnecting']
    >>> state.phase.value, state.retry_at
    ('waiting', 10.5)
    >>> to_send, notices = state.connected(now=10.5)
    >>> notices
    [Reconnected(attempt=1, replayed_items=0)]
    """

    def __init__(
        self,
        policy: ReconnectPolicy | None = None,
        *,
        rng: RandomSource | None = None,
        mirror: SessionMirror | None = None,
    ) -> None:
        self.policy = policy or ReconnectPolicy()
        self.rng: RandomSource = rng if rng is not None else random.Random()
        self.mirror = mirror or SessionMirror()
        self.phase = ReconnectPhase.CONNECTED
        #: attempts made since the last healthy connection (the retry budget used)
        self.attempt = 0
        self.last_close_code: int | None = None
        self.retry_at: float | None = None
        self._healthy = True
        self._connected_at: float | None = None
        self.total_reconnects = 0
        #: the ``replay_items`` in force (the policy's, or the caller's default for None)
        self.replay_items = bool(self.policy.replay_items)

    def default_replay(self, replay_items: bool) -> None:
        """Use ``replay_items`` when the policy left it to the caller (``None``)."""
        if self.policy.replay_items is None:
            self.replay_items = replay_items

    # -- while connected ------------------------------------------------------------------

    def client_event(self, event: ClientEvent) -> None:
        self.mirror.client_event(event)

    def server_event(self, event: ServerEvent, *, now: float | None = None) -> None:
        self.mirror.server_event(event)
        # Any event is not proof enough (a server may send session.created and drop):
        # a completed response, or a connection that lasted, refills the budget.
        healthy = isinstance(event, ResponseDoneEvent) or self._lasted(now)
        if not self._healthy and healthy:
            self._refill()

    def _lasted(self, now: float | None) -> bool:
        start = self._connected_at
        return now is not None and start is not None and now - start >= self.policy.healthy_after

    def _refill(self) -> None:
        self._healthy = True
        self.attempt = 0

    # -- transitions ----------------------------------------------------------------------

    def disconnected(
        self, close_code: int | None, *, now: float, reason: str = ""
    ) -> list[ReconnectNotice]:
        """The connection dropped (``close_code`` ``None``: no close frame at all)."""
        if self.phase is not ReconnectPhase.CONNECTED:
            raise LocalProtocolError(f"disconnected() while {self.phase.value}")
        if not self._healthy and self._lasted(now):
            self._refill()
        self.last_close_code = close_code
        notices = self.mirror.lost(replay_items=self.replay_items)
        if not self.policy.should_reconnect(close_code):
            self.phase = ReconnectPhase.FAILED
            why = reason or f"close code {close_code} is not recoverable"
            return [
                *notices,
                ReconnectFailed(attempts=self.attempt, close_code=close_code, reason=why),
            ]
        return [*notices, self._schedule(now, close_code, reason)]

    def attempt_started(self) -> None:
        """The adapter begins the attempt it was told to make (after the delay)."""
        if self.phase is not ReconnectPhase.WAITING:
            raise LocalProtocolError(f"attempt_started() while {self.phase.value}")
        self.phase = ReconnectPhase.CONNECTING

    def attempt_failed(
        self,
        *,
        now: float,
        retryable: bool = True,
        status_code: int | None = None,
        close_code: int | None = None,
        reason: str = "",
    ) -> ReconnectNotice:
        """An attempt failed: a refused upgrade (``status_code``), an immediate close
        (``close_code``) or a network error (neither). ``retryable=False`` gives up
        at once (a TLS certificate that will not verify, say)."""
        if self.phase not in (ReconnectPhase.CONNECTING, ReconnectPhase.WAITING):
            raise LocalProtocolError(f"attempt_failed() while {self.phase.value}")
        if status_code is not None and not self.policy.should_retry_handshake(status_code):
            retryable = False
        if close_code is not None and not self.policy.should_reconnect(close_code):
            retryable = False
        code = close_code if close_code is not None else self.last_close_code
        if not retryable:
            self.phase = ReconnectPhase.FAILED
            return ReconnectFailed(attempts=self.attempt, close_code=code, reason=reason)
        return self._schedule(now, code, reason)

    def connected(self, *, now: float) -> tuple[list[ClientEvent], list[ReconnectNotice]]:
        """An attempt succeeded: the client events to send first, and the notices."""
        if self.phase not in (ReconnectPhase.CONNECTING, ReconnectPhase.WAITING):
            raise LocalProtocolError(f"connected() while {self.phase.value}")
        replay = self.replay_items
        events = self.mirror.replay_events(replay_items=replay)
        replayed = sum(isinstance(e, ConversationItemCreateEvent) for e in events)
        self.mirror.new_connection(replay_items=replay)
        for event in events:
            self.mirror.client_event(event)
        self.phase = ReconnectPhase.CONNECTED
        self.retry_at = None
        self._healthy = False
        self._connected_at = now
        self.total_reconnects += 1
        return events, [Reconnected(attempt=self.attempt, replayed_items=replayed)]

    def delay_remaining(self, now: float) -> float:
        """Seconds left before the scheduled attempt (0 when due)."""
        if self.retry_at is None:
            return 0.0
        return max(0.0, self.retry_at - now)

    def _schedule(self, now: float, close_code: int | None, reason: str) -> ReconnectNotice:
        if self.attempt >= self.policy.max_attempts:
            self.phase = ReconnectPhase.FAILED
            return ReconnectFailed(
                attempts=self.attempt,
                close_code=close_code,
                reason=reason or f"gave up after {self.attempt} attempts",
            )
        self.attempt += 1
        delay = self.policy.next_delay(self.attempt, self.rng)
        self.retry_at = now + delay
        self.phase = ReconnectPhase.WAITING
        return Reconnecting(
            attempt=self.attempt,
            delay=delay,
            close_code=close_code,
            retry_at=self.retry_at,
            reason=reason,
        )
