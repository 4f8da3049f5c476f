"""oairt_core.webhooks: Standard Webhooks verification and typed parsing, cross-checked with
the official SDK."""

from __future__ import annotations

import base64
import time

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core._redact import Secret
from oairt_core.errors import LocalProtocolError, WebhookVerificationError
from oairt_core.webhooks import (
    RealtimeCallIncomingWebhookEvent,
    SipHeader,
    UnknownWebhookEvent,
    parse_webhook_event,
    sign_webhook,
    unwrap_webhook,
    verify_webhook,
)

SECRET = "whsec_" + base64.b64encode(b"a-very-secret-webhook-key-32byte").decode()
NOW = 1_750_000_000
BODY = msgspec.json.encode(
    {
        "object": "event",
        "id": "evt_685343a1381c819085d44c354e1b330e",
        "type": "realtime.call.incoming",
        "created_at": NOW,
        "data": {
            "call_id": "rtc_479a275623b54bdb9b6fbae2f7cbd408",
            "sip_headers": [
                {"name": "From", "value": "sip:+142555512112@sip.example.com"},
                {"name": "To", "value": "sip:+18005551212@sip.example.com"},
                {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"},
            ],
            "sip_media_security": "srtp",
        },
    }
)


def _headers(body: bytes = BODY, ts: int = NOW, secret: str = SECRET) -> list[tuple[str, str]]:
    return sign_webhook(secret, "wh_123", ts, body)


def test_sign_then_unwrap_gives_a_typed_event() -> None:
    event = unwrap_webhook(BODY, _headers(), secret=SECRET, now=NOW + 5)
    assert isinstance(event, RealtimeCallIncomingWebhookEvent)
    assert event.id == "evt_685343a1381c819085d44c354e1b330e"
    assert event.object == "event" and event.created_at == NOW
    assert event.data.call_id == "rtc_479a275623b54bdb9b6fbae2f7cbd408"
    assert event.data.sip_headers[0] == SipHeader("From", "sip:+142555512112@sip.example.com")
    assert event.data.sip_media_security == "srtp"


def test_headers_may_be_a_mapping_bytes_or_any_case_and_secret_wrapped() -> None:
    headers = _headers()
    as_dict = {k.upper(): v for k, v in headers}
    as_bytes = [(k.encode(), v.encode()) for k, v in headers]
    for h in (as_dict, as_bytes):
        verify_webhook(BODY, h, secret=Secret(SECRET), now=NOW)
    verify_webhook(BODY.decode(), headers, secret=SECRET, now=NOW)


def test_media_security_is_optional_and_unknown_types_are_kept() -> None:
    body = (
        b'{"id":"e","type":"realtime.call.incoming","created_at":1,'
        b'"data":{"call_id":"c","sip_headers":[]}}'
    )
    event = parse_webhook_event(body)
    assert isinstance(event, RealtimeCallIncomingWebhookEvent)
    assert event.data.sip_media_security is None and event.object is None
    other = parse_webhook_event(b'{"id":"evt_2","type":"batch.completed","data":{"id":"b"}}')
    assert isinstance(other, UnknownWebhookEvent)
    assert (other.type, other.id) == ("batch.completed", "evt_2")
    assert b"batch" in other.raw and "raw=<" in repr(other)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header(missing: str) -> None:
    headers = [(k, v) for k, v in _headers() if k != missing]
    with pytest.raises(WebhookVerificationError, match=f"missing {missing}"):
        verify_webhook(BODY, headers, secret=SECRET, now=NOW)


def test_timestamp_window() -> None:
    verify_webhook(BODY, _headers(), secret=SECRET, now=NOW + 300)
    verify_webhook(BODY, _headers(), secret=SECRET, now=NOW - 300)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(BODY, _headers(), secret=SECRET, now=NOW + 301)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify_webhook(BODY, _headers(), secret=SECRET, now=NOW - 301)
    verify_webhook(BODY, _headers(), secret=SECRET, now=NOW + 3000, tolerance=3600)


@pytest.mark.parametrize("ts", ["", "abc", "-5", "1.5", "١٢٣"])
def test_non_integer_timestamp(ts: str) -> None:
    headers = [(k, ts if k == "webhook-timestamp" else v) for k, v in _headers()]
    with pytest.raises(WebhookVerificationError, match="not an integer"):
        verify_webhook(BODY, headers, secret=SECRET, now=NOW)


def test_tampered_body_wrong_secret_and_replayed_headers_are_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_webhook(BODY.replace(b"rtc_4", b"rtc_5"), _headers(), secret=SECRET, now=NOW)
    other = "whsec_" + base64.b64encode(b"another-secret").decode()
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_webhook(BODY, _headers(), secret=other, now=NOW)
    # Same signature with another id or timestamp: the signed content differs.
    moved = [(k, "wh_999" if k == "webhook-id" else v) for k, v in _headers()]
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify_webhook(BODY, moved, secret=SECRET, now=NOW)


def test_signature_list_any_v1_may_match() -> None:
    good = dict(_headers())["webhook-signature"]
    bad = "v1," + base64.b64encode(b"x" * 32).decode()
    for sig in (f"{bad} {good}", f"v2,abc {good}", f"v1,!!notbase64 {good}"):
        headers = [(k, sig if k == "webhook-signature" else v) for k, v in _headers()]
        verify_webhook(BODY, headers, secret=SECRET, now=NOW)
    for sig, msg in ((bad, "does not match"), ("v2,abc", "no v1"), ("", "no v1")):
        headers = [(k, sig if k == "webhook-signature" else v) for k, v in _headers()]
        with pytest.raises(WebhookVerificationError, match=msg):
            verify_webhook(BODY, headers, secret=SECRET, now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id":"x"}',
        b'{"id":"e","type":"realtime.call.incoming","created_at":1,"data":{"sip_headers":[]}}',
        b'{"id":"e","type":"realtime.call.incoming","created_at":"x","data":{"call_id":"c","sip_headers":[]}}',
        b'{"id":"e","type":"realtime.call.incoming","created_at":1,"data":{"call_id":"c","sip_headers":[{"name":1}]}}',
    ],
)
def test_malformed_but_correctly_signed_bodies(body: bytes) -> None:
    with pytest.raises(WebhookVerificationError, match="malformed"):
        unwrap_webhook(body, _headers(body), secret=SECRET, now=NOW)


