"""The codec: tolerant reading of real wire shapes, typed errors for bad bytes."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core import codec
from oairt_core import events as ev
from oairt_core import models as m
from oairt_core.errors import InvalidClientEvent, LocalProtocolError, RemoteProtocolError
from tests.test_models_examples import CLIENT_EXAMPLES, SERVER_EXAMPLES

# A session.created as the GA server really sends it: extra keys and explicit nulls.
WIRE_SESSION_CREATED = {
    "type": "session.created",
    "event_id": "event_C1",
    "session": {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_C1",
        "model": "gpt-realtime-2025-08-28",
        "output_modalities": ["audio"],
        "instructions": "Your knowledge cutoff is 2023-10.",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 1756324625,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 200,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1,
            },
        },
        "include": None,
    },
}


def _dec(obj: object) -> ev.ServerEvent:
    return codec.decode_server_event(json.dumps(obj).encode())


def test_wire_session_created_decodes() -> None:
    event = _dec(WIRE_SESSION_CREATED)
    assert isinstance(event, ev.SessionCreatedEvent)
    session = event.session
    assert isinstance(session, m.RealtimeSessionConfig)
    assert session.tracing is None and session.prompt is None and session.include is None
    assert session.max_output_tokens == "inf"
    assert isinstance(session.audio, m.AudioConfig)
    assert isinstance(session.audio.input, m.AudioInputConfig)
    assert session.audio.input.format == m.PCMFormat(rate=24000)
    td = session.audio.input.turn_detection
    assert isinstance(td, m.ServerVad) and td.silence_duration_ms == 200
    assert td.idle_timeout_ms is None
    assert isinstance(session.audio.output, m.AudioOutputConfig)
    assert session.audio.output.speed == 1.0


def test_transcription_session_is_told_apart_by_type() -> None:
    event = _dec(
        {
            "type": "session.updated",
            "event_id": "e",
            "session": {
                "type": "transcription",
                "object": "realtime.transcription_session",
                "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}},
            },
        }
    )
    assert isinstance(event, ev.SessionUpdatedEvent)
    assert isinstance(event.session, m.TranscriptionSessionConfig)


def test_wire_turn_items_decode() -> None:
    # The captured server-VAD turn: user audio part with transcript null and no audio.
    added = _dec(
        {
            "type": "conversation.item.added",
            "event_id": "e1",
            "previous_item_id": None,
            "item": {
                "id": "item_1",
                "type": "message",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            },
        }
    )
    assert isinstance(added, ev.ConversationItemAddedEvent)
    assert added.previous_item_id is None
    assert isinstance(added.item, m.MessageItem)
    assert added.item.content == [m.InputAudioContent(transcript=None)]

    created = _dec(
        {
            "type": "response.created",
            "event_id": "e2",
            "response": {
                "object": "realtime.response",
                "id": "resp_1",
                "status": "in_progress",
                "status_details": None,
                "output": [],
                "conversation_id": "conv_1",
                "output_modalities": ["audio"],
                "max_output_tokens": "inf",
                "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "x"}},
                "usage": None,
                "metadata": None,
            },
        }
    )
    assert isinstance(created, ev.ResponseCreatedEvent)
    assert created.response.usage is None and created.response.output == []

    part = _dec(
        {
            "type": "response.content_part.added",
            "event_id": "e3",
            "response_id": "resp_1",
            "item_id": "item_2",
            "output_index": 0,
            "content_index": 0,
            "part": {"type": "audio", "transcript": ""},
        }
    )
    assert isinstance(part, ev.ResponseContentPartAddedEvent)
    assert part.part == m.ResponseContentPart(type="audio", transcript="")


@pytest.mark.parametrize(
    ("wire", "cls"),
    [
        ("text", m.OutputTextContent),
        ("output_text", m.OutputTextContent),
        ("audio", m.OutputAudioContent),
        ("output_audio", m.OutputAudioContent),
    ],
)
def test_text_and_audio_spellings_are_both_accepted(wire: str, cls: type) -> None:
    event = _dec(
        {
            "type": "response.output_item.done",
            "event_id": "e",
            "response_id": "r",
            "output_index": 0,
            "item": {
                "type": "message",
                "role": "assistant",
                "content": [{"type": wire, "text": "hi", "transcript": "hi", "format": "pcm16"}],
            },
        }
    )
    assert isinstance(event, ev.ResponseOutputItemDoneEvent)
    assert isinstance(event.item, m.MessageItem)
    assert isinstance(event.item.content[0], cls)


@pytest.mark.parametrize("spelling", ["text", "audio", "output_text", "output_audio", None])
def test_content_part_event_accepts_any_part_spelling(spelling: str | None) -> None:
    part: dict[str, object] = {"text": "x"}
    if spelling is not None:
        part["type"] = spelling
    event = _dec(
        {
            "type": "response.content_part.done",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "part": part,
        }
    )
    assert isinstance(event, ev.ResponseContentPartDoneEvent)
    assert event.part.type == spelling and event.part.text == "x"


def test_dtmf_has_no_event_id() -> None:
    event = _dec(
        {"type": "input_audio_buffer.dtmf_event_received", "event": "#", "received_at": 17}
    )
    assert event == ev.InputAudioBufferDtmfEventReceivedEvent(event="#", received_at=17)


def test_unknown_keys_are_ignored_everywhere() -> None:
    event = _dec(
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": "e",
            "response_id": "r",
            "item_id": "i",
            "output_index": 0,
            "content_index": 0,
            "delta": "he",
            "obfuscation": "Zx9",
            "something_new": {"nested": [1, 2, 3]},
        }
    )
    assert isinstance(event, ev.ResponseOutputAudioTranscriptDeltaEvent)
    assert event.delta == "he"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"response.brand_new","event_id":"e","x":[1,{"y":null}]}',
        b'{"type":" input_audio_buffer.dtmf_event_received","event":"1","received_at":1}',
        b'{"event_id":"e","type":"response.audio.delta","delta":"AAAA"}',  # beta name
    ],
)
def test_unknown_type_becomes_unknown_server_event(raw: bytes) -> None:
    event = codec.decode_server_event(raw)
    assert isinstance(event, ev.UnknownServerEvent)
    assert event.raw == raw
    assert event.type == json.loads(raw)["type"]
    # ... and a fake server can send it back verbatim.
    assert codec.encode_server_event(event) == raw
    assert codec.decode_server_event(raw.decode()) == event


def test_buffers_decode_like_bytes() -> None:
    raw = b'{"type":"input_audio_buffer.cleared","event_id":"e"}'
    expected = ev.InputAudioBufferClearedEvent(event_id="e")
    assert codec.decode_server_event(bytearray(raw)) == expected
    assert codec.decode_server_event(memoryview(raw)) == expected
    unknown = codec.decode_server_event(memoryview(b'{"type":"new.thing"}'))
    assert unknown == ev.UnknownServerEvent(type="new.thing", raw=b'{"type":"new.thing"}')
    assert type(unknown.raw) is bytes
    assert codec.decode_client_event(bytearray(b'{"type":"input_audio_buffer.commit"}')) == (
        ev.InputAudioBufferCommitEvent()
    )


def test_missing_field_names_event_and_field() -> None:
    raw = (
        b'{"type":"response.output_audio.delta","event_id":"e","response_id":"r",'
        b'"item_id":"i","output_index":0,"content_index":0}'
    )
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_server_event(raw)
    assert str(info.value) == ("response.output_audio.delta: Object missing required field `delta`")


def test_nested_error_names_the_path() -> None:
    bad = json.loads(json.dumps(WIRE_SESSION_CREATED))
    bad["session"]["audio"]["input"]["turn_detection"]["threshold"] = "high"
    with pytest.raises(RemoteProtocolError) as info:
        _dec(bad)
    msg = str(info.value)
    assert msg.startswith("session.created: ")
    assert "$.session.audio.input.turn_detection.threshold" in msg


N = 100_000
BAD_BYTES = [
    b"",
    b" ",
    b"null",
    b"[]",
    b"42",
    b'"str"',
    b"{",
    b'{"type":"input_audio_buffer.cleared","event_id":"e"',  # truncated
    b'{"type":"input_audio_buffer.cleared","event_id":"e"}}',  # trailing garbage
    b'{"type":"input_audio_buffer.cleared","event_id":5}',  # wrong type
    b'{"type":"input_audio_buffer.cleared"}',  # missing event_id
    b'{"type":null}',
    b'{"type":5,"event_id":"e"}',
    b'{"event_id":"e"}',
    b"\xff\xfe\x00",
    b'{"type":"input_audio_buffer.cleared","event_id":"\xff"}',  # non-UTF-8 in a string
    b"1e999999",
    b'{"type":"conversation.item.truncated","event_id":"e","item_id":"i","content_index":0,'
    b'"audio_end_ms":1e999999}',
    b'{"type":"conversation.item.truncated","event_id":"e","item_id":"i","content_index":0,'
    b'"audio_end_ms":' + str(10**400).encode() + b"}",
    b'{"type":"rate_limits.updated","event_id":"e","rate_limits":[{"reset_seconds":1e999}]}',
    b'{"type":"input_audio_buffer.speech_started","event_id":"e","item_id":"i",'
    b'"audio_start_ms":NaN}',
    b"[" * N + b"]" * N,
    b'{"a":' * N + b"1" + b"}" * N,
    b'{"type":"error","event_id":"e","error":{"type":"x","message":"y","z":'
    + b"[" * N
    + b"]" * N
    + b"}}",
    b'{"type":"session.created","event_id":"e","session":{"type":"realtime","tools":'
    b'[{"type":"function","parameters":{"a":' + b"[" * N + b"]" * N + b"}}]}}",
    b'{"type":"response.output_audio.delta","event_id":"e","response_id":"r","item_id":"i",'
    b'"output_index":0,"content_index":0,"delta":"A"}',  # bad base64
    b'{"type":"response.output_audio.delta","event_id":"e","response_id":"r","item_id":"i",'
    b'"output_index":0,"content_index":0,"delta":"A\\ud800"}',
]


@pytest.mark.parametrize("raw", BAD_BYTES, ids=range(len(BAD_BYTES)))
def test_bad_bytes_raise_only_remote_protocol_error(raw: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        codec.decode_server_event(raw)
    with pytest.raises(RemoteProtocolError):
        codec.decode_client_event(raw)


def test_bad_str_input() -> None:
    for text in ['{"type":"x\ud800"}', '{"type":"input_audio_buffer.cleared","event_id":"\udfff"}']:
        with pytest.raises(RemoteProtocolError):
            codec.decode_server_event(text)
        with pytest.raises(RemoteProtocolError):
            codec.decode_client_event(text)


def test_error_messages_do_not_leak_secrets() -> None:
    raw = (
        b'{"type":"error","event_id":"e","error":{"type":"x","message":5,"param":"sk-abcdef1234"}}'
    )
    with pytest.raises(RemoteProtocolError) as info:
        codec.decode_server_event(raw)
    assert "sk-abcdef" not in str(info.value)
    raw = b'{"type":"sk-abcdefghijk1234"}'
    with pytest.raises(RemoteProtocolError) as info2:
        codec.decode_client_event(raw)
    assert "sk-abcdefghijk" not in str(info2.value)


def test_decode_client_event_rejects_unknown_and_missing_session_type() -> None:
    with pytest.raises(RemoteProtocolError, match="unknown client event type 'nope'"):
        codec.decode_client_event(b'{"type":"nope"}')
    with pytest.raises(RemoteProtocolError, match="session.update: .*`type`"):
        codec.decode_client_event(b'{"type":"session.update","session":{"instructions":"x"}}')
    with pytest.raises(RemoteProtocolError, match="input_audio_buffer.append"):
        codec.decode_client_event(b'{"type":"input_audio_buffer.append"}')


def test_client_decoder_accepts_explicit_nulls() -> None:
    event = codec.decode_client_event(
        b'{"type":"response.create","event_id":null,"response":{"prompt":null,"metadata":null}}'
    )
    assert event == ev.ResponseCreateEvent(
        event_id=None, response=m.ResponseCreateParams(prompt=None, metadata=None)
    )


def test_encode_server_event_rejects_non_server_events() -> None:
    with pytest.raises(LocalProtocolError):
        codec.encode_server_event(ev.InputAudioBufferCommitEvent())  # type: ignore[arg-type]


def test_encode_client_event_rejects_non_client_events() -> None:
    with pytest.raises(InvalidClientEvent) as info:
        codec.encode_client_event(ev.InputAudioBufferClearedEvent(event_id="e"))  # type: ignore[arg-type]
    assert info.value.field == "type"


def test_encode_client_event_rejects_unencodable_values() -> None:
    event = ev.SessionUpdateEvent(
        session=m.RealtimeSessionConfig(tools=[m.FunctionTool(parameters={"x": object()})])
    )
    with pytest.raises(InvalidClientEvent):
        codec.encode_client_event(event)
    bad_id = ev.InputAudioBufferAppendEvent(audio=b"", event_id=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidClientEvent):
        codec.encode_client_event(bad_id)


def test_append_audio_must_be_bytes() -> None:
    with pytest.raises(InvalidClientEvent) as info:
        codec.encode_client_event(ev.InputAudioBufferAppendEvent(audio="AAAA"))  # type: ignore[arg-type]
    assert info.value.field == "audio"
    # bytearray and memoryview are bytes-like and fine.
    out = codec.encode_client_event(ev.InputAudioBufferAppendEvent(audio=bytearray(b"\x00\x01")))  # type: ignore[arg-type]
    assert msgspec.json.decode(out)["audio"] == "AAE="


def test_audio_is_base64_on_the_wire_and_bytes_in_python() -> None:
    event = ev.InputAudioBufferAppendEvent(audio=b"\x00\x01\x02\xff")
    wire = codec.encode_client_event(event)
    assert wire == b'{"type":"input_audio_buffer.append","audio":"AAEC/w=="}'


# --------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, a typed event or RemoteProtocolError.
# --------------------------------------------------------------------------------------

VALID_SERVER = [codec.encode_server_event(e) for e in SERVER_EXAMPLES]
VALID_CLIENT = [msgspec.json.encode(e) for e in CLIENT_EXAMPLES]


def _decode_all_ways(data: bytes) -> None:
    try:
        out = codec.decode_server_event(data)
        assert isinstance(out, (*ev.SERVER_EVENT_TYPES.values(), ev.UnknownServerEvent))
    except RemoteProtocolError:
        pass
    try:
        out2 = codec.decode_client_event(data)
        assert isinstance(out2, tuple(ev.CLIENT_EVENT_TYPES.values()))
    except RemoteProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _decode_all_ways(data)


_JUNK = [b"{", b"}", b'"', b"[", b",", b"null", b"\xff", b"9"]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    base = bytearray(draw(st.sampled_from(VALID_SERVER + VALID_CLIENT)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        if not base:
            break
        i = draw(st.integers(0, len(base) - 1))
        if op == "flip":
            base[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del base[i:]
        elif op == "insert":
            base[i:i] = draw(st.sampled_from(_JUNK))
        else:
            del base[i]
    return bytes(base)


@settings(max_examples=400, deadline=None)
@given(_mutated())
def test_fuzz_mutated_valid_events(data: bytes) -> None:
    _decode_all_ways(data)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=5), children, max_size=4)
        ),
        max_leaves=20,
    ),
    st.sampled_from(sorted(ev.SERVER_EVENT_TYPES) + ["x.unknown"]),
)
def test_fuzz_json_values_under_known_types(value: object, event_type: str) -> None:
    # Known type, arbitrary body: the decoder must still answer with an event or the error.
    body = {"type": event_type, "event_id": "e", "item": value, "response": value, "part": value}
    data = json.dumps(body).encode()
    _decode_all_ways(data)
