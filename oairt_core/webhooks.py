"""Verifying and parsing OpenAI webhooks (Standard Webhooks), sans-IO.

A SIP call to your OpenAI number arrives as a ``realtime.call.incoming`` webhook.
:func:`unwrap_webhook` checks the signature and timestamp, then parses the body
into a typed event. Nothing here reads the clock: pass ``now`` (``time.time()``).

>>> secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM="
>>> body = (b'{"object":"event","id":"evt_1","type":"realtime.call.incoming",'
...         b'"created_at":1750000000,"data":{"call_id":"rtc_1","sip_headers":'
...         b'[{"name":"From","value":"sip:+15550001111@example.com"}]}}')
>>> headers = sign_webhook(secret, "wh_1", 1750000000, body)
>>> event = unwrap_webhook(body, headers, secret=secret, now=1750000010.0)
>>> event.data.call_id, event.data.sip_headers[0].name
('rtc_1', 'From')
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from collections.abc import Iterable, Mapping

import msgspec

from ._redact import Secret
from .errors import LocalProtocolError, WebhookVerificationError

__all__ = [
    "DEFAULT_WEBHOOK_TOLERANCE",
    "RealtimeCallIncomingData",
    "RealtimeCallIncomingWebhookEvent",
    "SipHeader",
    "UnknownWebhookEvent",
    "WebhookEvent",
    "parse_webhook_event",
    "sign_webhook",
    "unwrap_webhook",
    "verify_webhook",
]

DEFAULT_WEBHOOK_TOLERANCE = 300

HeadersLike = Mapping[str, str] | Iterable[tuple[str, str]] | Iterable[tuple[bytes, bytes]]


class SipHeader(msgspec.Struct, frozen=True):
    """One header of the SIP INVITE (untrusted caller metadata)."""

    name: str
    value: str


class RealtimeCallIncomingData(msgspec.Struct, frozen=True):
    """``data`` of ``realtime.call.incoming``.

    ``sip_media_security`` is ``"rtp"``, ``"srtp"``, another string, or ``None`` (unknown).
    """

    call_id: str
    sip_headers: list[SipHeader]
    sip_media_security: str | None = None


class RealtimeCallIncomingWebhookEvent(
    msgspec.Struct, frozen=True, tag="realtime.call.incoming", tag_field="type"
):
    """A SIP call waiting to be accepted, rejected or referred."""

    id: str
    created_at: int
    data: RealtimeCallIncomingData
    object: str | None = None


class UnknownWebhookEvent(msgspec.Struct, frozen=True):
    """A correctly signed webhook of a type oairt does not model; ``raw`` is the body."""

    type: str
    id: str | None
    raw: bytes

    def __repr__(self) -> str:
        return (
            f"UnknownWebhookEvent(type={self.type!r}, id={self.id!r}, raw=<{len(self.raw)} bytes>)"
        )


WebhookEvent = RealtimeCallIncomingWebhookEvent | UnknownWebhookEvent


class _Envelope(msgspec.Struct):
    type: str
    id: str | None = None


def _secret_bytes(secret: str | Secret) -> bytes:
    value = secret.reveal() if isinstance(secret, Secret) else secret
    if not value:
        raise LocalProtocolError("webhook secret is empty")
    if value.startswith("whsec_"):
        try:
            return base64.b64decode(value[6:], validate=True)
        except (binascii.Error, ValueError):
            raise LocalProtocolError("webhook secret after 'whsec_' is not valid base64") from None
    # Like the official SDK: a secret without the prefix is used as raw bytes.
    return value.encode("utf-8")


def _header(headers: HeadersLike, name: str) -> str:
    items: Iterable[tuple[str | bytes, str | bytes]]
    if isinstance(headers, Mapping):
        items = headers.items()
    else:
        items = headers
    for key, value in items:
        k = key.decode("latin-1") if isinstance(key, bytes) else key
        if isinstance(k, str) and k.lower() == name:
            v = value.decode("latin-1") if isinstance(value, bytes) else value
            if not isinstance(v, str):
                raise WebhookVerificationError(f"{name} header is not text")
            return v
    raise WebhookVerificationError(f"missing {name} header")


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> bytes:
    try:
        signed = f"{webhook_id}.{timestamp}.".encode() + body
    except UnicodeEncodeError:
        # A lone surrogate in a header given as str: no sender could have signed it.
        raise WebhookVerificationError("webhook-id is not valid text") from None
    return hmac.new(key, signed, hashlib.sha256).digest()


# Seconds since 1970 fit in 12 digits until the year 33658; a longer value is no
# timestamp, and int() of more than 4300 digits would raise a plain ValueError.
_MAX_TIMESTAMP_DIGITS = 20


def _check_clock(now: float, tolerance: int) -> None:
    # NaN compares False with everything, so a NaN ``now`` would switch the replay
    # check off: refuse it (and infinities) before anything else.
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise LocalProtocolError("now must be a number of seconds (time.time())")
    if isinstance(now, float) and not math.isfinite(now):
        raise LocalProtocolError(f"now must be finite, got {now!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int) or tolerance < 0:
        raise LocalProtocolError("tolerance must be a non-negative integer of seconds")


def sign_webhook(
    secret: str | Secret, webhook_id: str, timestamp: int, body: bytes
) -> list[tuple[str, str]]:
    """The three Standard Webhooks headers for ``body`` (for tests and the fake server).

    >>> [name for name, _ in sign_webhook("whsec_c2VjcmV0", "wh_1", 1, b"{}")]
    ['webhook-id', 'webhook-timestamp', 'webhook-signature']
    """
    key = _secret_bytes(secret)
    sig = base64.b64encode(_signature(key, webhook_id, str(timestamp), body)).decode("ascii")
    return [
        ("webhook-id", webhook_id),
        ("webhook-timestamp", str(timestamp)),
        ("webhook-signature", f"v1,{sig}"),
    ]


def verify_webhook(
    body: bytes | str,
    headers: HeadersLike,
    *,
    secret: str | Secret,
    now: float,
    tolerance: int = DEFAULT_WEBHOOK_TOLERANCE,
) -> None:
    """Check a webhook's signature and timestamp; raise :class:`WebhookVerificationError`.

    ``body`` must be the raw request body, byte for byte. Any of the space-separated
    ``v1,<base64>`` signatures may match (secret rotation sends several).
    """
    _check_clock(now, tolerance)
    raw = _body_bytes(body)
    webhook_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signature_header = _header(headers, "webhook-signature")
    if not timestamp.isascii() or not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not an integer")
    if len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise WebhookVerificationError(
            f"webhook-timestamp has {len(timestamp)} digits (at most {_MAX_TIMESTAMP_DIGITS})"
        )
    ts = int(timestamp)
    if now - ts > tolerance:
        raise WebhookVerificationError("webhook timestamp is too old")
    if ts - now > tolerance:
        raise WebhookVerificationError("webhook timestamp is too far in the future")
    expected = _signature(_secret_bytes(secret), webhook_id, timestamp, raw)
    candidates = [part[3:] for part in signature_header.split() if part.startswith("v1,")]
    if not candidates:
        raise WebhookVerificationError("webhook-signature has no v1 signature")
    matched = False
    for candidate in candidates:
        try:
            given = base64.b64decode(candidate, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Compare every candidate, in constant time, without stopping early.
        matched |= hmac.compare_digest(expected, given)
    if not matched:
        raise WebhookVerificationError("webhook signature does not match")


# msgspec raises these besides its own errors: invalid UTF-8 inside a string, and nesting
# deeper than the stack. A webhook body is untrusted input: each is a typed rejection.
_BAD_BODY = (msgspec.MsgspecError, UnicodeError, RecursionError)


def _problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeError):
        return "invalid UTF-8"
    return str(exc)


def _body_bytes(body: bytes | str) -> bytes:
    if isinstance(body, str):
        try:
            return body.encode("utf-8")
        except UnicodeEncodeError:
            raise WebhookVerificationError("webhook body is not valid text") from None
    return bytes(body)


def parse_webhook_event(body: bytes | str) -> WebhookEvent:
    """Parse a (verified) webhook body into a typed event."""
    raw = _body_bytes(body)
    try:
        envelope = msgspec.json.decode(raw, type=_Envelope)
    except _BAD_BODY as exc:
        raise WebhookVerificationError(f"malformed webhook body: {_problem(exc)}") from None
    if envelope.type == "realtime.call.incoming":
        try:
            return msgspec.json.decode(raw, type=RealtimeCallIncomingWebhookEvent)
        except _BAD_BODY as exc:
            raise WebhookVerificationError(
                f"malformed realtime.call.incoming webhook: {_problem(exc)}"
            ) from None
    return UnknownWebhookEvent(type=envelope.type, id=envelope.id, raw=raw)


def unwrap_webhook(
    body: bytes | str,
    headers: HeadersLike,
    *,
    secret: str | Secret,
    now: float,
    tolerance: int = DEFAULT_WEBHOOK_TOLERANCE,
) -> WebhookEvent:
    """:func:`verify_webhook`, then :func:`parse_webhook_event`."""
    verify_webhook(body, headers, secret=secret, now=now, tolerance=tolerance)
    return parse_webhook_event(body)