def test_bad_secret_is_a_local_error_without_the_secret_in_it() -> None:
    with pytest.raises(LocalProtocolError) as info:
        verify_webhook(BODY, _headers(), secret="whsec_@@notbase64@@", now=NOW)
    assert "notbase64" not in str(info.value)
    with pytest.raises(LocalProtocolError):
        sign_webhook("", "wh", 1, b"")


def test_secret_without_prefix_is_used_raw_like_the_sdk() -> None:
    headers = sign_webhook("plain-secret", "wh_1", NOW, BODY)
    verify_webhook(BODY, headers, secret="plain-secret", now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, headers, secret=SECRET, now=NOW)


@settings(max_examples=60)
@given(
    body=st.binary(max_size=200),
    webhook_id=st.text("abcdef_0123", min_size=1, max_size=12),
    flip=st.integers(min_value=0),
)
def test_any_byte_change_breaks_the_signature(body: bytes, webhook_id: str, flip: int) -> None:
    headers = sign_webhook(SECRET, webhook_id, NOW, body)
    verify_webhook(body, headers, secret=SECRET, now=NOW)
    if body:
        i = flip % len(body)
        tampered = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
        with pytest.raises(WebhookVerificationError):
            verify_webhook(tampered, headers, secret=SECRET, now=NOW)


# --------------------------------------------------------------------------- official SDK


def _sdk_client():
    openai = pytest.importorskip("openai")
    return openai.OpenAI(api_key="sk-test-not-used", webhook_secret=SECRET)


def test_sdk_and_oairt_agree_on_valid_and_tampered_webhooks() -> None:
    openai = pytest.importorskip("openai")
    client = _sdk_client()
    now = int(time.time())  # the SDK reads the clock itself
    headers = dict(sign_webhook(SECRET, "wh_sdk", now, BODY))
    sdk_event = client.webhooks.unwrap(BODY, headers)
    ours = unwrap_webhook(BODY, headers, secret=SECRET, now=now)
    assert isinstance(ours, RealtimeCallIncomingWebhookEvent)
    assert sdk_event.type == "realtime.call.incoming"
    assert sdk_event.data.call_id == ours.data.call_id
    assert [h.name for h in sdk_event.data.sip_headers] == [h.name for h in ours.data.sip_headers]

    tampered = BODY.replace(b"+1425", b"+1426")
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(tampered, headers, secret=SECRET, now=now)

    stale = dict(sign_webhook(SECRET, "wh_sdk", now - 1000, BODY))
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.verify_signature(BODY, stale)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, stale, secret=SECRET, now=now)


