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

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeAlias

__all__ = [
    "DEFAULT_RECOVERABLE_CODES",
    "RETRYABLE_HANDSHAKE_STATUSES",
    "ReconnectPolicy",
    "RandomSource",
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
    disconnection; the budget is refilled once the new connection delivers a
    server event that is not ``error``. ``replay_items`` also re-creates the
    conversation items the client knew of (see :class:`SessionMirror`).

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
    replay_items: bool = False

    def __post_init__(self) -> None:
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
        )
