"""The WebSocket fast path (``oairt_core._frames``) against wsproto, the reference.

Differential: the same random frame streams, cut at random places, go to a connection
with the fast path and to one where every byte goes through wsproto; both must produce
the same events, the same errors, the same recorded messages and the same replies
(pongs, close frames). Client frames the fast path builds must parse, through wsproto's
server side, into exactly the message that was sent, under a fresh random mask.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol, Opcode

from fuzz.corpus import SERVER_EVENT_SEEDS
from oairt_core import _frames
from oairt_core.codec import decode_client_event
from oairt_core.connection import (
    NEED_DATA,
    Connected,
    ConnectionClosed,
    MalformedServerEvent,
    RealtimeConnection,
)
from oairt_core.events import (
    InputAudioBufferAppendEvent,
)
from tests.test_fuzz_connection import KEY, handshake

slow = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- frames


def raw_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv: int = 0,
    mask: bytes | None = None,
    form: int | None = None,
) -> bytes:
    """Any frame, including broken ones: ``form`` forces the 7/16/64-bit length form."""
    n = len(payload)
    if form is None:
        form = 7 if n < 126 else 16 if n < 65536 else 64
    m = 0x80 if mask is not None else 0
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    if form == 7:
        head += bytes([m | n])
    elif form == 16:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask is not None:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


texts = st.one_of(
    st.sampled_from(SERVER_EVENT_SEEDS),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
    st.just(b""),
    st.just(b"BOOM: the recording hook raises on this one"),
    # 16-bit and 64-bit length forms
    st.integers(126, 3000).map(lambda n: b'{"type":"x","pad":"' + b"a" * n + b'"}'),
    st.integers(65536, 70000).map(
        lambda n: b'{"type":"y","pad":"' + b"\xc3\xa9" * (n // 2) + b'"}'
    ),
)
bad_utf8 = st.sampled_from(
    [b"\xff", b"ok \xc3", b"\xed\xa0\x80 surrogate", b"\xc3\x28", b"a" * 200 + b"\x80"]
)


@st.composite
def fragmented(draw: Any) -> bytes:
    opcode = draw(st.sampled_from([0x1, 0x2]))
    body = draw(texts | bad_utf8)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), min_size=1, max_size=3)))
    parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    out = b""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        out += raw_frame(opcode if i == 0 else 0x0, part, fin=last)
        if not last and draw(st.booleans()):
            out += raw_frame(0x9, b"mid-message ping")  # control frames may interleave
    return out


frames = st.one_of(
    texts.map(lambda p: raw_frame(0x1, p)),
    texts.map(lambda p: raw_frame(0x1, p)),  # the common case, twice as likely
    bad_utf8.map(lambda p: raw_frame(0x1, p)),
    st.binary(max_size=300).map(lambda p: raw_frame(0x2, p)),
    st.binary(max_size=125).map(lambda p: raw_frame(0x9, p)),
    st.binary(max_size=125).map(lambda p: raw_frame(0xA, p)),
    st.builds(
        lambda code, reason: raw_frame(0x8, struct.pack("!H", code) + reason),
        st.sampled_from([1000, 1001, 1002, 1005, 1006, 1011, 999, 3000, 4999, 5000]),
        st.sampled_from([b"", b"bye", b"\xff bad reason"]),
    ),
    st.just(raw_frame(0x8, b"")),
    st.just(raw_frame(0x8, b"\x03")),
    fragmented(),
    st.builds(raw_frame, st.just(0x1), texts, mask=st.binary(min_size=4, max_size=4)),
    st.builds(raw_frame, st.sampled_from([0x1, 0x2, 0x9]), texts, rsv=st.integers(1, 7)),
    st.builds(raw_frame, st.sampled_from([0x3, 0x7, 0xB, 0xF]), st.binary(max_size=20)),
    st.builds(  # non-minimal length forms
        raw_frame,
        st.just(0x1),
        st.binary(max_size=130).map(lambda b: b.decode("latin-1").encode("utf-8")[:125]),
        form=st.sampled_from([16, 64]),
    ),
    st.just(bytes([0x81, 127]) + struct.pack("!Q", 1 << 63) + b"x"),  # top bit set
    st.just(bytes([0x81, 127]) + struct.pack("!Q", 1 << 40)),  # a frame that never ends
    st.just(raw_frame(0x9, b"p" * 126)),  # control frame too long
    st.just(raw_frame(0x9, b"p", fin=False)),  # fragmented control frame
    st.just(raw_frame(0x0, b"continuation without a start")),
    st.binary(min_size=1, max_size=40),  # garbage
)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    pieces, pos = [], 0
    for c in cuts:
        if pos >= len(data):
            break
        pieces.append(data[pos : pos + c])
        pos += c
    pieces.append(data[pos:])
    return [p for p in pieces if p]


# ------------------------------------------------------------------------ comparison


@contextmanager
def wsproto_only() -> Iterator[None]:
    """The reference: wsproto is never reported idle, so no frame takes the fast path."""
    with mock.patch("oairt_core.connection.frames_idle", lambda conn: False):
        yield


def server_view(outgoing: bytes) -> list[tuple[Opcode, object]]:
    """What a server's wsproto reads from our bytes (masks removed, checked as a server)."""
    proto = FrameProtocol(client=False, extensions=[])
    proto.receive_bytes(outgoing)
    return [(f.opcode, f.payload) for f in proto.received_frames()]


