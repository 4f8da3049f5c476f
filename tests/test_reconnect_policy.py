"""ReconnectPolicy: which closes are recoverable and the capped, jittered backoff."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oairt_core.reconnect import DEFAULT_RECOVERABLE_CODES, ReconnectPolicy, ReconnectState


def test_defaults_match_the_sdk() -> None:
    p = ReconnectPolicy()
    assert (p.max_attempts, p.base_delay, p.max_delay, p.jitter) == (5, 0.5, 8.0, (0.75, 1.0))
    assert p.recoverable_codes == {1001, 1005, 1006, 1011, 1012, 1013, 1015}
    # None: off for a plain connection, on for a voice session (which opts in).
    assert p.replay_items is None and p.healthy_after == 10.0
    state = ReconnectState(p)
    assert state.replay_items is False
    state.default_replay(True)
    assert state.replay_items is True
    assert ReconnectState(ReconnectPolicy(replay_items=False)).replay_items is False
    explicit = ReconnectState(ReconnectPolicy(replay_items=False))
    explicit.default_replay(True)  # an explicit choice wins over the voice default
    assert explicit.replay_items is False


@pytest.mark.parametrize("code", sorted(DEFAULT_RECOVERABLE_CODES))
def test_recoverable_codes(code: int) -> None:
    assert ReconnectPolicy().should_reconnect(code)


@pytest.mark.parametrize("code", [1000, 1002, 1003, 1007, 1008, 1009, 1010, 4000, 4999])
def test_final_codes(code: int) -> None:
    assert not ReconnectPolicy().should_reconnect(code)


def test_missing_close_frame_counts_as_abnormal() -> None:
    assert ReconnectPolicy().should_reconnect(None)
    assert not ReconnectPolicy(recoverable_codes=frozenset({1012})).should_reconnect(None)


def test_handshake_statuses() -> None:
    p = ReconnectPolicy()
    assert p.should_retry_handshake(429) and p.should_retry_handshake(503)
    assert not any(p.should_retry_handshake(s) for s in (400, 401, 403, 404))


def test_exact_sequence_without_jitter() -> None:
    p = ReconnectPolicy(jitter=(1.0, 1.0))
    assert [p.next_delay(n, random.Random(0)) for n in range(1, 8)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0,
    ]  # fmt: skip


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base=st.floats(min_value=0.0, max_value=100.0),
    extra=st.floats(min_value=0.0, max_value=1000.0),
    lo=st.floats(min_value=0.0, max_value=1.0),
    width=st.floats(min_value=0.0, max_value=1.0),
    draw=st.floats(allow_nan=True, allow_infinity=True),
)
def test_delay_bounds(
    attempt: int, base: float, extra: float, lo: float, width: float, draw: float
) -> None:
    p = ReconnectPolicy(base_delay=base, max_delay=base + extra, jitter=(lo, lo + width))
    d = p.next_delay(attempt, lambda: draw)
    cap = min(base * 2.0 ** min(attempt - 1, 1000), base + extra)
    assert math.isfinite(d)
    assert d >= 0.0
    # Within [cap * lo, cap * hi] (a tiny relative slack for float rounding).
    assert cap * lo * (1 - 1e-12) <= d <= cap * (lo + width) * (1 + 1e-12) + 1e-300
    assert d <= p.max_delay * p.jitter[1] * (1 + 1e-12) + 1e-300


@given(seed=st.integers(), attempt=st.integers(min_value=1, max_value=40))
def test_monotone_before_jitter_and_sdk_range(seed: int, attempt: int) -> None:
    p = ReconnectPolicy()
    assert p.base_for(attempt) <= p.base_for(attempt + 1)
    d = p.next_delay(attempt, random.Random(seed))
    assert 0.75 * p.base_for(attempt) <= d <= p.base_for(attempt) <= 8.0


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(max_attempts=-1)
    with pytest.raises(ValueError):
        ReconnectPolicy(base_delay=2.0, max_delay=1.0)
    with pytest.raises(ValueError):
        ReconnectPolicy(jitter=(1.0, 0.5))
    with pytest.raises(ValueError):
        ReconnectPolicy(base_delay=math.nan)
    with pytest.raises(ValueError):
        ReconnectPolicy().next_delay(0, random.Random())


def test_with_codes_and_iterables() -> None:
    p = ReconnectPolicy().with_codes([1012])
    assert p.should_reconnect(1012) and not p.should_reconnect(1006)
    assert isinstance(p.recoverable_codes, frozenset)
