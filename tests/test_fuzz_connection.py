"""Hostile bytes against the sans-IO WebSocket connection.

After a valid handshake (or instead of one), random and mutated frames arrive in
random splits. Whatever comes, ``receive_data``/``next_event`` raise nothing; they
yield server events, ``MalformedServerEvent`` or ``Connected``, and once the input
ends the connection ends in a typed ``ConnectionClosed`` or ``HandshakeRejected``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.corpus import SERVER_EVENT_SEEDS, mutate_bytes
from fuzz.wsdiff import compare
from oairt_core.connection import (
    NEED_DATA,
    Connected,
    ConnectionClosed,
    HandshakeRejected,
    MalformedServerEvent,
    RealtimeConnection,
)
from oairt_core.errors import MessageTooBig, RemoteProtocolError
from oairt_core.events import SERVER_EVENT_TYPES, UnknownServerEvent

KEY = "sk-test-fuzz-0123456789abcdef"
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
slow = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(
    opcode: int, payload: bytes, *, fin: bool = True, rsv: int = 0, mask: bool = False
) -> bytes:
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 1 << 16:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        key = b"\x01\x02\x03\x04"
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def handshake(conn: RealtimeConnection) -> bytes:
    request = conn.initiate()
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


KNOWN = (*SERVER_EVENT_TYPES.values(), UnknownServerEvent, MalformedServerEvent, Connected)


def run(conn: RealtimeConnection, pieces: list[bytes]) -> list[object]:
    """Feed ``pieces`` then EOF; collect every event; check the contract on the way."""
    out: list[object] = []
    for piece in [*pieces, b""]:
        conn.receive_data(piece or None)
        while True:
            ev = conn.next_event()
            if ev is NEED_DATA:
                break
            out.append(ev)
            if isinstance(ev, ConnectionClosed | HandshakeRejected):
                break
            assert isinstance(ev, KNOWN), type(ev)
            conn.data_to_send()  # pongs and close replies are produced, never raised
        if out and isinstance(out[-1], ConnectionClosed | HandshakeRejected):
            break
    assert out, "no event at all"
    last = out[-1]
    assert isinstance(last, ConnectionClosed | HandshakeRejected), out[-3:]
    # terminal: asked again, the same event comes back, and sending is refused typed
    assert conn.next_event() is last
    if isinstance(last, ConnectionClosed) and last.error is not None:
        assert isinstance(last.error, RemoteProtocolError)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    pieces, pos = [], 0
    for c in cuts:
        if pos >= len(data):
            break
        pieces.append(data[pos : pos + c])
        pos += c
    pieces.append(data[pos:])
    return [p for p in pieces if p]


seed_frames = st.sampled_from(SERVER_EVENT_SEEDS).map(lambda s: frame(0x1, s))
odd_frames = st.one_of(
    st.builds(frame, st.sampled_from([0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xB, 0xF]),
              st.binary(max_size=300), fin=st.booleans(), rsv=st.integers(0, 7),
              mask=st.booleans()),
    st.builds(lambda code, reason: frame(0x8, struct.pack("!H", code) + reason),
              st.integers(0, 65535), st.binary(max_size=130)),
    st.just(frame(0x1, b"\xff\xfe invalid utf-8")),
    st.just(frame(0x9, b"x" * 200)),  # control frame too long
    st.just(frame(0x9, b"ping", fin=False)),  # fragmented control frame
    st.just(frame(0x0, b"continuation without a start")),
    st.binary(min_size=1, max_size=64),  # plain garbage
)  # fmt: skip
cuts = st.lists(st.integers(1, 700), max_size=12)


@settings(slow, max_examples=300)
@given(frames=st.lists(seed_frames | odd_frames, min_size=1, max_size=8), cuts=cuts)
def test_random_frames_after_a_valid_handshake(frames: list[bytes], cuts: list[int]) -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    data = handshake(conn) + b"".join(frames)
    events = run(conn, split(data, cuts))
    assert isinstance(events[0], Connected)


@settings(slow, max_examples=300)
@given(
    frames=st.lists(seed_frames, min_size=1, max_size=6),
    ops=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 1 << 16), st.integers(0, 255)), max_size=6
    ),
    cuts=cuts,
)
def test_mutated_frame_streams(
    frames: list[bytes], ops: list[tuple[int, int, int]], cuts: list[int]
) -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    head = handshake(conn)
    run(conn, split(head + mutate_bytes(b"".join(frames), ops), cuts))


@settings(slow, max_examples=200)
@given(
    frames=st.lists(seed_frames | odd_frames, min_size=1, max_size=8),
    ops=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 1 << 16), st.integers(0, 255)), max_size=4
    ),
    cuts=cuts,
    limit=st.sampled_from([100, 1 << 20]),
)
def test_fast_path_and_wsproto_agree_on_hostile_streams(
    frames: list[bytes], ops: list[tuple[int, int, int]], cuts: list[int], limit: int
) -> None:
    # The frame fast path (oairt_core._frames) must be invisible: same events, same errors,
    # same recorded messages, same replies as wsproto alone, however the bytes are cut.
    compare(split(mutate_bytes(b"".join(frames), ops), cuts), limit=limit)


@settings(slow, max_examples=150)
@given(
    ops=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 400), st.integers(0, 255)), max_size=6
    ),
    cuts=cuts,
)
def test_mutated_handshake_responses(ops: list[tuple[int, int, int]], cuts: list[int]) -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    head = handshake(conn)
    body = frame(0x1, SERVER_EVENT_SEEDS[0])
    run(conn, split(mutate_bytes(head, ops) + body, cuts))


@settings(slow, max_examples=100)
@given(data=st.binary(max_size=2048), cuts=cuts)
def test_random_bytes_instead_of_a_handshake(data: bytes, cuts: list[int]) -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.initiate()
    events = run(conn, split(data, cuts))
    # Random bytes are never a valid 101 (the accept token is a SHA-1 of our random key).
    assert not any(isinstance(e, Connected) for e in events)


def test_good_events_survive_between_bad_ones() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    good = SERVER_EVENT_SEEDS[15]  # input_audio_buffer.cleared
    stream = (
        handshake(conn)
        + frame(0x1, b"{broken")
        + frame(0x1, good)
        + frame(0x2, b"binary")
        + frame(0x1, b'{"type":"response.done","event_id":7}')
        + frame(0x1, good)
        + frame(0x8, struct.pack("!H", 1000))
    )
    events = run(conn, [stream])
    names = [type(e).__name__ for e in events]
    assert names == [
        "Connected",
        "MalformedServerEvent",
        "InputAudioBufferClearedEvent",
        "MalformedServerEvent",
        "MalformedServerEvent",
        "InputAudioBufferClearedEvent",
        "ConnectionClosed",
    ]
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1000 and closed.clean


def test_oversized_message_is_cut_with_bounded_memory() -> None:
    limit = 1 << 20
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime", max_message_size=limit)
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    # A frame announcing 1 TiB, streamed in 64 KiB pieces: the cap stops it early.
    conn.receive_data(bytes([0x81, 127]) + struct.pack("!Q", 1 << 40))
    piece = b"a" * 65536
    tracemalloc.start()
    try:
        closed = None
        for _ in range(4096):  # 256 MiB offered
            conn.receive_data(piece)
            ev = conn.next_event()
            if isinstance(ev, ConnectionClosed):
                closed = ev
                break
            assert ev is NEED_DATA
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert closed is not None and closed.code == 1009
    assert isinstance(closed.error, MessageTooBig)
    assert peak < 8 * limit
    assert conn.data_to_send().startswith(b"\x88")  # our 1009 close frame


def test_fragmented_message_over_the_cap() -> None:
    limit = 4096
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime", max_message_size=limit)
    data = handshake(conn) + frame(0x1, b"{" + b" " * 3000, fin=False)
    data += frame(0x0, b" " * 3000, fin=False)
    events = run(conn, [data])
    closed = events[-1]
    assert isinstance(closed, ConnectionClosed) and isinstance(closed.error, MessageTooBig)


def test_rejection_body_is_capped() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.initiate()
    body = b'{"error":{"message":"' + b"x" * (1 << 20) + b'"}}'
    head = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: %d\r\n\r\n" % len(body)
    events = run(conn, [head, body[:300_000], body[300_000:]])
    rejected = events[-1]
    assert isinstance(rejected, HandshakeRejected)
    assert rejected.status_code == 401 and rejected.truncated
    assert len(rejected.body) <= 64 * 1024


def test_trickled_message_memory_stays_proportional() -> None:
    # A peer trickling tiny TCP segments must not multiply the memory a message costs.
    n = 70_000  # > 65535: the 8-byte length form is the minimal one
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    payload = b'{"type":"x","d":"' + b"a" * n  # a message that is still arriving
    data = bytes([0x81, 127]) + struct.pack("!Q", n + 100) + payload
    tracemalloc.start()
    try:
        for i in range(0, len(data), 3):
            conn.receive_data(data[i : i + 3])
            assert conn.next_event() is NEED_DATA
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4 * n
