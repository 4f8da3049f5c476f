"""Recording sessions to JSONL and replaying them as the server side of a test."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oairt_core.audio import silence, synth_speech
from oairt_core.testing import (
    FakeRealtimeService,
    MemoryClient,
    Recorder,
    ReplayScript,
    Script,
    load_recording,
    load_recordings,
    loads_recording,
    loads_recordings,
    say,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def voice_turn() -> bytes:
    audio = np.concatenate([silence(400), synth_speech(900, seed=2), silence(700)])
    return audio.astype("<i2").tobytes()


CLIENT_EVENTS: list[dict[str, Any]] = [
    {
        "type": "session.update",
        "event_id": "c1",
        "session": {"type": "realtime", "instructions": "Key sk-live-abcdef123456 must not leak."},
    },
    {
        "type": "conversation.item.create",
        "event_id": "c2",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        },
    },
    {"type": "response.create", "event_id": "c3"},
]


def play_turn(c: MemoryClient, events: list[dict[str, Any]], chunk: int) -> None:
    """Send the events, then the voice turn's audio in appends of ``chunk`` bytes."""
    for e in events:
        c.send(e)
    audio = voice_turn()
    for i in range(0, len(audio), chunk):
        c.send({"type": "input_audio_buffer.append", "audio": b64(audio[i : i + chunk])})


def record_session(chunk: int = 4800) -> tuple[Recorder, list[dict[str, Any]]]:
    svc = FakeRealtimeService(
        script=Script(say("Hello!"), say("Second.")),
        recorder_factory=lambda: Recorder(meta={"model": "gpt-realtime"}),
    )
    c = MemoryClient(svc, now=1000.0)
    play_turn(c, CLIENT_EVENTS, chunk)
    events = c.events()
    recorder = c.server.recorder
    assert isinstance(recorder, Recorder)
    return recorder, events


def test_round_trip_and_redaction(tmp_path: Path) -> None:
    rec, events = record_session()
    text = rec.dumps()
    assert "sk-live-abcdef123456" not in text and "[REDACTED]" in text
    header = json.loads(text.splitlines()[0])
    assert header == {"oairt_recording": 1, "meta": {"model": "gpt-realtime"}}
    loaded = loads_recording(text)
    assert loaded.meta == {"model": "gpt-realtime"}
    assert [f.type for f in loaded.frames if f.dir == "server"] == [e["type"] for e in events]
    assert loaded.types("client")[:3] == [
        "session.update",
        "conversation.item.create",
        "response.create",
    ]
    assert loaded.frames[0].t == 0.0 and all(f.t >= 0 for f in loaded.frames)
    path = tmp_path / "s.jsonl"
    rec.write(path)
    assert load_recording(path).frames == loaded.frames


def test_keep_audio_false_blanks_payloads() -> None:
    r = Recorder(keep_audio=False)
    r.record("client", json.dumps({"type": "input_audio_buffer.append", "audio": "AAAA"}), 0.0)
    r.record("server", json.dumps({"type": "response.output_audio.delta", "delta": "AAAA"}), 0.1)
    r.record("server", json.dumps({"type": "response.output_text.delta", "delta": "hi"}), 0.2)
    r.record("server", "not json Bearer sk-abc123456789", 0.3)
    frames = loads_recording(r.dumps()).frames
    assert frames[0].frame == {"type": "input_audio_buffer.append", "audio": ""}
    assert frames[1].frame == {"type": "response.output_audio.delta", "delta": ""}
    assert frames[2].frame == {"type": "response.output_text.delta", "delta": "hi"}
    assert frames[3].raw == "not json Bearer [REDACTED]"


@pytest.mark.parametrize(
    "bad",
    [
        '{"t": 0, "dir": "sideways", "frame": {}}',
        "not json",
        '{"t": 0, "dir": "client", "frame": 3}',
        "[1]",
        "[" * 100_000 + "]" * 100_000,  # json.loads: RecursionError
    ],
)
def test_load_rejects_malformed_lines(bad: str) -> None:
    with pytest.raises(ValueError, match="line 1"):
        loads_recording(bad)


def replay(recording: Any, events: list[dict[str, Any]], audio_chunk: int = 9600) -> MemoryClient:
    svc = FakeRealtimeService(script=ReplayScript(recording))
    c = MemoryClient(svc, now=5.0)
    play_turn(c, events, audio_chunk)
    return c