def norm(ev: object) -> object:
    if isinstance(ev, Connected):
        return "connected"  # its headers carry the per-connection accept token
    if isinstance(ev, MalformedServerEvent):
        return ("malformed", type(ev.error), str(ev.error), ev.raw)
    if isinstance(ev, ConnectionClosed):
        err = ev.error
        return (ev.code, ev.reason, ev.clean, ev.initiated_locally, type(err), str(err))
    return ev


class Hook:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, side: str, text: str) -> None:
        if text.startswith("BOOM"):
            raise RuntimeError("hook failed")
        self.seen.append((side, text))


def drive(
    pieces: list[bytes], *, limit: int, close_at: int | None, fast: bool
) -> dict[str, object]:
    hook = Hook()
    conn = RealtimeConnection(
        api_key=KEY, model="gpt-realtime", max_message_size=limit, on_message=hook
    )
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    assert conn._fast is fast  # the fast path is engaged exactly when asked for
    events: list[object] = []
    hook_errors = 0
    out = b""
    done = False
    for i, piece in enumerate([*pieces, b""]):
        if done:
            break
        if i == close_at and conn.closed is None:
            out += conn.close(1000, "done")
        try:
            conn.receive_data(piece or None)
        except RuntimeError:
            hook_errors += 1
        while (ev := conn.next_event()) is not NEED_DATA:
            events.append(norm(ev))
            if isinstance(ev, ConnectionClosed):
                done = True
                break
        out += conn.data_to_send()
    return {
        "events": events,
        "recorded": hook.seen,
        "hook_errors": hook_errors,
        "state": conn.state,
        "sent": server_view(out),
    }


@settings(slow, max_examples=400)
@given(
    stream=st.lists(frames, min_size=1, max_size=8),
    cuts=st.lists(st.integers(1, 2000), max_size=10),
    limit=st.sampled_from([64, 4096, 1 << 20]),
    close_at=st.none() | st.integers(0, 6),
)
def test_fast_path_matches_wsproto(
    stream: list[bytes], cuts: list[int], limit: int, close_at: int | None
) -> None:
    pieces = split(b"".join(stream), cuts)
    fast = drive(pieces, limit=limit, close_at=close_at, fast=True)
    with wsproto_only():
        reference = drive(pieces, limit=limit, close_at=close_at, fast=False)
    assert fast == reference


@pytest.mark.parametrize("cut", [None, 7, 60])
def test_a_raising_hook_loses_no_later_frame(cut: int | None) -> None:
    boom = raw_frame(0x1, b"BOOM")
    seed = raw_frame(0x1, SERVER_EVENT_SEEDS[15])
    data = seed + boom + seed + raw_frame(0x9, b"ping") + seed + boom
    pieces = [data] if cut is None else [data[: len(seed) + cut], data[len(seed) + cut :]]
    pieces.append(seed)  # the bytes after a raise are parsed on the next read
    fast = drive(pieces, limit=1 << 20, close_at=None, fast=True)
    with wsproto_only():
        reference = drive(pieces, limit=1 << 20, close_at=None, fast=False)
    assert fast == reference
    assert fast["hook_errors"] == 2
    # the two frames between the raising ones were parsed on a later read, not dropped
    assert len(fast["recorded"]) >= 3  # type: ignore[arg-type]
    assert fast["sent"] == [(Opcode.PONG, b"ping")]


