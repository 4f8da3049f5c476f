"""Differential check of the WebSocket fast path against wsproto (no atheris needed).

:func:`compare` feeds one server byte stream, cut into the same pieces, to a connection
with the fast path (``oairt_core._frames``) and to one where every byte goes through
wsproto, and raises ``AssertionError`` unless both give the same events, errors,
recorded messages and replies. Used by ``fuzz/fuzz_connection.py`` (atheris) and
``tests/test_fuzz_connection.py`` (hypothesis)::

    compare([frame_bytes[:3], frame_bytes[3:]])
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from unittest import mock

from wsproto.frame_protocol import FrameProtocol

from oairt_core.connection import (
    NEED_DATA,
    Connected,
    ConnectionClosed,
    MalformedServerEvent,
    RealtimeConnection,
)

__all__ = ["compare", "outcome"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _handshake(conn: RealtimeConnection) -> bytes:
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


def _norm(ev: object) -> object:
    if isinstance(ev, Connected):
        return "connected"  # its headers carry the per-connection accept token
    if isinstance(ev, MalformedServerEvent):
        return ("malformed", type(ev.error), str(ev.error), ev.raw)
    if isinstance(ev, ConnectionClosed):
        err = ev.error
        return (ev.code, ev.reason, ev.clean, ev.initiated_locally, type(err), str(err))
    return ev


def _server_view(outgoing: bytes) -> list[tuple[Any, object]]:
    proto = FrameProtocol(client=False, extensions=[])
    proto.receive_bytes(outgoing)
    return [(f.opcode, f.payload) for f in proto.received_frames()]


def outcome(pieces: list[bytes], *, limit: int = 1 << 20, fast: bool = True) -> dict[str, object]:
    """Everything observable from feeding ``pieces`` then EOF after a valid handshake."""
    recorded: list[tuple[str, str]] = []
    conn = RealtimeConnection(
        api_key="sk-fuzz-0123456789",
        model="gpt-realtime",
        max_message_size=limit,
        on_message=lambda side, text: recorded.append((side, text)),
    )
    conn.receive_data(_handshake(conn))
    assert conn._fast is fast, "the fast path is not engaged as asked"
    events: list[object] = []
    out = b""
    for piece in [*pieces, b""]:
        conn.receive_data(piece or None)
        while (ev := conn.next_event()) is not NEED_DATA:
            events.append(_norm(ev))
            if isinstance(ev, ConnectionClosed):
                break
        out += conn.data_to_send()
        if conn.closed is not None:
            break
    assert conn.closed is not None, "no ConnectionClosed after EOF"
    return {"events": events, "recorded": recorded, "sent": _server_view(out)}


def compare(pieces: list[bytes], *, limit: int = 1 << 20) -> None:
    """Assert the fast path and wsproto alone agree on ``pieces``."""
    fast = outcome(pieces, limit=limit)
    with mock.patch("oairt_core.connection.frames_idle", lambda conn: False):
        reference = outcome(pieces, limit=limit, fast=False)
    assert fast == reference, (fast, reference)
