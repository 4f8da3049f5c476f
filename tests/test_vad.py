"""The fake server's VAD: timings on synthetic speech with known onsets, settings, G.711, idle."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core.audio import alaw_encode, silence, synth_speech, ulaw_encode
from oairt_core.testing import (
    FRAME_MS,
    EnergyVad,
    FakeRealtimeService,
    MemoryClient,
    Script,
    SpeechStarted,
    SpeechStopped,
    say,
    threshold_to_dbfs,
)


def turn(*parts: tuple[str, int], seed: int = 1, gain: float = 1.0) -> npt.NDArray[Any]:
    chunks = []
    for i, (kind, ms) in enumerate(parts):
        if kind == "speech":
            chunks.append((synth_speech(ms, seed=seed + i) * gain).astype(np.int16))
        else:
            chunks.append(silence(ms))
    return np.concatenate(chunks)


def feed_in_chunks(vad: EnergyVad, audio: npt.NDArray[Any], chunk: int = 480) -> list[Any]:
    events: list[Any] = []
    for i in range(0, len(audio), chunk):
        events += vad.feed(audio[i : i + chunk])
    return events


def test_threshold_mapping() -> None:
    assert threshold_to_dbfs(0.0) == -70.0
    assert threshold_to_dbfs(0.5) == -40.0
    assert threshold_to_dbfs(1.0) == -10.0
    assert threshold_to_dbfs(7.0) == -10.0


def test_known_onset_and_offset() -> None:
    vad = EnergyVad(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=200)
    events = feed_in_chunks(vad, turn(("silence", 500), ("speech", 1200), ("silence", 800)))
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    started, stopped = events
    assert isinstance(started, SpeechStarted) and isinstance(stopped, SpeechStopped)
    assert abs(started.onset_ms - 500) <= FRAME_MS
    assert abs(started.audio_start_ms - (500 - 300)) <= FRAME_MS
    # As on the real server, audio_end_ms includes the silence duration.
    assert abs(stopped.audio_end_ms - (1700 + 200)) <= 2 * FRAME_MS


def test_prefix_padding_is_clamped_at_the_buffer_start() -> None:
    vad = EnergyVad(prefix_padding_ms=300)
    events = vad.feed(turn(("silence", 100), ("speech", 600), ("silence", 400)))
    assert isinstance(events[0], SpeechStarted) and events[0].audio_start_ms == 0
    vad.reset(floor_ms=vad.position_ms)
    floor = vad.position_ms
    events = vad.feed(turn(("silence", 50), ("speech", 600), ("silence", 400)))
    assert isinstance(events[0], SpeechStarted) and events[0].audio_start_ms == floor


def test_threshold_decides_what_is_speech() -> None:
    quiet = turn(("silence", 300), ("speech", 800), ("silence", 500), gain=0.02)  # ~ -60 dBFS
    assert EnergyVad(threshold=0.5).feed(quiet) == []
    assert len(EnergyVad(threshold=0.05).feed(quiet)) == 2


def test_silence_duration_joins_or_splits_turns() -> None:
    audio = turn(
        ("silence", 300), ("speech", 600), ("silence", 300), ("speech", 600), ("silence", 900)
    )
    one = EnergyVad(silence_duration_ms=500).feed(audio)
    two = EnergyVad(silence_duration_ms=200).feed(audio)
    assert [type(e).__name__ for e in one] == ["SpeechStarted", "SpeechStopped"]
    assert [type(e).__name__ for e in two] == ["SpeechStarted", "SpeechStopped"] * 2


def test_a_click_is_not_speech() -> None:
    audio = silence(1000)
    audio[12000:12240] = 20000  # one 10 ms frame
    assert EnergyVad().feed(audio) == []


@settings(max_examples=25, deadline=None)
@given(
    lead=st.integers(min_value=0, max_value=1500),
    speech=st.integers(min_value=200, max_value=2000),
    padding=st.sampled_from([0, 100, 300, 500]),
    silence_ms=st.sampled_from([100, 200, 500]),
    chunk=st.sampled_from([80, 480, 1000, 4800]),
)
def test_property_onsets(lead: int, speech: int, padding: int, silence_ms: int, chunk: int) -> None:
    vad = EnergyVad(prefix_padding_ms=padding, silence_duration_ms=silence_ms)
    events = feed_in_chunks(
        vad, turn(("silence", lead), ("speech", speech), ("silence", silence_ms + 300)), chunk
    )
    assert [type(e) for e in events] == [SpeechStarted, SpeechStopped]
    started, stopped = events
    assert abs(started.onset_ms - lead) <= FRAME_MS
    assert started.audio_start_ms == max(0, started.onset_ms - padding)
    assert abs(stopped.audio_end_ms - (lead + speech + silence_ms)) <= 2 * FRAME_MS


# ------------------------------------------------------------------ in the server


def append(c: MemoryClient, data: bytes, chunk: int = 4800) -> None:
    for i in range(0, len(data), chunk):
        c.send(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(data[i : i + chunk]).decode(),
            }
        )


def session(c: MemoryClient, **input_: Any) -> None:
    c.send({"type": "session.update", "session": {"type": "realtime", "audio": {"input": input_}}})
    c.events()


def pcm_bytes(audio: npt.NDArray[Any]) -> bytes:
    return audio.astype("<i2").tobytes()


def test_server_turn_timings_commit_and_response() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("Sure."))))
    c.events()
    append(c, pcm_bytes(turn(("silence", 500), ("speech", 1200), ("silence", 800))))
    ev = c.events()
    started = ev[0]
    stopped = ev[1]
    assert started["type"] == "input_audio_buffer.speech_started"
    assert abs(started["audio_start_ms"] - 200) <= FRAME_MS
    assert abs(stopped["audio_end_ms"] - 1900) <= 2 * FRAME_MS
    assert started["item_id"] == stopped["item_id"] == ev[2]["item_id"]
    assert ev[2]["type"] == "input_audio_buffer.committed"
    assert ev[5]["type"] == "response.created" and ev[-1]["type"] == "response.done"
    # The timeline keeps counting across turns.
    append(c, pcm_bytes(turn(("silence", 200), ("speech", 800), ("silence", 600), seed=5)))
    ev2 = c.events()
    s2 = ev2[0]
    assert s2["type"] == "input_audio_buffer.speech_started"
    assert s2["audio_start_ms"] >= 1900


@pytest.mark.parametrize(
    ("fmt", "encode"), [("audio/pcmu", ulaw_encode), ("audio/pcma", alaw_encode)]
)
def test_g711_input(fmt: str, encode: Any) -> None:
    c = MemoryClient(FakeRealtimeService())
    c.events()
    session(c, format={"type": fmt})
    audio24 = turn(("silence", 500), ("speech", 1000), ("silence", 700))
    audio8 = audio24[: len(audio24) // 3 * 3].reshape(-1, 3).mean(axis=1).astype(np.int16)
    append(c, encode(audio8), chunk=800)
    ev = c.events()
    assert ev[0]["type"] == "input_audio_buffer.speech_started"
    assert abs(ev[0]["audio_start_ms"] - 200) <= FRAME_MS
    assert abs(ev[1]["audio_end_ms"] - 1700) <= 2 * FRAME_MS


def test_turn_detection_null_does_nothing_automatic() -> None:
    c = MemoryClient()
    c.events()
    session(c, turn_detection=None)
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 800))))
    assert c.events() == []


def test_create_response_false_commits_without_responding() -> None:
    c = MemoryClient()
    c.events()
    session(c, turn_detection={"type": "server_vad", "create_response": False})
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 800))))
    t = [e["type"] for e in c.events()]
    assert "input_audio_buffer.committed" in t and "response.created" not in t


def test_semantic_vad_eagerness() -> None:
    def stop_ms(eagerness: str) -> int:
        c = MemoryClient()
        c.events()
        session(
            c,
            turn_detection={
                "type": "semantic_vad",
                "eagerness": eagerness,
                "create_response": False,
            },
        )
        append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 2000))))
        return int(
            next(e for e in c.events() if e["type"] == "input_audio_buffer.speech_stopped")[
                "audio_end_ms"
            ]
        )

    assert stop_ms("high") < stop_ms("medium") < stop_ms("low")


def test_interrupt_response_cancels_on_speech() -> None:
    svc = FakeRealtimeService(
        script=Script(say("A long reply that keeps going", duration_ms=3000)), pacing="realtime"
    )
    c = MemoryClient(svc, now=0.0)
    c.events()
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 400))))
    first = c.events()
    assert first[-1]["type"] == "response.output_audio.delta"  # paced: the reply is under way
    c.advance(0.5)
    assert "response.done" not in [e["type"] for e in c.events()]
    append(c, pcm_bytes(turn(("speech", 500), seed=9)))
    ev = c.events()
    types = [e["type"] for e in ev]
    assert types[0] == "input_audio_buffer.speech_started"
    done = next(e for e in ev if e["type"] == "response.done")["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}


def test_interrupt_response_false_keeps_the_reply() -> None:
    svc = FakeRealtimeService(script=Script(say("Reply", duration_ms=2000)), pacing="realtime")
    c = MemoryClient(svc, now=0.0)
    c.events()
    session(c, turn_detection={"type": "server_vad", "interrupt_response": False})
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 400))))
    c.events()
    append(c, pcm_bytes(turn(("speech", 500), seed=9)))
    assert "response.done" not in [e["type"] for e in c.events()]


def test_idle_timeout_triggers_a_response() -> None:
    svc = FakeRealtimeService(
        script=Script(say("Hi.", duration_ms=500), say("Are you still there?"))
    )
    c = MemoryClient(svc, now=0.0)
    c.events()
    session(c, turn_detection={"type": "server_vad", "idle_timeout_ms": 2000})
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 400))))
    assert c.events()[-1]["type"] == "response.done"
    deadline = c.server.next_deadline()
    assert deadline == pytest.approx(0.0 + 0.5 + 2.0)
    append(c, pcm_bytes(silence(1000)))  # silence does not reset the timer
    c.advance(2.4)
    assert c.events() == []
    c.advance(2.5)
    ev = c.events()
    assert ev[0]["type"] == "input_audio_buffer.timeout_triggered"
    assert ev[0]["audio_end_ms"] >= ev[0]["audio_start_ms"]
    assert ev[1]["type"] == "input_audio_buffer.committed"
    assert next(e for e in ev if e["type"] == "response.output_audio_transcript.done")[
        "transcript"
    ] == ("Are you still there?")


def test_speech_resets_idle_timeout() -> None:
    svc = FakeRealtimeService(script=Script(say("Hi.", duration_ms=500)))
    c = MemoryClient(svc, now=0.0)
    c.events()
    session(
        c, turn_detection={"type": "server_vad", "idle_timeout_ms": 2000, "create_response": True}
    )
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 800), ("silence", 400))))
    c.events()
    assert c.server.next_deadline() is not None
    c.advance(1.0)
    append(c, pcm_bytes(turn(("speech", 300), seed=4)))
    assert c.events()[0]["type"] == "input_audio_buffer.speech_started"
    assert c.server.next_deadline() == 3600.0  # the idle timer is disarmed: only the cap is left


def test_one_big_append_with_two_turns_commits_each_turn_exactly() -> None:
    c = MemoryClient()
    c.events()
    session(c, turn_detection={"type": "server_vad", "create_response": False})
    audio = turn(
        ("silence", 300), ("speech", 600), ("silence", 400), ("speech", 600), ("silence", 500)
    )
    append(c, pcm_bytes(audio), chunk=len(audio) * 2)  # a single append
    ev = c.events()
    started = [e["audio_start_ms"] for e in ev if e["type"] == "input_audio_buffer.speech_started"]
    stopped = [e["audio_end_ms"] for e in ev if e["type"] == "input_audio_buffer.speech_stopped"]
    assert len(started) == len(stopped) == 2
    assert abs(stopped[0] - 1100) <= 2 * FRAME_MS and abs(stopped[1] - 2100) <= 2 * FRAME_MS
    assert started[1] == stopped[0]  # padding never reaches into the committed turn
    lengths = []
    for e in ev:
        if e["type"] == "input_audio_buffer.committed":
            c.send({"type": "conversation.item.retrieve", "item_id": e["item_id"]})
            part = c.events()[0]["item"]["content"][0]
            lengths.append(len(base64.b64decode(part["audio"])) // 48)
    assert lengths == [stopped[0], stopped[1] - stopped[0]]


def test_idle_timeout_fires_on_time_alone() -> None:
    # No audio at all after the reply: only the clock moves, and the timer still fires.
    svc = FakeRealtimeService(script=Script(say("Hi.", duration_ms=500), say("Still there?")))
    c = MemoryClient(svc, now=10.0)
    c.events()
    session(c, turn_detection={"type": "server_vad", "idle_timeout_ms": 1500})
    c.send({"type": "response.create"})
    assert c.events()[-1]["type"] == "response.done"
    # Armed from the end of the reply's playback: 0.5 s of audio, then 1.5 s of quiet.
    assert c.server.next_deadline() == pytest.approx(12.0)
    c.advance(11.99)
    assert c.events() == []
    c.advance(12.0)
    ev = c.events()
    assert [e["type"] for e in ev[:2]] == [
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.committed",
    ]
    assert ev[0]["item_id"] == ev[1]["item_id"]
    assert ev[-1]["type"] == "response.done" and ev[-1]["response"]["status"] == "completed"
    assert c.server.next_deadline() == pytest.approx(12.0 + 1.5 + len("Still there?") * 0.055, 0.1)


def test_idle_timeout_is_off_without_idle_timeout_ms() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("Hi.", duration_ms=500))))
    c.events()
    c.send({"type": "response.create"})
    c.events()
    assert c.server.next_deadline() == 3600.0  # no idle timer: only the session cap
    c.advance(3599.0)
    assert c.events() == []


def test_interrupt_leaves_out_of_band_responses_alone() -> None:
    svc = FakeRealtimeService(
        script=Script(say("A long out-of-band summary", duration_ms=3000)), pacing="realtime"
    )
    c = MemoryClient(svc, now=0.0)
    c.events()
    c.send({"type": "response.create", "response": {"conversation": "none"}})
    assert "response.done" not in [e["type"] for e in c.events()]
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 500))))
    ev = c.events()
    assert ev[0]["type"] == "input_audio_buffer.speech_started"
    assert "response.done" not in [e["type"] for e in ev]  # not part of the conversation
    c.run_until_idle()
    done = [e for e in c.events() if e["type"] == "response.done"]
    assert done[0]["response"]["status"] == "completed"


def test_sideband_barge_in_cancels_and_clears_the_output_buffer() -> None:
    from oairt_core.testing import FakeRestApi

    rest = FakeRestApi({"sk-test"})
    call_id, _, _ = rest.simulate_incoming_sip_call()
    rest.handle(
        "POST",
        f"/v1/realtime/calls/{call_id}/accept",
        [(b"authorization", b"Bearer sk-test")],
        b'{"type": "realtime"}',
    )
    svc = FakeRealtimeService(
        rest=rest,
        script=Script(say("A long reply to the caller", duration_ms=3000)),
        pacing="realtime",
    )
    c = MemoryClient(svc, target=f"/v1/realtime?call_id={call_id}", now=0.0)
    c.events()
    c.send({"type": "response.create"})
    started = c.events()
    rid = started[0]["response"]["id"]
    assert "output_audio_buffer.started" in [e["type"] for e in started]
    c.advance(0.5)
    c.events()
    append(c, pcm_bytes(turn(("silence", 300), ("speech", 500))))
    ev = c.events()
    t = [e["type"] for e in ev]
    assert t[0] == "input_audio_buffer.speech_started"
    done = next(e for e in ev if e["type"] == "response.done")["response"]
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    assert t[-1] == "output_audio_buffer.cleared" and ev[-1]["response_id"] == rid


def test_session_vad_settings_reach_the_detector() -> None:
    def first_turn(td: dict[str, Any], audio: npt.NDArray[Any]) -> list[dict[str, Any]]:
        c = MemoryClient()
        c.events()
        session(c, turn_detection={"type": "server_vad", "create_response": False, **td})
        append(c, pcm_bytes(audio))
        return [e for e in c.events() if e["type"].startswith("input_audio_buffer.speech_")]

    speech = turn(("silence", 600), ("speech", 800), ("silence", 1200))
    # prefix_padding_ms and silence_duration_ms move the reported turn edges.
    started, stopped = first_turn({"prefix_padding_ms": 100, "silence_duration_ms": 700}, speech)
    assert abs(started["audio_start_ms"] - (600 - 100)) <= FRAME_MS
    assert abs(stopped["audio_end_ms"] - (1400 + 700)) <= 2 * FRAME_MS
    # threshold decides whether quiet speech is a turn at all.
    quiet = turn(("silence", 300), ("speech", 800), ("silence", 600), gain=0.02)
    assert first_turn({"threshold": 0.5}, quiet) == []
    assert len(first_turn({"threshold": 0.05}, quiet)) == 2
