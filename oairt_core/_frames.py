"""The WebSocket fast path: the two frame shapes a live session is made of.

After the handshake almost every frame is one of two shapes: a whole, unfragmented,
unmasked text frame from the server (every audio delta) and a masked text frame from
us (every audio append). wsproto handles both correctly but spends most of a frame's
time in generic machinery (a generator per frame, a buffer with commit/rollback,
per-byte masking in Python). This module parses and builds exactly those two shapes
and nothing else; anything that does not fit (control frames, fragments, RSV bits,
masked server frames, non-minimal lengths, oversize, invalid UTF-8, a frame cut by a
read) is left to wsproto untouched, so the protocol decisions stay wsproto's.

>>> frame = bytes([0x81, 5]) + b"hello"
>>> text_frame_at(frame + frame, 7, 1024)
(b'hello', 14)
>>> text_frame_at(frame[:4], 0, 1024)   # cut by a read: wsproto's job
(None, 0)
>>> out = masked_text_frame(b"hello", b"\\x01\\x02\\x03\\x04")
>>> out[:2], len(out)                   # FIN + text, MASK bit + length, 4-byte key
(b'\\x81\\x85', 11)
>>> unmask(out[2:6], out[6:])
b'hello'

Masking runs in C: websockets' ``speedups.apply_mask`` (a dependency made for exactly
this; about 0.5 µs for a 20 ms audio append where numpy takes 4 and a big-integer XOR 6,
and 100 times faster than either at 1 MB). Without that extension (a pure-Python build
of websockets) it falls back to numpy or one big-integer XOR.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable
from typing import Any

from wsproto.connection import Connection, ConnectionState

__all__ = ["MaskKeys", "frames_idle", "masked_text_frame", "text_frame_at", "unmask"]

# FIN=1, RSV1-3=0, opcode 1 (text): the only first byte the fast path accepts.
_FIN_TEXT = 0x81


def text_frame_at(buf: bytes, pos: int, limit: int) -> tuple[bytes, int] | tuple[None, int]:
    """The whole server text frame starting at ``buf[pos]``: ``(payload, end)``.

    ``payload`` is the frame's UTF-8 as bytes, checked (msgspec decodes bytes as fast as
    str, so the text is never built). ``(None, 0)`` when the bytes there are anything
    else, or not all there yet: the caller hands ``buf[pos:]`` to wsproto, which decides
    (and reports any violation exactly as it always did). Accepted: FIN=1, RSV=0,
    opcode 1, no mask, the minimal length form (7, 16 or 64 bits, top bit clear),
    ``length <= limit``, valid UTF-8.
    """
    try:
        if buf[pos] != _FIN_TEXT:
            return None, 0
        length = buf[pos + 1]  # the MASK bit set makes this >= 128: refused below
        if length < 126:
            start = pos + 2
        elif length == 126:
            length = (buf[pos + 2] << 8) | buf[pos + 3]
            if length < 126:  # non-minimal: wsproto fails it
                return None, 0
            start = pos + 4
        elif length == 127:
            if len(buf) - pos < 10:
                return None, 0
            length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
            if length < 65536 or length >> 63:  # non-minimal or top bit set: wsproto fails it
                return None, 0
            start = pos + 10
        else:  # masked by the server: a protocol error wsproto reports
            return None, 0
    except IndexError:  # the header is cut by the read
        return None, 0
    end = start + length
    if length > limit or end > len(buf):
        return None, 0
    payload = buf[start:end]
    if not payload.isascii():  # ASCII is valid UTF-8; anything else is checked
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:  # wsproto reports it (1007)
            return None, 0
    return payload, end


def masked_text_frame(payload: bytes, key: bytes) -> bytes:
    """One whole client text frame for ``payload`` (UTF-8), masked with ``key``.

    ``key`` is 4 bytes from :class:`MaskKeys` (RFC 6455 5.3: a fresh, unpredictable key
    per frame); the XOR runs in C (see the module docstring) instead of a Python loop.
    """
    n = len(payload)
    if n < 126:
        header = bytes((_FIN_TEXT, 0x80 | n))
    elif n < 65536:
        header = _HEADER16(_FIN_TEXT, 0xFE, n)
    else:
        header = _HEADER64(_FIN_TEXT, 0xFF, n)
    return header + key + _xor(key, payload)


_HEADER16 = struct.Struct(">BBH").pack
_HEADER64 = struct.Struct(">BBQ").pack

# Keys drawn from the OS at a time: one os.urandom call (about 0.6 µs, a system call)
# per 128 frames instead of one per frame.
_KEY_POOL = 512


class MaskKeys:
    """The masking keys of one connection: 4 bytes each, straight from ``os.urandom``.

    The OS's CSPRNG is read 512 bytes at a time; each key is the next unused 4 of them,
    so every key is as unpredictable as a fresh ``os.urandom(4)`` and none is used twice.
    One pool per connection: nothing is shared between connections or threads.

    >>> keys = MaskKeys()
    >>> a, b = keys.next(), keys.next()
    >>> len(a), a != b
    (4, True)
    """

    __slots__ = ("_pool", "_pos")

    def __init__(self) -> None:
        self._pool = b""
        self._pos = 0

    def next(self) -> bytes:
        pos = self._pos
        if pos >= len(self._pool):
            self._pool = os.urandom(_KEY_POOL)
            pos = 0
        self._pos = pos + 4
        return self._pool[pos : pos + 4]


def unmask(key: bytes | bytearray, data: bytes | bytearray) -> bytes:
    """``data`` XOR the repeated 4-byte ``key`` (masking and unmasking are the same)."""
    return _xor(bytes(key), data)


_CMask = Callable[[Any, bytes], bytes]
_c_mask: _CMask | None = None
_c_mask_looked_up = False


def _find_c_mask() -> _CMask | None:
    """websockets' C masking function, looked up on first use.

    The extension is loaded on its own, without running ``websockets/__init__``: that
    reads the package version through ``importlib.metadata``, which costs tens of
    milliseconds and imports ``threading`` (the core imports no thread machinery). None
    when websockets is missing, built without its C extension, or laid out differently.
    """
    global _c_mask, _c_mask_looked_up
    if not _c_mask_looked_up:
        _c_mask_looked_up = True
        _c_mask = _load_c_mask()
    return _c_mask


def _load_c_mask() -> _CMask | None:
    import importlib.machinery
    import importlib.util

    try:
        package = importlib.util.find_spec("websockets")  # located, not imported
        if package is None or not package.submodule_search_locations:
            return None
        spec = importlib.machinery.PathFinder.find_spec(
            "websockets.speedups", list(package.submodule_search_locations)
        )
        if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            return None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        apply_mask: _CMask = module.apply_mask
    except (ImportError, OSError, AttributeError):
        return None
    return apply_mask


def _xor(key: bytes, data: bytes | bytearray) -> bytes:
    c_mask = _c_mask if _c_mask_looked_up else _find_c_mask()
    if c_mask is not None:
        return c_mask(data, key)
    return _xor_python(key, data)


def _xor_python(key: bytes, data: bytes | bytearray) -> bytes:
    n = len(data)
    if n < 16:
        return bytes(b ^ key[i & 3] for i, b in enumerate(data))
    stream = key * ((n >> 2) + 1)
    # numpy's XOR of two byte arrays is the fastest at audio sizes, but importing numpy
    # costs more than a session's masking: use it only when the process already has it
    # (any audio helper loads it), else one big-integer XOR.
    np: Any = sys.modules.get("numpy")
    if np is not None:
        masked: bytes = (
            np.frombuffer(data, np.uint8) ^ np.frombuffer(stream, np.uint8, n)
        ).tobytes()
        return masked
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream[:n], "little")).to_bytes(
        n, "little"
    )


def frames_idle(conn: Connection) -> bool:
    """True when wsproto stands at a frame boundary with nothing in progress.

    Only then may frames bypass it: it holds no buffered bytes, no half-parsed frame,
    no fragmented message, no queued event, and it uses no extension. Reads wsproto's
    private state (pinned by tests against the installed version); if that state ever
    moves, the answer is False and every frame simply goes through wsproto.
    """
    try:
        proto: Any = conn._proto
        decoder: Any = proto._frame_decoder
        return (
            not conn._events
            and decoder.header is None
            and not decoder.buffer.buffer
            and proto._message_decoder.opcode is None
            and not proto.extensions
            and conn.state in (ConnectionState.OPEN, ConnectionState.LOCAL_CLOSING)
        )
    except AttributeError:
        return False