def test_replay_matches_an_equivalent_client() -> None:
    rec, original = record_session()
    recording = loads_recording(rec.dumps())
    # Different event ids and a different audio chunking are still equivalent.
    events = [dict(e, event_id=f"other_{i}") for i, e in enumerate(CLIENT_EVENTS)]
    events[0] = json.loads(json.dumps(events[0]).replace("sk-live-abcdef123456", "[REDACTED]"))
    c = replay(recording, events, audio_chunk=2400)
    got = c.events()
    assert [e["type"] for e in got] == [e["type"] for e in original]
    assert got == json.loads(json.dumps(original).replace("sk-live-abcdef123456", "[REDACTED]"))
    assert c.server.violations == []
    script = c.service.script
    assert isinstance(script, ReplayScript) and script.sessions[0].finished


def test_mcp_credentials_are_masked_and_replay_still_matches_the_real_client() -> None:
    mcp = {
        "type": "mcp",
        "server_label": "crm",
        "server_url": "https://mcp.example.com",
        "authorization": "oauth-token-plain-0001",
        "headers": {"X-Api-Key": "plain-header-secret-0002"},
    }
    update = {"type": "session.update", "session": {"type": "realtime", "tools": [mcp]}}
    rec = Recorder(clock=lambda: 0.0)
    rec.on_message("client", json.dumps(update))
    text = rec.dumps()
    assert "oauth-token-plain-0001" not in text and "plain-header-secret-0002" not in text
    (frame,) = loads_recording(text).frames
    assert frame.frame is not None
    tool = frame.frame["session"]["tools"][0]
    assert tool["authorization"] == "[REDACTED]" and tool["headers"] == {"X-Api-Key": "[REDACTED]"}
    assert tool["server_url"] == "https://mcp.example.com"  # the rest is kept
    # A client sending the real credentials again is equivalent to the redacted recording.
    # (The API key test above relies on the same comparison.)
    rec2, _ = record_session()
    c = replay(loads_recording(rec2.dumps()), CLIENT_EVENTS)
    assert c.server.violations == []


def test_replay_reports_mismatches() -> None:
    rec, _ = record_session()
    recording = rec.recording()
    events = [dict(e) for e in CLIENT_EVENTS]
    events[0] = {
        "type": "session.update",
        "session": {"type": "realtime", "instructions": "different"},
    }
    events[2] = {"type": "response.create", "response": {"output_modalities": ["text"]}}
    c = replay(recording, events)
    v = c.server.violations
    assert [x.code for x in v] == ["replay_mismatch", "replay_mismatch"]
    assert v[0].param == "session.instructions" and v[0].event_type == "session.update"
    assert v[1].param == "response" and v[1].event_type == "response.create"
    # An event after the recording ended is reported too.
    c.send({"type": "input_audio_buffer.clear"})
    assert "recording has ended" in c.server.violations[-1].message


def test_replay_wrong_event_type_in_order() -> None:
    rec, _ = record_session()
    events = [CLIENT_EVENTS[1], CLIENT_EVENTS[0], CLIENT_EVENTS[2]]
    c = replay(rec.recording(), events)
    assert c.server.violations[0].param == "type"
    assert "expected 'session.update'" in c.server.violations[0].message


def test_replay_realtime_pacing_keeps_recorded_spacing() -> None:
    r = Recorder()
    r.record(
        "server", '{"type":"session.created","event_id":"e1","session":{"type":"realtime"}}', 0.0
    )
    r.record("client", '{"type":"response.create"}', 1.0)
    r.record("server", '{"type":"response.created","event_id":"e2","response":{}}', 1.5)
    r.record("server", '{"type":"response.done","event_id":"e3","response":{}}', 3.0)
    svc = FakeRealtimeService(script=ReplayScript(r.recording()), pacing="realtime")
    c = MemoryClient(svc, now=100.0)
    assert [e["type"] for e in c.events()] == ["session.created"]
    c.advance(101.0)
    c.send({"type": "response.create"})
    assert c.events() == []
    assert c.server.next_deadline() == pytest.approx(101.5)
    c.advance(101.5)
    assert [e["type"] for e in c.events()] == ["response.created"]
    c.advance(103.0)
    assert [e["type"] for e in c.events()] == ["response.done"]


@pytest.mark.anyio
async def test_runner_records_to_a_file(tmp_path: Path) -> None:
    from oairt_anyio.testing import run_fake_server

    from .test_pytest_plugin import _session

    path = tmp_path / "rec.jsonl"
    async with run_fake_server(script=Script(say("hi")), record=path) as server:
        await _session(server.url, server.api_key, [{"type": "response.create"}])
    # Leaving the block ends every connection, which writes its recording.
    rec = load_recording(path)
    assert rec.types("client") == ["response.create"]
    assert (
        rec.types("server")[0] == "session.created" and rec.types("server")[-1] == "response.done"
    )


def test_a_frame_nested_deeper_than_the_stack_is_recorded_raw() -> None:
    # The recorder runs inside the adapter's reader: a hostile frame must not raise there.
    r = Recorder(clock=lambda: 0.0)
    deep = "[" * 100_000 + "]" * 100_000
    r.on_message("server", deep)
    (frame,) = r.frames
    assert frame.frame is None and frame.raw == deep and frame.dir == "server"