@settings(max_examples=150)
@given(st.binary(max_size=200))
def test_parsing_arbitrary_bodies_gives_an_event_or_a_typed_error(body: bytes) -> None:
    try:
        event = parse_webhook_event(body)
    except WebhookVerificationError:
        return
    assert isinstance(event, RealtimeCallIncomingWebhookEvent | UnknownWebhookEvent)


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"realtime.call.incoming","id":"\x80"}',  # msgspec: UnicodeDecodeError
        b'{"type":"x","id":"\xff\xfe"}',
        b'{"type":"realtime.call.incoming","data":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,  # msgspec: RecursionError
    ],
    ids=["bad-utf8-incoming", "bad-utf8-other", "deep-data", "deep-root"],
)
def test_invalid_utf8_and_deep_bodies_are_typed_rejections(body: bytes) -> None:
    with pytest.raises(WebhookVerificationError, match="malformed"):
        parse_webhook_event(body)
    # Correctly signed does not make it parseable: unwrap rejects it the same way.
    with pytest.raises(WebhookVerificationError, match="malformed"):
        unwrap_webhook(body, _headers(body), secret=SECRET, now=NOW)


# -- issue 13.8: every malformed header is a WebhookVerificationError ------------------


def test_a_5000_digit_timestamp_is_a_verification_error() -> None:
    # int() of more than 4300 digits raises a plain ValueError: a handler catching
    # WebhookVerificationError would have answered 500.
    headers = dict(_headers())
    for ts in ("9" * 5000, "0" * 5000 + str(NOW), "1" * 21):
        headers["webhook-timestamp"] = ts
        with pytest.raises(WebhookVerificationError, match="digits"):
            verify_webhook(BODY, headers, secret=SECRET, now=NOW)


@pytest.mark.parametrize("now", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_now_is_refused(now: float) -> None:
    # NaN compares False both ways, so it used to switch the replay check off and a
    # year-old signed webhook passed.
    old = _headers(ts=NOW - 365 * 86400)
    with pytest.raises(LocalProtocolError, match="now must be finite"):
        verify_webhook(BODY, old, secret=SECRET, now=now)
    with pytest.raises(LocalProtocolError, match="now must be finite"):
        unwrap_webhook(BODY, _headers(), secret=SECRET, now=now)


@pytest.mark.parametrize("now", [None, "1750000000", True])
def test_a_now_that_is_no_number_is_refused(now: object) -> None:
    with pytest.raises(LocalProtocolError, match="now must be a number"):
        verify_webhook(BODY, _headers(), secret=SECRET, now=now)  # type: ignore[arg-type]


@pytest.mark.parametrize("tolerance", [-1, True, 1.5])
def test_a_bad_tolerance_is_refused(tolerance: object) -> None:
    with pytest.raises(LocalProtocolError, match="tolerance"):
        verify_webhook(BODY, _headers(), secret=SECRET, now=NOW, tolerance=tolerance)  # type: ignore[arg-type]


def test_headers_that_are_not_text_or_carry_lone_surrogates_are_verification_errors() -> None:
    for name, value in (
        ("webhook-id", "wh_\ud800"),
        ("webhook-timestamp", None),
        ("webhook-signature", 12),
    ):
        headers: dict[str, object] = dict(_headers())
        headers[name] = value
        with pytest.raises(WebhookVerificationError):
            verify_webhook(BODY, headers, secret=SECRET, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(WebhookVerificationError):
        verify_webhook('{"a":"\ud800"}', _headers(), secret=SECRET, now=NOW)


_HEADER_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789", min_size=1, max_size=6000),
    st.text(alphabet="0123456789 v1,=+/abcXYZ", max_size=200),
    st.binary(max_size=60),
)


@settings(max_examples=300, deadline=None)
@given(
    webhook_id=_HEADER_TEXT,
    timestamp=_HEADER_TEXT,
    signature=_HEADER_TEXT,
    keep_real=st.sampled_from(["none", "id", "timestamp", "signature"]),
    now=st.one_of(st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False)),
)
def test_arbitrary_header_values_give_success_or_a_verification_error(
    webhook_id: str | bytes,
    timestamp: str | bytes,
    signature: str | bytes,
    keep_real: str,
    now: float,
) -> None:
    real = dict(_headers())
    values = {
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
    if keep_real != "none":
        values[f"webhook-{keep_real}"] = real[f"webhook-{keep_real}"]
    headers = [(k.encode() if isinstance(v, bytes) else k, v) for k, v in values.items()]
    try:
        unwrap_webhook(BODY, headers, secret=SECRET, now=now)  # type: ignore[arg-type]
    except WebhookVerificationError:
        pass