def test_the_fast_path_carries_plain_text_frames() -> None:
    # A plain text frame never reaches wsproto; a ping hands over and the path resumes.
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    frames = conn._frames
    assert frames is not None
    seed = SERVER_EVENT_SEEDS[15]
    with mock.patch.object(frames, "receive_data", side_effect=AssertionError("wsproto")):
        conn.receive_data(raw_frame(0x1, seed) * 3)
    assert [type(conn.next_event()).__name__ for _ in range(3)] == [
        "InputAudioBufferClearedEvent"
    ] * 3
    conn.receive_data(raw_frame(0x1, seed) + raw_frame(0x9, b"hi") + raw_frame(0x1, seed))
    assert conn.next_event() == conn.next_event()  # both text events, in order
    assert conn.next_event() is NEED_DATA
    assert server_view(conn.data_to_send()) == [(Opcode.PONG, b"hi")]
    assert conn._fast  # idle again after the ping


def test_a_bytearray_read_takes_the_fast_path_too() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    buf = bytearray(raw_frame(0x1, SERVER_EVENT_SEEDS[15]) + raw_frame(0x9, b"x"))
    conn.receive_data(buf)
    buf[:] = b"\0" * len(buf)  # the caller reuses its buffer: nothing may alias it
    assert type(conn.next_event()).__name__ == "InputAudioBufferClearedEvent"
    assert server_view(conn.data_to_send()) == [(Opcode.PONG, b"x")]


def test_a_frame_cut_by_a_read_is_finished_by_wsproto() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    data = raw_frame(0x1, SERVER_EVENT_SEEDS[15])
    conn.receive_data(data[:5])
    assert not conn._fast and conn.next_event() is NEED_DATA
    conn.receive_data(data[5:] + data)
    assert conn._fast
    assert type(conn.next_event()) is type(conn.next_event()) is not MalformedServerEvent
    assert conn.next_event() is NEED_DATA


def test_fast_path_needs_the_wsproto_state_it_reads() -> None:
    # frames_idle reads wsproto's private state; if a wsproto release moves it, this fails
    # (the connection would still be correct, only slow).
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert conn._frames is not None and _frames.frames_idle(conn._frames)


XOR_PATHS = ["c", "numpy", "int"]


@contextmanager
def xor_path(path: str) -> Iterator[None]:
    """Mask with websockets' C function (what ships), numpy, or the big-integer XOR."""
    if path == "c":
        assert _frames._find_c_mask() is not None  # websockets is a dependency
        yield
        return
    with (
        mock.patch.object(_frames, "_c_mask", None),
        mock.patch.object(_frames, "_c_mask_looked_up", True),
    ):
        if path == "numpy":
            import numpy  # noqa: F401

            yield
        else:
            with mock.patch.dict(sys.modules, {"numpy": None}):
                yield


@pytest.mark.parametrize("path", XOR_PATHS)
@pytest.mark.parametrize("n", [0, 1, 3, 4, 15, 16, 17, 125, 126, 65535, 65536, 70001])
def test_client_frames_parse_as_sent_on_the_server_side(n: int, path: str) -> None:
    payload = ("é" * n).encode("utf-8")[:n].decode("utf-8", "ignore").encode("utf-8")
    with xor_path(path):
        out = _frames.masked_text_frame(payload, os.urandom(4))
    assert out[1] & 0x80  # masked
    assert server_view(out) == [(Opcode.TEXT, payload.decode("utf-8"))]


@settings(slow, max_examples=300)
@given(text=st.text(max_size=3000), path=st.sampled_from(XOR_PATHS))
def test_random_client_text_survives_the_mask(text: str, path: str) -> None:
    with xor_path(path):
        out = _frames.masked_text_frame(text.encode("utf-8"), os.urandom(4))
    assert server_view(out) == [(Opcode.TEXT, text)]