def test_on_message_hook_needs_a_clock() -> None:
    with pytest.raises(ValueError):
        Recorder().on_message("client", "{}")
    times = iter([5.0, 5.5])
    r = Recorder(clock=lambda: next(times))
    r.on_message("client", '{"type":"response.create"}')
    r.on_message("server", '{"type":"response.created"}')
    assert [(f.t, f.dir) for f in r.frames] == [(0.0, "client"), (0.5, "server")]


@pytest.mark.anyio
async def test_record_with_the_adapter_then_replay_as_the_server() -> None:
    import anyio

    import oairt_anyio
    from oairt_anyio.testing import run_fake_server
    from oairt_core.events import InputAudioBufferAppendEvent, ResponseDoneEvent

    async def client(url: str, key: str, recorder: Recorder | None) -> list[str]:
        seen: list[str] = []
        audio = voice_turn()
        async with oairt_anyio.open_realtime(
            api_key=key,
            model="gpt-realtime",
            base_url=url,
            on_message=recorder.on_message if recorder else None,
        ) as conn:
            for i in range(0, len(audio), 9600):
                await conn.send(InputAudioBufferAppendEvent(audio=audio[i : i + 9600]))
            with anyio.fail_after(10):
                async for event in conn:
                    seen.append(type(event).__name__)
                    if isinstance(event, ResponseDoneEvent):
                        break
        return seen

    recorder = Recorder(clock=anyio.current_time)
    async with run_fake_server(script=Script(say("Recorded."))) as live:
        first = await client(live.url, live.api_key, recorder)
    recording = loads_recording(recorder.dumps())
    async with run_fake_server(script=ReplayScript(recording)) as replay:
        second = await client(replay.url, replay.api_key, None)
        assert replay.violations == []
    assert first == second


# Text replies keep every frame small for the raw test client.
TEXT_RESPONSE = {"type": "response.create", "response": {"output_modalities": ["text"]}}


@pytest.mark.anyio
async def test_runner_records_every_session_to_one_file(tmp_path: Path) -> None:
    from oairt_anyio.testing import run_fake_server

    from .test_pytest_plugin import _session

    path = tmp_path / "rec.jsonl"
    async with run_fake_server(script=Script(say("one"), say("two")), record=path) as server:
        await _session(server.url, server.api_key, [TEXT_RESPONSE])
        await server.wait_for(lambda: all(c.closed for c in server.connections))
        await _session(server.url, server.api_key, [TEXT_RESPONSE])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec.jsonl"]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert {line["session"] for line in lines} == {1, 2}
    first, second = load_recordings(path)
    assert (first.session, second.session) == (1, 2)
    for rec, said in ((first, "one"), (second, "two")):
        assert rec.types("client") == ["response.create"]
        done = [f.frame for f in rec.frames if f.type == "response.done"]
        assert done and said in json.dumps(done[0])
        assert rec.frames[0].t == 0.0  # times count from the session's own start
    assert load_recording(path).session == 1
    assert load_recording(path, session=2).types() == second.types()
    with pytest.raises(ValueError, match="no session 3"):
        load_recording(path, session=3)


@pytest.mark.anyio
async def test_a_new_server_starts_the_file_afresh(tmp_path: Path) -> None:
    from oairt_anyio.testing import run_fake_server

    from .test_pytest_plugin import _session

    path = tmp_path / "rec.jsonl"
    path.write_text("stale content from an earlier run\n")
    async with run_fake_server(script=Script(say("x")), record=path) as server:
        await _session(server.url, server.api_key, [TEXT_RESPONSE])
    assert [r.session for r in load_recordings(path)] == [1]


def test_a_file_without_session_fields_is_one_session() -> None:
    """Files written before the session field (and by Recorder without one) still load."""
    old = (
        '{"oairt_recording":1,"meta":{"server":"oairt fake"}}\n'
        '{"t":0.0,"dir":"server","frame":{"type":"session.created"}}\n'
        '{"t":0.1,"dir":"client","frame":{"type":"response.create"}}\n'
    )
    (rec,) = loads_recordings(old)
    assert rec.session is None and rec.meta == {"server": "oairt fake"}
    assert rec.types() == ["session.created", "response.create"]
    assert loads_recording(old).types() == rec.types()
    replay = FakeRealtimeService(script=ReplayScript(loads_recording(old)))
    client = MemoryClient(replay)
    client.send({"type": "response.create"})
    assert replay.violations == []


def test_session_numbers_must_be_integers() -> None:
    with pytest.raises(ValueError, match="'session' must be an integer"):
        loads_recordings('{"session":"a","t":0,"dir":"client","frame":{"type":"x"}}\n')
