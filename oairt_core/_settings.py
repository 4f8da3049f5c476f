"""Where an API key and an endpoint come from when the caller does not say.

Pure functions over a mapping (adapters pass ``os.environ``), so the core never
reads the process environment itself. The same two variables serve every entry
point: WebSocket sessions, voice sessions, REST clients and the CLI.

>>> resolve_api_key(None, {"OPENAI_API_KEY": "sk-test-1234567890"})
Secret('sk-...7890')
>>> resolve_base_url(None, {"OAIRT_BASE_URL": "ws://127.0.0.1:8080/v1"}, scheme="http")
'http://127.0.0.1:8080/v1'
>>> resolve_base_url(None, {}, scheme="ws")
'wss://api.openai.com/v1'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ._redact import Secret
from .errors import InvalidArgumentType, LocalProtocolError

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "resolve_api_key",
    "resolve_base_url",
    "with_scheme",
]

API_KEY_ENV = "OPENAI_API_KEY"
BASE_URL_ENV = "OAIRT_BASE_URL"

_DEFAULT_HOST_PATH = "api.openai.com/v1"
_SCHEMES = {
    "ws": {"ws": "ws", "wss": "wss", "http": "ws", "https": "wss"},
    "http": {"ws": "http", "wss": "https", "http": "http", "https": "https"},
}


def resolve_api_key(explicit: str | Secret | None, environ: Mapping[str, str]) -> Secret:
    """The explicit key, else ``$OPENAI_API_KEY``; a clear error when there is neither.

    A key of another type than ``str``/``Secret`` (``123``, ``b"sk-..."``) raises
    :class:`~oairt_core.errors.InvalidArgumentType` naming the type.
    """
    if explicit is not None and not isinstance(explicit, (str, Secret)):
        raise InvalidArgumentType(f"api_key must be a str, got {type(explicit).__name__}")
    if explicit is not None and (explicit.reveal() if isinstance(explicit, Secret) else explicit):
        return Secret(explicit)
    value = environ.get(API_KEY_ENV, "")
    if not value:
        raise LocalProtocolError(f"no API key: pass api_key= or set {API_KEY_ENV}")
    return Secret(value)


def with_scheme(url: str, scheme: Literal["ws", "http"]) -> str:
    """``url`` with its scheme swapped to the WebSocket or HTTP flavour, keeping TLS as it was.

    >>> with_scheme("https://example.test/v1", "ws")
    'wss://example.test/v1'
    """
    head, sep, rest = url.partition("://")
    mapped = _SCHEMES[scheme].get(head.lower()) if sep else None
    if mapped is None:
        raise LocalProtocolError("base URL must start with ws://, wss://, http:// or https://")
    return f"{mapped}://{rest}"


def resolve_base_url(
    explicit: str | None, environ: Mapping[str, str], *, scheme: Literal["ws", "http"]
) -> str:
    """The explicit URL, else ``$OAIRT_BASE_URL``, else the public API; in ``scheme``'s flavour."""
    url = explicit or environ.get(BASE_URL_ENV) or f"https://{_DEFAULT_HOST_PATH}"
    return with_scheme(url.rstrip("/"), scheme)