@settings(slow, max_examples=200)
@given(data=st.binary(max_size=5000), key=st.binary(min_size=4, max_size=4))
def test_both_xor_paths_agree(data: bytes, key: bytes) -> None:
    results = []
    for path in XOR_PATHS:
        with xor_path(path):
            results.append(_frames.unmask(key, data))
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert results == [expected] * len(XOR_PATHS)


@settings(slow, max_examples=100)
@given(pcm=st.binary(max_size=70000))
def test_sent_events_parse_back_on_the_server_side(pcm: bytes) -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    ev = InputAudioBufferAppendEvent(audio=pcm)
    [(opcode, text)] = server_view(conn.send(ev))
    assert opcode is Opcode.TEXT and isinstance(text, str)
    assert decode_client_event(text) == ev


def test_send_and_send_raw_frames_parse_back_to_the_event() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    ev = InputAudioBufferAppendEvent(audio=bytes(range(256)) * 10)
    [(opcode, text)] = server_view(conn.send(ev))
    assert opcode is Opcode.TEXT and isinstance(text, str)
    assert decode_client_event(text) == ev
    assert server_view(conn.send_raw('{"type":"response.create"}')) == [
        (Opcode.TEXT, '{"type":"response.create"}')
    ]


def test_each_client_frame_gets_a_fresh_key_from_the_os() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    assert isinstance(conn.next_event(), Connected)
    keys = [conn.send_raw("{}")[2:6] for _ in range(1000)]  # several pools' worth
    assert len(set(keys)) > 990  # a constant (or reused) key would give 1
    # Every key is the next unused 4 bytes the OS gave: none made up, none used twice.
    pools = [bytes(range(i, i + 128)) * 4 for i in range(3)]  # 512 bytes each
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.receive_data(handshake(conn))
    conn.next_event()
    with mock.patch("os.urandom", side_effect=pools) as rnd:
        frames = [conn.send_raw("abcd") for _ in range(200)]
    assert rnd.call_args_list == [mock.call(512), mock.call(512)]
    drawn = b"".join(f[2:6] for f in frames)
    assert drawn == (pools[0] + pools[1])[: 200 * 4]
    assert frames[1] == b"\x81\x84\x04\x05\x06\x07" + bytes(
        [0x61 ^ 4, 0x62 ^ 5, 0x63 ^ 6, 0x64 ^ 7]
    )


def test_mask_keys_of_two_connections_are_drawn_apart() -> None:
    a, b = _frames.MaskKeys(), _frames.MaskKeys()
    with mock.patch("os.urandom", side_effect=[b"A" * 512, b"B" * 512]):
        assert (a.next(), b.next(), a.next()) == (b"AAAA", b"BBBB", b"AAAA")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (raw_frame(0x1, b"hi"), (b"hi", 4)),
        (raw_frame(0x1, "é".encode()), ("é".encode(), 4)),
        (raw_frame(0x1, b"a" * 200), (b"a" * 200, 204)),
        (raw_frame(0x1, b"a" * 70000), (b"a" * 70000, 70010)),
        (raw_frame(0x1, b"hi", fin=False), (None, 0)),
        (raw_frame(0x1, b"hi", rsv=4), (None, 0)),
        (raw_frame(0x1, b"hi", mask=b"abcd"), (None, 0)),
        (raw_frame(0x2, b"hi"), (None, 0)),
        (raw_frame(0x1, b"hi", form=16), (None, 0)),
        (raw_frame(0x1, b"a" * 200, form=64), (None, 0)),
        (raw_frame(0x1, b"\xff"), (None, 0)),
        (raw_frame(0x1, b"a" * 1001), (None, 0)),  # over the limit of 1000
        (raw_frame(0x1, b"hello")[:-1], (None, 0)),
        (b"\x81", (None, 0)),
    ],
)
def test_text_frame_at_accepts_only_the_plain_shape(data: bytes, expected: object) -> None:
    assert _frames.text_frame_at(data, 0, 1000 if len(data) < 2000 else 1 << 20) == expected
    text, end = _frames.text_frame_at(b"junk" + data, 4, 1 << 20)  # at an offset too
    if len(data) != 1005:  # the only case the larger limit changes
        assert (text, end and end - 4) == expected


def test_unmask_round_trips() -> None:
    key = os.urandom(4)
    data = os.urandom(1001)
    assert _frames.unmask(key, _frames.unmask(key, data)) == data
