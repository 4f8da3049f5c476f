"""JSON codec for GA Realtime events: bytes <-> typed events.

Decoding uses one prebuilt ``msgspec.json.Decoder`` over the tagged union of all
known events, so the hot path (an audio delta) is a single C call: JSON parsing,
tag dispatch and base64 all happen inside msgspec. Only when that fails do we look
at ``type`` to tell a new event type (-> :class:`UnknownServerEvent`) from a broken
known one (-> :class:`RemoteProtocolError`). No other exception escapes a decode,
whatever the bytes.

>>> ev = decode_server_event(b'{"type":"input_audio_buffer.cleared","event_id":"e1"}')
>>> ev
InputAudioBufferClearedEvent(event_id='e1')
>>> decode_server_event(b'{"type":"brand.new","x":1}')
UnknownServerEvent(type='brand.new', raw='{"type":"brand.new","x":1}')
>>> encode_client_event(InputAudioBufferCommitEvent())
b'{"type":"input_audio_buffer.commit"}'
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

import msgspec

from ._redact import redact_text
from ._validation import MAX_APPEND_AUDIO_BYTES, _append_too_big, validate_client_event
from .errors import InvalidClientEvent, LocalProtocolError, RemoteProtocolError
from .events import (
    CLIENT_EVENT_TYPES,
    SERVER_EVENT_TYPES,
    ClientEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferCommitEvent,
    KnownServerEvent,
    ServerEvent,
    UnknownServerEvent,
)

__all__ = [
    "decode_client_event",
    "decode_server_event",
    "encode_client_event",
    "encode_server_event",
]

_ = InputAudioBufferCommitEvent  # used by the doctest above


# What a WebSocket text frame or data-channel message may arrive as.
_Data: TypeAlias = bytes | bytearray | memoryview | str


class _TypeProbe(msgspec.Struct):
    type: str


_SERVER_DECODER: msgspec.json.Decoder[KnownServerEvent] = msgspec.json.Decoder(KnownServerEvent)
_CLIENT_DECODER: msgspec.json.Decoder[ClientEvent] = msgspec.json.Decoder(ClientEvent)
_PROBE = msgspec.json.Decoder(_TypeProbe)
_ENCODER = msgspec.json.Encoder()
_encode = _ENCODER.encode


_BYTE_OFFSET = re.compile(r"invalid character \(byte (\d+)\)")


def _describe(exc: BaseException, data: _Data | None = None) -> str:
    # msgspec messages quote offending values; keep credentials out of them.
    if isinstance(exc, RecursionError):
        return "nested too deeply (arrays or objects beyond the decoder's depth limit)"
    text = str(exc) or type(exc).__name__
    if len(text) > 300:
        text = text[:300] + "..."
    found = _BYTE_OFFSET.search(text) if data is not None else None
    if found is not None and data is not None:
        at = int(found.group(1))
        head = (
            bytes(data[at : at + 9], "utf-8") if isinstance(data, str) else bytes(data[at : at + 9])
        )
        if head.startswith((b"NaN", b"Infinity", b"-Infinity", b"+Infinity")):
            text += ": NaN and Infinity are not JSON numbers"
    return redact_text(text)


def _probe_type(data: _Data, what: str) -> str:
    """The ``type`` of an event that failed to decode, or a RemoteProtocolError.

    When the probe fails too, its own error is the real cause (NaN, deep nesting, broken
    JSON after the ``type``), not the tag mismatch the full decoder stopped at first.
    """
    try:
        return _PROBE.decode(data).type
    except Exception as probe_exc:
        raise RemoteProtocolError(
            f"malformed {what} event: {_describe(probe_exc, data)}"
        ) from probe_exc


def _check_single_type(data: _Data, what: str) -> None:
    """Refuse a top-level ``type`` key given twice with different values.

    JSON leaves duplicate keys to the reader: the tagged decoder keys on the first
    ``type``, the probe on the last, so the outcome used to depend on key order. One
    rule now, whatever the order: such an event is malformed. Only the slow path comes
    here, and only a message with more than one ``"type"`` (or a ``\\u`` escape, which
    could spell one) is parsed again.
    """
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except UnicodeError as exc:
        raise RemoteProtocolError(f"malformed {what} event: {_describe(exc)}") from exc
    if raw.count(b'"type"') < 2 and b"\\u" not in raw:
        return
    try:
        # Numbers are not looked at (and a 5000-digit one must not hit int()'s limit).
        pairs = json.loads(raw, object_pairs_hook=_pairs, parse_int=len, parse_float=len)
    except RecursionError as exc:
        raise RemoteProtocolError(f"malformed {what} event: {_describe(exc)}") from exc
    except ValueError as exc:  # e.g. a lone surrogate escape msgspec let through
        raise RemoteProtocolError(f"malformed {what} event: {_describe(exc)}") from exc
    values = {repr(v) for k, v in pairs if k == "type"} if isinstance(pairs, list) else set()
    if len(values) > 1:
        raise RemoteProtocolError(
            f'malformed {what} event: the "type" key is given more than once, with '
            "different values (duplicate keys are ambiguous)"
        )


def _pairs(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return pairs


def decode_server_event(data: _Data) -> ServerEvent:
    """Decode one server event (a WebSocket text frame or data-channel message).

    Returns the typed event, or :class:`UnknownServerEvent` for a ``type`` this
    library does not know. Raises :class:`RemoteProtocolError`, and nothing else, for
    malformed JSON or a known event with a missing or mistyped field; the message names
    the event type and the field path.
    """
    try:
        return _SERVER_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        return _server_fallback(data, exc)
    except Exception as exc:  # DecodeError, RecursionError, MemoryError-free odds and ends
        raise RemoteProtocolError(f"malformed server event: {_describe(exc, data)}") from exc


def _server_fallback(data: _Data, exc: msgspec.ValidationError) -> ServerEvent:
    event_type = _probe_type(data, "server")
    _check_single_type(data, "server")
    if event_type in SERVER_EVENT_TYPES:
        raise RemoteProtocolError(f"{event_type}: {_describe(exc)}") from exc
    try:
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    except Exception as enc_exc:
        raise RemoteProtocolError(f"malformed server event: {_describe(enc_exc)}") from enc_exc
    return UnknownServerEvent(type=event_type, raw=raw)


def decode_client_event(data: _Data) -> ClientEvent:
    """Decode one client event (what a fake server receives).

    Raises :class:`RemoteProtocolError` for malformed JSON, an unknown ``type`` or a
    missing/mistyped field (for example a ``session.update`` without ``session.type``).
    GA rules are not checked here; call :func:`validate_client_event` for that.
    """
    try:
        return _CLIENT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        event_type = _probe_type(data, "client")
        _check_single_type(data, "client")
        if event_type in CLIENT_EVENT_TYPES:
            raise RemoteProtocolError(f"{event_type}: {_describe(exc)}") from exc
        raise RemoteProtocolError(
            f"unknown client event type {redact_text(event_type[:100])!r}"
        ) from exc
    except Exception as exc:
        raise RemoteProtocolError(f"malformed client event: {_describe(exc, data)}") from exc


def encode_client_event(event: ClientEvent) -> bytes:
    """Validate ``event`` against the GA rules, then encode it as JSON bytes.

    Raises :class:`InvalidClientEvent` (naming field and rule) before anything is
    produced. ``input_audio_buffer.append`` takes a fast path: the only rule there is
    the size of the audio (at most 15 MiB, base64-decoded).
    """
    if type(event) is InputAudioBufferAppendEvent and type(event.audio) is bytes:
        if len(event.audio) > MAX_APPEND_AUDIO_BYTES:
            raise InvalidClientEvent("audio", _append_too_big(len(event.audio)))
        try:
            out = _encode(event)
        except Exception as exc:  # a non-string event_id
            raise InvalidClientEvent(
                "event", f"cannot be encoded as JSON: {_describe(exc)}"
            ) from exc
        return out
    validate_client_event(event)
    try:
        return _encode(event)
    except Exception as exc:  # e.g. a non-JSON value inside a free-form dict
        raise InvalidClientEvent("event", f"cannot be encoded as JSON: {_describe(exc)}") from exc


def encode_server_event(event: ServerEvent) -> bytes:
    """Encode a server event (for fake servers and recordings).

    An :class:`UnknownServerEvent` is sent back as its raw JSON.
    """
    if type(event) is UnknownServerEvent:
        return event.raw
    if type(event) not in _SERVER_CLASSES:
        raise LocalProtocolError(f"not a server event: {type(event).__name__}")
    try:
        return _encode(event)
    except Exception as exc:
        raise LocalProtocolError(f"server event cannot be encoded: {_describe(exc)}") from exc


_SERVER_CLASSES: frozenset[Any] = frozenset(SERVER_EVENT_TYPES.values())
