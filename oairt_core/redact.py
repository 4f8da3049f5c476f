"""Keeping secrets out of reprs, logs, exceptions and recordings.

API keys (``sk-...``), client secrets (``ek_...``) and webhook secrets
(``whsec_...``) are wrapped in :class:`Secret` as soon as they enter the library;
only the code that writes the ``Authorization`` header asks for the value.

>>> key = Secret("sk-test-1234567890")
>>> key
Secret('sk-...7890')
>>> str(key)
'sk-...7890'
>>> key.reveal()
'sk-test-1234567890'
>>> redact_text("Authorization: Bearer sk-test-1234567890")
'Authorization: Bearer [REDACTED]'
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "Secret", "redact_headers", "redact_text"]

REDACTED = "[REDACTED]"

# Bearer tokens, OpenAI key shapes, client secrets, webhook secrets, and the
# browser subprotocol that carries a client secret.
_SECRET_PATTERNS = re.compile(
    r"(?i)(?:bearer\s+)\S+"
    r"|\bsk-[A-Za-z0-9_\-]{4,}"
    r"|\bek_[A-Za-z0-9_\-]{4,}"
    r"|\bwhsec_[A-Za-z0-9+/=_\-]{4,}"
    r"|openai-insecure-api-key\.[A-Za-z0-9_\-]+"
)

# Credentials in other spellings too: Azure's ``api-key``, gateways' ``x-api-key``, a proxy's
# credentials, and session cookies a server or load balancer sets.
_SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-organization",
        "openai-project",
        "cookie",
        "set-cookie",
    }
)


class Secret:
    """A string that never shows itself by accident.

    ``repr`` and ``str`` show only a prefix and the last four characters; the
    value is reachable through :meth:`reveal` alone. Equality compares values in
    constant time so a ``Secret`` can be used in checks.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            self._value: str = value.reveal()
        elif isinstance(value, str):
            self._value = value
        else:
            # str() would turn 123 or b"sk-..." into a key that fails later as a masked 401.
            from .errors import InvalidArgumentType

            raise InvalidArgumentType(f"a secret must be a str, got {type(value).__name__}")

    def reveal(self) -> str:
        return self._value

    def _masked(self) -> str:
        v = self._value
        prefix = ""
        for p in ("sk-", "ek_", "whsec_"):
            if v.startswith(p):
                prefix = p
                break
        tail = v[-4:] if len(v) >= 12 else ""
        return f"{prefix}...{tail}"

    def __repr__(self) -> str:
        return f"Secret({self._masked()!r})"

    def __str__(self) -> str:
        return self._masked()

    def __eq__(self, other: object) -> bool:
        import hmac

        if isinstance(other, Secret):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secret cannot be pickled")


def redact_text(text: str) -> str:
    """Replace anything that looks like a credential in ``text`` with ``[REDACTED]``."""
    return _SECRET_PATTERNS.sub(_replace, text)


def _replace(match: re.Match[str]) -> str:
    token = match.group(0)
    if token[:6].lower() == "bearer":
        return token[: token.index(" ") + 1].rstrip() + " " + REDACTED
    return REDACTED


def redact_headers(
    headers: list[tuple[str, str]] | list[tuple[bytes, bytes]],
) -> list[tuple[str, str]]:
    """Headers as text with sensitive values replaced, for logs and recordings."""
    out: list[tuple[str, str]] = []
    for name, value in headers:
        n = name.decode("latin-1") if isinstance(name, bytes) else name
        v = value.decode("latin-1") if isinstance(value, bytes) else value
        out.append((n, REDACTED if n.lower() in _SENSITIVE_HEADERS else redact_text(v)))
    return out
