"""Issue 13.10: bounded reprs and honest decode errors, whatever a server sends."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core.codec import decode_client_event, decode_server_event
from oairt_core.connection import MalformedServerEvent
from oairt_core.errors import RemoteProtocolError
from oairt_core.events import SERVER_EVENT_TYPES, UnknownServerEvent
from oairt_core.models import RealtimeResponse

# Per field: 200 characters shown, plus the quotes, the marker and the field name.
FIELD_BUDGET = 300


def _delta(delta_size: int, event_id: str = "e1") -> bytes:
    return msgspec.json.encode(
        {
            "type": "response.output_audio_transcript.delta",
            "event_id": event_id,
            "response_id": "resp_1",
            "item_id": "item_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "x" * delta_size,
        }
    )


def test_a_50_mb_transcript_delta_has_a_short_repr() -> None:
    event = decode_server_event(_delta(50_000_000))
    text = repr(event)
    assert len(text) < 8 * FIELD_BUDGET  # was 50 000 139 characters
    assert "...(50000000 chars)" in text
    assert text.startswith("ResponseOutputAudioTranscriptDeltaEvent(event_id='e1', ")


def test_a_1_mb_event_id_or_unknown_type_has_a_short_repr() -> None:
    event = decode_server_event(_delta(10, event_id="i" * 1_000_000))
    assert len(repr(event)) < 8 * FIELD_BUDGET
    assert "...(1000000 chars)" in repr(event)
    unknown = decode_server_event(msgspec.json.encode({"type": "t" * 1_000_000}))
    assert isinstance(unknown, UnknownServerEvent) and len(unknown.type) == 1_000_000
    assert len(repr(unknown)) < 3 * FIELD_BUDGET


def test_nested_models_lists_and_dicts_are_bounded_too() -> None:
    huge = "m" * 1_000_000
    response = msgspec.convert(
        {
            "id": "resp_1",
            "metadata": {f"k{i}": huge for i in range(1000)},
            "output": [
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": huge}],
                }
            ]
            * 1000,
        },
        type=RealtimeResponse,
    )
    text = repr(response)
    assert len(text) < 200 * FIELD_BUDGET
    assert "...(1000 items)" in text and "...(1000000 chars)" in text


def test_short_values_keep_the_plain_repr() -> None:
    event = decode_server_event(b'{"type":"input_audio_buffer.cleared","event_id":"e1"}')
    assert repr(event) == "InputAudioBufferClearedEvent(event_id='e1')"


def test_malformed_server_event_repr_is_bounded() -> None:
    raw = b'{"type":"brand.new","x":NaN' + b" " * 1_000_000 + b"}"
    with pytest.raises(RemoteProtocolError) as info:
        decode_server_event(raw)
    assert len(repr(MalformedServerEvent(info.value, raw))) < 3 * FIELD_BUDGET


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"input_audio_buffer.cleared","event_id":"e1","type":"brand.new"}',
        b'{"type":"brand.new","event_id":"e1","type":"input_audio_buffer.cleared"}',
        b'{"type":"brand.new","type":"other.new"}',
        b'{"type":"input_audio_buffer.cleared","event_id":"e1","t\\u0079pe":"brand.new"}',
        b'{"t\\u0079pe":"brand.new","event_id":"e1","type":"input_audio_buffer.cleared"}',
    ],
)
def test_a_duplicated_type_key_is_malformed_whatever_the_order(raw: bytes) -> None:
    # Used to be UnknownServerEvent one way round and RemoteProtocolError the other.
    with pytest.raises(RemoteProtocolError, match='"type" key is given more than once'):
        decode_server_event(raw)
    with pytest.raises(RemoteProtocolError, match='"type" key is given more than once'):
        decode_client_event(raw.replace(b"input_audio_buffer.cleared", b"input_audio_buffer.clear"))


def test_a_repeated_identical_type_or_a_nested_type_is_fine() -> None:
    same = (
        b'{"type":"input_audio_buffer.cleared","event_id":"e1","type":"input_audio_buffer.cleared"}'
    )
    assert type(decode_server_event(same)).__name__ == "InputAudioBufferClearedEvent"
    nested = b'{"type":"brand.new","item":{"type":"message"},"n":' + b"9" * 5000 + b"}"
    assert isinstance(decode_server_event(nested), UnknownServerEvent)


@settings(max_examples=200, deadline=None)
@given(
    first=st.sampled_from(sorted(SERVER_EVENT_TYPES)[:8] + ["brand.new", "x"]),
    second=st.sampled_from(sorted(SERVER_EVENT_TYPES)[:8] + ["brand.new", "x"]),
)
def test_duplicate_type_outcome_does_not_depend_on_order(first: str, second: str) -> None:
    def outcome(a: str, b: str) -> str:
        raw = b'{"type":"%s","event_id":"e1","type":"%s"}' % (a.encode(), b.encode())
        try:
            return type(decode_server_event(raw)).__name__
        except RemoteProtocolError:
            return "Malformed"

    assert outcome(first, second) == outcome(second, first)
    if first != second:
        assert outcome(first, second) == "Malformed"


@pytest.mark.parametrize(
    ("raw", "cause"),
    [
        (b'{"type":"brand.new","x":NaN}', "NaN and Infinity are not JSON numbers"),
        (b'{"type":"brand.new","x":-Infinity}', "NaN and Infinity are not JSON numbers"),
        (b'{"type":"input_audio_buffer.cleared","event_id":NaN}', "NaN and Infinity"),
        (b'{"type":"brand.new","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (
            b'{"type":"input_audio_buffer.cleared","event_id":"e","x":'
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}",
            "nested too deeply",
        ),
    ],
)
def test_nan_and_deep_nesting_name_the_real_cause(raw: bytes, cause: str) -> None:
    # Used to say "Invalid value 'brand.new' - at `$.type`".
    with pytest.raises(RemoteProtocolError) as info:
        decode_server_event(raw)
    assert cause in str(info.value)
    assert "$.type" not in str(info.value)
