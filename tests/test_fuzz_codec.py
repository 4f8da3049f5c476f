"""Hostile input against the server-event decoder.

Whatever the bytes, ``decode_server_event`` returns a typed event (possibly
``UnknownServerEvent``) or raises ``RemoteProtocolError``; nothing else escapes,
and memory stays bounded on enormous input.
"""

from __future__ import annotations

import json
import tracemalloc

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.corpus import (
    HOSTILE_VALUES,
    SERVER_EVENT_SEEDS,
    hostile_json,
    mutate_bytes,
    replace_value,
)
from oairt_core.codec import decode_server_event
from oairt_core.errors import RemoteProtocolError
from oairt_core.events import SERVER_EVENT_TYPES, UnknownServerEvent

ops = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 1 << 16), st.integers(0, 255)),
    min_size=1,
    max_size=10,
)
seeds = st.sampled_from(SERVER_EVENT_SEEDS)
slow = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_checked(data: bytes | str) -> None:
    try:
        event = decode_server_event(data)
    except RemoteProtocolError as exc:
        # The message is bounded even when the input is huge.
        assert len(str(exc)) < 2000
        return
    known = tuple(SERVER_EVENT_TYPES.values())
    assert isinstance(event, (*known, UnknownServerEvent))
    # A decoded event encodes back to JSON without error: no half-built objects.
    msgspec.json.encode(event)


def test_every_seed_decodes_to_its_type() -> None:
    for seed in SERVER_EVENT_SEEDS:
        event = decode_server_event(seed)
        wire_type = json.loads(seed)["type"]
        if wire_type in SERVER_EVENT_TYPES:
            assert type(event) is SERVER_EVENT_TYPES[wire_type], wire_type
        else:
            assert isinstance(event, UnknownServerEvent)
    assert len({json.loads(s)["type"] for s in SERVER_EVENT_SEEDS} & set(SERVER_EVENT_TYPES)) == 46


@settings(slow, max_examples=300)
@given(seed=seeds, ops=ops)
def test_byte_mutations(seed: bytes, ops: list[tuple[int, int, int]]) -> None:
    decode_checked(mutate_bytes(seed, ops))


@settings(slow, max_examples=200)
@given(seed=seeds, which=st.integers(0, 500), value=st.sampled_from(HOSTILE_VALUES))
def test_hostile_values_in_real_events(seed: bytes, which: int, value: bytes) -> None:
    decode_checked(replace_value(seed, which, value))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(slow, max_examples=100)
@given(seed=seeds, which=st.integers(0, 500), value=json_values)
def test_wrong_types_in_real_events(seed: bytes, which: int, value: object) -> None:
    decode_checked(replace_value(seed, which, json.dumps(value).encode()))


@settings(slow, max_examples=300)
@given(data=st.binary(max_size=512))
def test_random_bytes(data: bytes) -> None:
    decode_checked(data)


@settings(slow, max_examples=200)
@given(text=st.text(max_size=256))
def test_random_text(text: str) -> None:
    decode_checked(text)


@settings(slow, max_examples=60)
@given(
    event_type=st.sampled_from(sorted(SERVER_EVENT_TYPES)) | st.text(max_size=30),
    body=st.dictionaries(st.text(max_size=12), json_values, max_size=6),
)
def test_right_type_wrong_body(event_type: str, body: dict[str, object]) -> None:
    body["type"] = event_type
    decode_checked(json.dumps(body))


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-nested-arrays"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="100k-nested-objects"),
        pytest.param(hostile_json(1, 100_000), id="100k-nested-in-error"),
        pytest.param(b'{"type":"response.done","event_id":"e","response":' + b"[" * 100_000,
                     id="unterminated"),
        pytest.param(hostile_json(3, 5000), id="10**5000-int"),
        pytest.param(b'{"type":"conversation.item.truncated","event_id":"e","item_id":"i",'
                     b'"content_index":0,"audio_end_ms":1e400}', id="1e400"),
        pytest.param(b'{"type":"conversation.item.truncated","event_id":"e","item_id":"i",'
                     b'"content_index":0,"audio_end_ms":' + b"1" * 100_000 + b"}", id="1e5-digits"),
        pytest.param(b'{"type":"rate_limits.updated","event_id":"e","rate_limits":'
                     b'[{"reset_seconds":1e400}]}', id="inf-float"),
        pytest.param(b'{"type":"' + b"x" * 1_000_000 + b'"}', id="1MB-type"),
        pytest.param(b'{"type":"session.updated","event_id":"e","session":{"type":"realtime",'
                     b'"tools":[{"type":"function","name":"f","parameters":'
                     + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}]}}",
                     id="100k-nested-in-free-form-dict"),
        pytest.param(b'{"type":"error","event_id":"' + b"\\ud800" * 10_000 + b'"}',
                     id="surrogates"),
    ],
)  # fmt: skip
def test_pathological_documents(doc: bytes) -> None:
    decode_checked(doc)


def test_memory_bounded_on_large_input() -> None:
    # 8 MiB of text in a delta: decoding allocates about the input size once, not a multiple.
    big = b"x" * (8 << 20)
    doc = (
        b'{"type":"response.output_text.delta","event_id":"e","response_id":"r","item_id":"i",'
        b'"output_index":0,"content_index":0,"delta":"' + big + b'"}'
    )
    broken = doc[:-2] + b"\x00}"
    tracemalloc.start()
    try:
        decode_checked(doc)
        decode_checked(broken)
        decode_checked(b"[" * 1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(doc)


def test_a_bad_event_among_good_ones_is_isolated() -> None:
    # Decoding is stateless: garbage between two good events does not spoil the second.
    good = SERVER_EVENT_SEEDS[0]
    decode_checked(good)
    with pytest.raises(RemoteProtocolError):
        decode_server_event(b'{"type":"response.done","event_id":1}')
    assert type(decode_server_event(good)) is type(decode_server_event(SERVER_EVENT_SEEDS[0]))
