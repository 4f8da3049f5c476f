"""Default key and endpoint resolution shared by every entry point."""

from __future__ import annotations

import pytest

from oairt_core._redact import Secret
from oairt_core._settings import resolve_api_key, resolve_base_url, with_scheme
from oairt_core.errors import LocalProtocolError

KEY = "sk-test-abcdefghijklmnop"


def test_explicit_key_wins_over_environment() -> None:
    assert resolve_api_key("sk-explicit-123456", {"OPENAI_API_KEY": KEY}).reveal() == (
        "sk-explicit-123456"
    )
    assert resolve_api_key(Secret(KEY), {}).reveal() == KEY


def test_key_from_environment_and_missing_key_error_names_the_variable() -> None:
    assert resolve_api_key(None, {"OPENAI_API_KEY": KEY}).reveal() == KEY
    with pytest.raises(LocalProtocolError, match="OPENAI_API_KEY"):
        resolve_api_key(None, {})
    with pytest.raises(LocalProtocolError):
        resolve_api_key("", {"OPENAI_API_KEY": ""})


@pytest.mark.parametrize(
    ("explicit", "env", "scheme", "expected"),
    [
        (None, {}, "ws", "wss://api.openai.com/v1"),
        (None, {}, "http", "https://api.openai.com/v1"),
        (None, {"OAIRT_BASE_URL": "ws://127.0.0.1:9/v1/"}, "ws", "ws://127.0.0.1:9/v1"),
        (None, {"OAIRT_BASE_URL": "ws://127.0.0.1:9/v1"}, "http", "http://127.0.0.1:9/v1"),
        ("https://gw.example/v1", {"OAIRT_BASE_URL": "ws://x/v1"}, "ws", "wss://gw.example/v1"),
    ],
)
def test_base_url_resolution(explicit: str | None, env: dict[str, str], scheme: str,
                             expected: str) -> None:
    assert resolve_base_url(explicit, env, scheme=scheme) == expected  # type: ignore[arg-type]


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        with_scheme("ftp://example/v1", "ws")
    with pytest.raises(LocalProtocolError):
        with_scheme("example/v1", "http")
