"""Whole phone calls in simulated time: fake Twilio call -> bridge -> voice session -> fake server.

Deterministic (no sockets, no clock), so the figures are exact; run with ``-s`` to print the
measured truncation error and pacing jitter.
"""

from __future__ import annotations

import json
import statistics

import pytest

from oairt_core.events import ResponseOutputAudioDeltaEvent
from oairt_core.testing import Script, say
from oairt_core.twilio import CallStopped, DtmfReceived
from oairt_core.voice import AudioDelta

from .twilio_sim import PhoneSim, caller_speech

MARK_MS = 100.0


def test_sixty_second_reply_is_paced_with_a_steady_lead_and_no_gaps() -> None:
    sim = PhoneSim(Script(say("a long story", duration_ms=60_000)), max_lead_ms=300)
    sim.create_response()
    sim.run_until(65.0)
    heard = sim.call.heard
    assert sim.call.heard_ms(65.0) == 60_000
    deltas = [e.raw for _, e in sim.voice_events if isinstance(e, AudioDelta)]
    # mu-law passed through byte for byte
    assert sim.call.heard_audio() == b"".join(
        d.delta for d in deltas if isinstance(d, ResponseOutputAudioDeltaEvent)
    )
    assert sim.call.gaps() == []
    # The lead Twilio holds when each frame arrives: never above the bound, and once the
    # buffer is primed (the first 300 ms go out at once) it stays put.
    assert max(s.lead_ms for s in heard) <= 300 + 1e-6
    steady = [s.lead_ms for s in heard if s.received_at >= 0.3 and s.ends_at <= 59.7]
    assert len(steady) > 2900
    jitter = max(steady) - min(steady)
    print(
        f"\npacing over 60 s: {len(heard)} frames, lead {min(steady):.3f}-{max(steady):.3f} ms "
        f"(jitter {jitter:.6f} ms, stdev {statistics.pstdev(steady):.6f} ms), gaps: 0"
    )
    assert jitter < 1.0
    # A mark every 100 ms of audio, each echoed once its audio had played.
    assert len(sim.call.echoed_marks) == 600
    assert sim.bridge.played_ms == 60_000
    assert not sim.server.violations


def test_reply_streamed_at_real_time_by_the_server_has_no_gaps() -> None:
    sim = PhoneSim(Script(say("a story", duration_ms=5_000)), pacing="realtime")
    sim.create_response()
    sim.run_until(7.0)
    assert sim.call.heard_ms(7.0) == 5_000
    assert sim.call.gaps() == []


@pytest.mark.parametrize("barge_at", [1.0, 1.537, 2.219, 3.061, 4.99])
def test_barge_in_truncates_at_what_the_caller_heard(barge_at: float) -> None:
    sim = PhoneSim(Script(say("a long reply", duration_ms=10_000), say("ok")))
    sim.create_response()
    sim.run_until(barge_at)
    sim.call.say(caller_speech(800))
    sim.run_until(barge_at + 0.5, stop=lambda: bool(sim.call.clears))
    [truncate] = sim.client_events("conversation.item.truncate")
    [clear_at] = sim.call.clears
    heard = sim.call.heard_ms(clear_at)
    error = heard - truncate["audio_end_ms"]
    print(
        f"\nbarge-in at {barge_at:.3f} s: caller heard {heard:.1f} ms, item truncated at "
        f"{truncate['audio_end_ms']} ms (error {error:.1f} ms; sent {sim.bridge.sent_ms:.0f} ms)"
    )
    # The marks Twilio returned with the clear (their audio never played) count for nothing.
    returned = [name for name, t in sim.call.echoed_marks if t == clear_at]
    assert returned
    assert sim.bridge.played_ms <= heard + 1e-6
    # Never more than was heard, never more than one mark interval less.
    assert -1e-6 <= error <= MARK_MS
    # And far from what had been sent: the lead is not counted as heard.
    assert sim.bridge.sent_ms - truncate["audio_end_ms"] >= 200
    # Nothing more of that reply reaches the caller after the clear.
    sim.run_until(barge_at + 3.0)
    first_reply = [s for s in sim.call.heard if s.received_at <= clear_at]
    assert sum(s.duration_ms for s in first_reply) == pytest.approx(heard)
    assert not sim.server.violations


def test_clear_is_the_next_message_after_the_interruption() -> None:
    sim = PhoneSim(Script(say("a long reply", duration_ms=10_000)))
    sim.create_response()
    sim.run_until(2.0)
    sim.call.say(caller_speech(600))
    sim.run_until(3.0)
    kinds = [type(x).__name__ if kind == "voice" else json.loads(x)["event"] for kind, x in sim.log]
    i = kinds.index("Interrupted")
    assert kinds[i + 1] == "clear"
    # The rest of the interrupted reply is never sent (the next media is the next reply's).
    assert "ResponseStarted" in kinds[i:]
    assert "media" not in kinds[i : i + kinds[i:].index("ResponseStarted")]


def test_dtmf_and_hang_up_reach_the_app() -> None:
    sim = PhoneSim(Script(say("press a key", duration_ms=1_000)))
    sim.create_response()
    sim.run_until(0.5)
    sim.call.dtmf("7")
    sim.run_until(0.6)
    assert [e for _, e in sim.phone_events if isinstance(e, DtmfReceived)] == [
        DtmfReceived("7", "inbound_track")
    ]
    sim.call.hang_up()
    sim.run_until(0.7)
    assert [e for _, e in sim.phone_events if isinstance(e, CallStopped)] == [
        CallStopped(sim.call.call_sid)
    ]
    assert sim.bridge.ended
    sent = len(sim.call.heard)
    sim.run_until(2.0)
    assert len(sim.call.heard) == sent  # nothing is sent to a stopped stream
    assert not sim.server.violations
