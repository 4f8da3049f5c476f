"""oairt_core.twilio: the Media Streams messages and the sans-IO bridge (pacing, marks, clear)."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core.audio import ulaw_decode
from oairt_core.events import ResponseOutputAudioDeltaEvent
from oairt_core.testing import FakeTwilioCall
from oairt_core.twilio import (
    MAX_PENDING_MARKS,
    CallConnected,
    CallStarted,
    CallStopped,
    ClearMessage,
    ConnectedMessage,
    DtmfInfo,
    DtmfMessage,
    DtmfReceived,
    MalformedMessage,
    MarkInfo,
    MarkMessage,
    MediaFormat,
    MediaMessage,
    MediaPayload,
    OutboundMarkMessage,
    OutboundMedia,
    OutboundMediaMessage,
    PhoneProtocolError,
    StartInfo,
    StartMessage,
    StopInfo,
    StopMessage,
    TwilioBridge,
    decode_inbound,
    decode_outbound,
    encode_message,
)
from oairt_core.voice import AudioDelta, AudioDone, Interrupted

SID = "MZ18ad3ab5a668481ce02b83e7395059f0"

# The shapes of Twilio's Media Streams documentation ("WebSocket Messages").
TWILIO_CONNECTED = {"event": "connected", "protocol": "Call", "version": "1.0.0"}
TWILIO_START = {
    "event": "start",
    "sequenceNumber": "1",
    "start": {
        "accountSid": "AC123",
        "streamSid": SID,
        "callSid": "CA123",
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"FirstName": "Jane", "LastName": "Doe"},
    },
    "streamSid": SID,
}
TWILIO_MEDIA = {
    "event": "media",
    "sequenceNumber": "3",
    "media": {
        "track": "inbound",
        "chunk": "1",
        "timestamp": "5",
        "payload": base64.b64encode(b"\x7f\xff\x00\x10").decode(),
    },
    "streamSid": SID,
}
TWILIO_MARK = {
    "event": "mark",
    "sequenceNumber": "4",
    "streamSid": SID,
    "mark": {"name": "my label"},
}
TWILIO_DTMF = {
    "event": "dtmf",
    "streamSid": SID,
    "sequenceNumber": "5",
    "dtmf": {"track": "inbound_track", "digit": "1"},
}
TWILIO_STOP = {
    "event": "stop",
    "sequenceNumber": "5",
    "stop": {"accountSid": "AC123", "callSid": "CA123"},
    "streamSid": SID,
}


# --------------------------------------------------------------------------- messages


def test_documented_inbound_messages_decode_with_every_field() -> None:
    connected = decode_inbound(json.dumps(TWILIO_CONNECTED))
    assert connected == ConnectedMessage(protocol="Call", version="1.0.0")
    start = decode_inbound(json.dumps(TWILIO_START))
    assert isinstance(start, StartMessage)
    assert start.sequence_number == "1" and start.stream_sid == SID
    assert start.start.call_sid == "CA123" and start.start.account_sid == "AC123"
    assert start.start.tracks == ["inbound"]
    assert start.start.media_format == MediaFormat(
        encoding="audio/x-mulaw", sample_rate=8000, channels=1
    )
    assert start.start.custom_parameters == {"FirstName": "Jane", "LastName": "Doe"}
    media = decode_inbound(json.dumps(TWILIO_MEDIA))
    assert isinstance(media, MediaMessage)
    assert media.media == MediaPayload(
        payload=b"\x7f\xff\x00\x10", track="inbound", chunk="1", timestamp="5"
    )
    mark = decode_inbound(json.dumps(TWILIO_MARK))
    assert isinstance(mark, MarkMessage) and mark.mark.name == "my label"
    dtmf = decode_inbound(json.dumps(TWILIO_DTMF))
    assert isinstance(dtmf, DtmfMessage) and dtmf.dtmf == DtmfInfo(digit="1", track="inbound_track")
    stop = decode_inbound(json.dumps(TWILIO_STOP))
    assert isinstance(stop, StopMessage)
    assert stop.stop == StopInfo(account_sid="AC123", call_sid="CA123")


def test_outbound_messages_have_twilios_field_names() -> None:
    media = encode_message(
        OutboundMediaMessage(stream_sid=SID, media=OutboundMedia(payload=b"\x01\x02"))
    )
    assert json.loads(media) == {
        "event": "media",
        "streamSid": SID,
        "media": {"payload": base64.b64encode(b"\x01\x02").decode()},
    }
    mark = encode_message(OutboundMarkMessage(stream_sid=SID, mark=MarkInfo(name="m1")))
    assert json.loads(mark) == {"event": "mark", "streamSid": SID, "mark": {"name": "m1"}}
    assert json.loads(encode_message(ClearMessage(stream_sid=SID))) == {
        "event": "clear",
        "streamSid": SID,
    }
    assert decode_outbound(mark) == OutboundMarkMessage(stream_sid=SID, mark=MarkInfo(name="m1"))


def test_unknown_and_malformed_frames_are_typed_not_raised() -> None:
    assert decode_inbound('{"event": "transcription"}') == MalformedMessage(
        "unknown event 'transcription'", "transcription", unknown=True
    )
    bad = decode_inbound('{"event": "media", "streamSid": "MZ1", "sequenceNumber": "2"}')
    assert isinstance(bad, MalformedMessage) and bad.event == "media" and not bad.unknown
    assert "media" in bad.reason
    payload = decode_inbound(
        '{"event":"media","streamSid":"MZ1","sequenceNumber":"2","media":{"payload":"!!"}}'
    )
    assert isinstance(payload, MalformedMessage) and "!!" not in payload.reason
    assert isinstance(decode_inbound("not json"), MalformedMessage)
    assert isinstance(decode_inbound("[1, 2]"), MalformedMessage)
    assert isinstance(decode_inbound('{"event": "start"}' + " " * (1 << 20)), MalformedMessage)
    # A decoder for the other direction refuses inbound-only events the same way.
    assert decode_outbound(json.dumps(TWILIO_DTMF)) == MalformedMessage(
        "unknown event 'dtmf'", "dtmf", unknown=True
    )


_sid = st.text(min_size=1, max_size=34)
_seq = st.integers(min_value=1, max_value=10**9).map(str)
_inbound = st.one_of(
    st.builds(ConnectedMessage, protocol=st.text(max_size=8), version=st.text(max_size=8)),
    st.builds(
        StartMessage,
        sequence_number=_seq,
        stream_sid=_sid,
        start=st.builds(
            StartInfo,
            stream_sid=_sid,
            call_sid=_sid,
            account_sid=_sid,
            tracks=st.lists(st.sampled_from(["inbound", "outbound"]), max_size=2),
            custom_parameters=st.dictionaries(st.text(max_size=8), st.text(max_size=8)),
        ),
    ),
    st.builds(
        MediaMessage,
        sequence_number=_seq,
        stream_sid=_sid,
        media=st.builds(
            MediaPayload,
            payload=st.binary(max_size=400),
            track=st.sampled_from(["inbound", "outbound"]),
            chunk=_seq,
            timestamp=_seq,
        ),
    ),
    st.builds(MarkMessage, sequence_number=_seq, stream_sid=_sid, mark=st.builds(MarkInfo)),
    st.builds(
        DtmfMessage,
        sequence_number=_seq,
        stream_sid=_sid,
        dtmf=st.builds(DtmfInfo, digit=st.sampled_from(list("0123456789*#"))),
    ),
    st.builds(StopMessage, sequence_number=_seq, stream_sid=_sid, stop=st.builds(StopInfo)),
)


@given(_inbound)
def test_inbound_messages_round_trip(msg: Any) -> None:
    assert decode_inbound(encode_message(msg)) == msg


@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_any_frame_gives_a_message_or_a_typed_error(text: str | bytes) -> None:
    result = decode_inbound(text)
    assert isinstance(result, (*_INBOUND_TYPES, MalformedMessage))
    bridge = TwilioBridge()
    bridge.receive_twilio(text, 0.0)  # never raises
    for event in bridge.drain().events:
        assert isinstance(
            event, (CallConnected, CallStarted, DtmfReceived, CallStopped, PhoneProtocolError)
        )


@given(
    st.dictionaries(
        st.sampled_from(["event", "streamSid", "sequenceNumber", "media", "mark", "start", "stop"]),
        st.one_of(
            st.sampled_from(["media", "mark", "start", "stop", "dtmf", "connected", "x"]),
            st.integers(),
            st.none(),
            st.dictionaries(st.sampled_from(["payload", "name", "callSid"]), st.text(max_size=5)),
        ),
    )
)
def test_json_objects_with_wrong_fields_are_typed_errors(obj: dict[str, Any]) -> None:
    result = decode_inbound(json.dumps(obj))
    assert isinstance(result, (*_INBOUND_TYPES, MalformedMessage))


_INBOUND_TYPES = (
    ConnectedMessage,
    StartMessage,
    MediaMessage,
    MarkMessage,
    DtmfMessage,
    StopMessage,
)


# --------------------------------------------------------------------------- the bridge


def started_bridge(**kw: Any) -> TwilioBridge:
    bridge = TwilioBridge(**kw)
    bridge.receive_twilio(json.dumps(TWILIO_START), 0.0)
    bridge.drain()
    return bridge


def delta(data: bytes, item: str = "item_1", response: str = "resp_1") -> AudioDelta:
    raw = ResponseOutputAudioDeltaEvent(
        event_id="e",
        response_id=response,
        item_id=item,
        output_index=0,
        content_index=0,
        delta=data,
    )
    return AudioDelta(
        pcm=ulaw_decode(data), sample_rate=8000, response_id=response, item_id=item, raw=raw
    )


def sent(messages: list[str]) -> list[Any]:
    out = []
    for m in messages:
        msg = decode_outbound(m)
        assert not isinstance(msg, MalformedMessage), m
        out.append(msg)
    return out


def test_caller_audio_passes_through_and_other_tracks_are_ignored() -> None:
    bridge = started_bridge()
    bridge.receive_twilio(json.dumps(TWILIO_MEDIA), 0.02)
    outbound = dict(TWILIO_MEDIA, media=dict(TWILIO_MEDIA["media"], track="outbound"))  # type: ignore[arg-type]
    bridge.receive_twilio(json.dumps(outbound), 0.04)
    assert bridge.drain().input_audio == [b"\x7f\xff\x00\x10"]


def test_start_events_dtmf_and_stop() -> None:
    bridge = TwilioBridge()
    for msg in (TWILIO_CONNECTED, TWILIO_START, TWILIO_DTMF, TWILIO_STOP):
        bridge.receive_twilio(json.dumps(msg), 0.0)
    events = bridge.drain().events
    assert events == [
        CallConnected("Call", "1.0.0"),
        CallStarted(SID, "CA123", "AC123", ("inbound",), {"FirstName": "Jane", "LastName": "Doe"}),
        DtmfReceived("1", "inbound_track"),
        CallStopped("CA123"),
    ]
    assert bridge.ended and bridge.custom_parameters == {"FirstName": "Jane", "LastName": "Doe"}
    bridge.receive_voice(delta(b"\x00" * 800), 0.1)
    bridge.receive_twilio(json.dumps(TWILIO_MEDIA), 0.1)
    after = bridge.drain()
    assert after.to_twilio == [] and after.input_audio == []  # nothing after stop


def test_a_format_other_than_mulaw_8k_mono_ends_the_call() -> None:
    bridge = TwilioBridge()
    start = json.loads(json.dumps(TWILIO_START))
    start["start"]["mediaFormat"] = {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1}
    bridge.receive_twilio(json.dumps(start), 0.0)
    [_, error] = bridge.drain().events
    assert isinstance(error, PhoneProtocolError) and error.fatal
    assert "audio/l16" in error.message
    assert bridge.ended


def test_malformed_frame_is_an_event_and_the_call_goes_on() -> None:
    bridge = started_bridge()
    bridge.receive_twilio("{oops", 0.0)
    bridge.receive_twilio(json.dumps(TWILIO_MEDIA), 0.02)
    out = bridge.drain()
    assert [type(e) for e in out.events] == [PhoneProtocolError]
    assert out.input_audio == [b"\x7f\xff\x00\x10"]
    assert not bridge.ended


def test_audio_is_sent_in_frames_up_to_the_lead_with_marks() -> None:
    bridge = started_bridge(max_lead_ms=300, mark_interval_ms=100)
    bridge.receive_voice(delta(bytes(range(256)) * 40), 0.0)  # 1280 ms
    out = bridge.drain()
    assert out.played == [("item_1", 0.0)]  # nothing heard yet: no real-time guessing
    msgs = sent(out.to_twilio)
    media = [m for m in msgs if isinstance(m, OutboundMediaMessage)]
    marks = [m for m in msgs if isinstance(m, OutboundMarkMessage)]
    assert [len(m.media.payload) for m in media] == [160] * 15  # 300 ms
    assert len(marks) == 3 and isinstance(msgs[5], OutboundMarkMessage)
    assert bridge.lead_ms == pytest.approx(300)
    assert bridge.next_deadline() == pytest.approx(0.02)
    bridge.advance(0.019)
    assert bridge.drain().to_twilio == []  # not before the deadline
    bridge.advance(0.02)
    assert len(sent(bridge.drain().to_twilio)) == 1


def test_mark_echoes_become_playback_reports_and_clear_drops_the_rest() -> None:
    bridge = started_bridge(max_lead_ms=300, mark_interval_ms=100)
    bridge.receive_voice(delta(b"\x55" * 8000), 0.0)  # 1 s
    names = [
        m.mark.name for m in sent(bridge.drain().to_twilio) if isinstance(m, OutboundMarkMessage)
    ]
    echo = dict(TWILIO_MARK, mark={"name": names[1]})
    bridge.receive_twilio(json.dumps(echo), 0.2)
    assert bridge.drain().played == [("item_1", 200.0)]  # marks before it were played too
    bridge.receive_voice(
        Interrupted(response_id="resp_1", item_id="item_1", audio_end_ms=200), 0.21
    )
    out = sent(bridge.drain().to_twilio)
    assert out == [ClearMessage(stream_sid=SID)]
    # Twilio returns the pending mark at once: its audio was never played.
    bridge.receive_twilio(json.dumps(dict(TWILIO_MARK, mark={"name": names[2]})), 0.21)
    assert bridge.drain().played == []
    assert bridge.played_ms == 200
    # Late audio of the interrupted response is never sent.
    bridge.receive_voice(delta(b"\x55" * 800), 0.22)
    bridge.advance(1.0)
    assert bridge.drain().to_twilio == []
    assert bridge.next_deadline() is None


def test_bad_pacing_options_are_refused() -> None:
    with pytest.raises(ValueError):
        TwilioBridge(frame_ms=0)
    with pytest.raises(ValueError):
        TwilioBridge(mark_interval_ms=10, frame_ms=20)
    with pytest.raises(ValueError):
        TwilioBridge(max_lead_ms=10, frame_ms=20)


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.tuples(st.integers(1, 3000), st.floats(0.0, 0.4)), min_size=1, max_size=25),
    max_lead_ms=st.sampled_from([100.0, 200.0, 300.0, 400.0]),
    mark_ms=st.sampled_from([20.0, 60.0, 100.0]),
)
def test_pacer_invariants(
    chunks: list[tuple[int, float]], max_lead_ms: float, mark_ms: float
) -> None:
    """Whatever the deltas' sizes and arrival times: every byte goes out once and in order,
    in frames of at most 20 ms, never more than ``max_lead_ms`` ahead; marks come at most
    ``mark_ms`` apart and their echoes report exactly the audio before them."""
    bridge = started_bridge(max_lead_ms=max_lead_ms, mark_interval_ms=mark_ms)
    call = FakeTwilioCall(stream_sid=SID)
    call.start(0.0)
    call.messages_to_send()
    rng = np.random.default_rng(len(chunks))
    arrivals: list[tuple[float, bytes]] = []
    t = 0.0
    for size, gap in chunks:
        t += gap
        arrivals.append((t, rng.integers(0, 256, size, dtype=np.uint8).tobytes()))
    expected = b"".join(d for _, d in arrivals)
    total_ms = len(expected) / 8
    reports: list[tuple[str, float]] = []
    since_mark = 0.0
    now = 0.0
    pending = list(arrivals)
    for _ in range(100_000):
        candidates = [a[0] for a in pending[:1]]
        for d in (bridge.next_deadline(), call.next_deadline()):
            if d is not None:
                candidates.append(d)
        if not candidates or now > t + total_ms / 1000 + 2:
            break
        now = max(now, min(candidates))
        while pending and pending[0][0] <= now:
            _, data = pending.pop(0)
            bridge.receive_voice(delta(data), now)
        if not pending and bridge.next_deadline() is None and bridge._queue:
            bridge.receive_voice(AudioDone("resp_1", "item_1"), now)
        call.advance(now)
        for text in call.messages_to_send():
            if '"mark"' in text:
                bridge.receive_twilio(text, now)
        bridge.advance(now)
        assert bridge.lead_ms <= max_lead_ms + 1e-6
        out = bridge.drain()
        reports += out.played
        for text in out.to_twilio:
            msg = decode_outbound(text)
            if isinstance(msg, OutboundMediaMessage):
                assert 0 < len(msg.media.payload) <= 160
                since_mark += len(msg.media.payload) / 8
                assert since_mark <= mark_ms + 1e-6
            elif isinstance(msg, OutboundMarkMessage):
                since_mark = 0.0
            call.receive(text, now)
    call.advance(now + 10)
    for text in call.messages_to_send():
        if '"mark"' in text:
            bridge.receive_twilio(text, now + 10)
    reports += bridge.drain().played
    assert call.heard_audio() == expected
    assert since_mark == 0.0  # the last audio is followed by a mark
    ms = [m for _, m in reports]
    assert ms == sorted(ms) and ms[-1] == pytest.approx(total_ms)
    assert bridge.played_ms == pytest.approx(total_ms)


def test_marks_twilio_never_echoes_stay_bounded() -> None:
    bridge = started_bridge(max_lead_ms=1_000_000, mark_interval_ms=20)
    for _ in range(30):
        bridge.receive_voice(delta(b"\x00" * 8000), 0.0)  # 30 s sent at once, 1500 marks
    marks = [m for m in sent(bridge.drain().to_twilio) if isinstance(m, OutboundMarkMessage)]
    assert len(marks) == 1500
    assert len(bridge._marks) == MAX_PENDING_MARKS
    # The newest still count when they come back.
    bridge.receive_twilio(json.dumps(dict(TWILIO_MARK, mark={"name": marks[-1].mark.name})), 31.0)
    assert bridge.drain().played == [("item_1", 30_000.0)]


def test_a_session_not_in_pcmu_is_encoded_to_mulaw_8k() -> None:
    bridge = started_bridge(max_lead_ms=1000)
    pcm = (np.sin(np.arange(2400) / 10) * 8000).astype(np.int16)  # 100 ms at 24 kHz
    bridge.receive_voice(AudioDelta(pcm=pcm, sample_rate=24000, response_id="r", item_id="i"), 0.0)
    bridge.receive_voice(AudioDone("r", "i"), 0.0)
    media = [m for m in sent(bridge.drain().to_twilio) if isinstance(m, OutboundMediaMessage)]
    audio = b"".join(m.media.payload for m in media)
    assert len(audio) == 800
    heard = ulaw_decode(audio).astype(np.int32)
    assert np.abs(heard[100:700]).max() > 4000  # the tone, not silence
