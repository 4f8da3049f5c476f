"""atheris: the sans-IO WebSocket connection after a valid handshake.

Random or mutated server frames in random splits: ``receive_data``/``next_event``
never raise, and after EOF the connection ends in ``ConnectionClosed``. The same pieces
then go through the frame fast path and through wsproto alone (``fuzz.wsdiff``): both
must give the same events, errors, recorded messages and replies.

    .venv/bin/python -m fuzz.fuzz_connection -runs=100000 -max_len=65536
"""

from __future__ import annotations

import base64
import hashlib
import struct
import sys

import atheris

with atheris.instrument_imports(include=["oairt_core", "wsproto"]):
    from oairt_core.connection import (
        NEED_DATA,
        ConnectionClosed,
        HandshakeRejected,
        RealtimeConnection,
    )

from fuzz._common import structured
from fuzz.corpus import SERVER_EVENT_SEEDS
from fuzz.wsdiff import compare

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
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


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    conn = RealtimeConnection(
        api_key="sk-fuzz-0123456789", model="gpt-realtime", max_message_size=1 << 20
    )
    stream = handshake(conn)
    frames_part = b""
    for _ in range(fdp.ConsumeIntInRange(1, 6)):
        kind = fdp.ConsumeIntInRange(0, 3)
        if kind == 0:
            frames_part += frame(0x1, structured(fdp, SERVER_EVENT_SEEDS))
        elif kind == 1:
            frames_part += frame(
                fdp.ConsumeIntInRange(0, 255), fdp.ConsumeBytes(200), fdp.ConsumeBool()
            )
        elif kind == 2:
            frames_part += bytes(fdp.ConsumeBytes(64))
        else:
            frames_part += frame(0x8, struct.pack("!H", fdp.ConsumeIntInRange(0, 65535)))
    stream += frames_part
    pieces, pos = [], 0
    while pos < len(stream):
        # Once the fuzzer's bytes run out, feed the rest at once (1-byte steps on a
        # 100 KB input cost seconds and find nothing new).
        step = fdp.ConsumeIntInRange(1, 4096) if fdp.remaining_bytes() else len(stream)
        pieces.append(stream[pos : pos + step])
        pos += step
    head = len(stream) - len(frames_part)
    compare(_after_handshake(pieces, head), limit=1 << 20)
    for piece in pieces:
        conn.receive_data(piece)
        while (ev := conn.next_event()) is not NEED_DATA:
            conn.data_to_send()
            if isinstance(ev, (ConnectionClosed, HandshakeRejected)):
                return
    conn.receive_data(None)
    while (ev := conn.next_event()) is not NEED_DATA:
        if isinstance(ev, (ConnectionClosed, HandshakeRejected)):
            return
    raise AssertionError("the connection did not end in a typed event after EOF")


def _after_handshake(pieces: list[bytes], head: int) -> list[bytes]:
    """The same cuts, minus the first ``head`` bytes (each connection has its own 101)."""
    out, skipped = [], 0
    for piece in pieces:
        drop = min(len(piece), head - skipped)
        skipped += drop
        if piece[drop:]:
            out.append(piece[drop:])
    return out


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
