"""Secrets never show themselves: reprs, str, pickling, and free text."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oairt_core._redact import REDACTED, Secret, redact_headers, redact_text
from oairt_core.errors import InvalidClientEvent, LocalProtocolError, OairtError

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"


def test_secret_repr_and_str_hide_the_value() -> None:
    s = Secret(KEY)
    assert KEY not in repr(s)
    assert KEY not in str(s)
    assert KEY not in f"{s!r} {s}"
    assert s.reveal() == KEY


def test_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret(KEY))


def test_secret_equality_compares_values() -> None:
    assert Secret(KEY) == Secret(KEY)
    assert Secret(KEY) != Secret(KEY + "x")


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {KEY}",
        f"key={KEY}",
        "secret ek_abc123def456ghi789",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "openai-insecure-api-key.ek_live_123456",
    ],
)
def test_redact_text_removes_credentials(text: str) -> None:
    out = redact_text(text)
    assert REDACTED in out
    tokens = (KEY, "ek_abc123def456ghi789", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ek_live_123456")
    for token in tokens:
        assert token not in out


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=8, max_size=60))
def test_redact_text_removes_any_sk_key(body: str) -> None:
    assert ("sk-" + body) not in redact_text(f"error with sk-{body} inside")


def test_redact_headers_masks_sensitive_names() -> None:
    out = dict(redact_headers([(b"Authorization", f"Bearer {KEY}".encode()), (b"Host", b"x")]))
    assert out == {"Authorization": REDACTED, "Host": "x"}


def test_redact_headers_masks_other_credential_headers() -> None:
    # Azure's api-key, gateway keys, proxy credentials and cookies carry no sk- prefix.
    names = ["api-key", "X-Api-Key", "Proxy-Authorization", "Set-Cookie", "Cookie"]
    out = redact_headers([(n, "plainvalue0123456789") for n in names])
    assert out == [(n, REDACTED) for n in names]


def test_invalid_client_event_names_field_and_rule() -> None:
    exc = InvalidClientEvent("session.audio.output.speed", "must be between 0.25 and 1.5")
    assert isinstance(exc, LocalProtocolError) and isinstance(exc, OairtError)
    assert exc.field == "session.audio.output.speed"
    assert "0.25" in str(exc)
