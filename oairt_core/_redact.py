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

Text a server sends back may echo the configured key in any shape (a gateway token
without the ``sk-`` prefix, percent-encoded, JSON-escaped, in a bytes repr, in
base64): a :class:`Redactor` holding the known secrets scrubs those too.

>>> Redactor(Secret("abc123-custom-gateway-token")).text("bad key abc123%2Dcustom-gateway-token")
'bad key [REDACTED]'
"""

from __future__ import annotations

import base64
import re

__all__ = ["REDACTED", "Redactor", "Secret", "redact_headers", "redact_server_text", "redact_text"]

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


# A fragment of a known secret this long or longer is scrubbed too (a server or a
# length cap may cut an echoed key anywhere); the fragment scan looks for grams of
# _GRAM characters taken every _STEP characters of the secret, so any fragment of at
# least _GRAM + _STEP - 1 characters contains one.
_GRAM = 8
_STEP = 4
# Shorter secrets are matched whole only (a fragment of a tiny secret says little, and
# scrubbing every 8-character piece of it would eat ordinary words).
_MIN_FRAGMENT_SECRET = 16

# The escapes a server may wrap an echoed key in: %XX (URLs, form bodies), \\uXXXX
# (JSON), \\xXX (a bytes repr), and a backslash before any character (JSON's \\/, a
# repr's \\').
_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\(.)", re.S)


def _unescape(text: str) -> tuple[str, list[int] | None]:
    """``text`` with escapes decoded, and where each decoded character starts in ``text``.

    ``None`` for the map when there was nothing to decode (the common case: no copy).
    """
    if "%" not in text and "\\" not in text:
        return text, None
    out: list[str] = []
    starts: list[int] = []
    pos = 0
    for m in _ESCAPE.finditer(text):
        at = m.start()
        if at > pos:
            out.append(text[pos:at])
            starts.extend(range(pos, at))
        hex_digits = m.group(1) or m.group(2) or m.group(3)
        out.append(chr(int(hex_digits, 16)) if hex_digits else m.group(4))
        starts.append(at)
        pos = m.end()
    out.append(text[pos:])
    starts.extend(range(pos, len(text) + 1))
    return "".join(out), starts


def _base64_cores(value: bytes) -> list[str]:
    """The part of base64(..., value, ...) that depends only on ``value``, per alignment."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + value).decode("ascii")
        core = encoded[4 if shift else 0 :]
        core = core[: len(core) - 4] if len(core) >= 4 else ""
        if len(core) >= 12:
            cores.append(core)
            cores.append(core.replace("+", "-").replace("/", "_"))
    return cores


class Redactor:
    """Scrubs the known secrets, in any encoding, and generic credential shapes.

    Every error oairt builds from server text (a close reason, an HTTP error body,
    h11's message about a bad header line, a handshake rejection) passes through the
    redactor of the connection or client that holds the key, so a key of any shape
    that a server echoes back never reaches an exception, a repr or a log. The cost is
    linear in the text (plain ``str.find`` unless the text has escapes to decode).

    >>> r = Redactor(Secret("my-gateway-token-0123456789"))
    >>> r.text('{"error": "bad token my\\\\u002dgateway-token-0123456789"}')
    '{"error": "bad token [REDACTED]"}'
    >>> r.text("auth failed for my-gateway-token-01")   # cut by a length cap
    'auth failed for [REDACTED]'
    >>> r
    Redactor(<1 secret>)
    """

    __slots__ = ("_count", "_secrets")

    def __init__(self, *secrets: Secret | str | None) -> None:
        # Kept as Secrets; the search tables are built on first use (errors are rare,
        # connections are not).
        values = {s.reveal() if isinstance(s, Secret) else s for s in secrets if s}
        self._secrets = tuple(Secret(v) for v in values)
        self._count = len(values)

    def __repr__(self) -> str:
        # How many secrets, never what they are.
        return f"Redactor(<{self._count} secret{'' if self._count == 1 else 's'}>)"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Redactor cannot be pickled")

    def text(self, text: str) -> str:
        """``text`` with known secrets (whole, encoded or cut) and credential shapes gone."""
        if self._secrets and text:
            text = self._scrub(text)
        return redact_text(text)

    def optional(self, text: str | None) -> str | None:
        """:meth:`text` for a field that may be absent."""
        return None if text is None else self.text(text)

    def data(self, data: bytes) -> bytes:
        """:meth:`text` for a body (decoded as UTF-8, invalid bytes replaced)."""
        return self.text(data.decode("utf-8", "replace")).encode("utf-8")

    def _scrub(self, text: str) -> str:
        plain, starts = _unescape(text)
        lowered = plain.lower()
        spans: list[tuple[int, int]] = []
        for secret in self._secrets:
            value = secret.reveal()
            _find_all(lowered, value.lower(), spans)
            for core in _base64_cores(value.encode("utf-8")):
                _find_all(plain, core, spans)
            if len(value) >= _MIN_FRAGMENT_SECRET:
                _find_fragments(plain, value, spans)
        if not spans:
            return text
        if starts is not None:
            spans = [(starts[a], starts[b]) for a, b in spans]
        return _replace_spans(text, spans)


def _find_all(text: str, needle: str, spans: list[tuple[int, int]]) -> None:
    at = text.find(needle)
    while at != -1:
        spans.append((at, at + len(needle)))
        at = text.find(needle, at + len(needle))


def _find_fragments(text: str, value: str, spans: list[tuple[int, int]]) -> None:
    """Every stretch of ``text`` equal to a piece of ``value`` at least 11 characters long.

    Linear in ``text``: a stretch already found is never walked again, by any gram.
    """
    grams: dict[str, int] = {}
    for i in range(0, len(value) - _GRAM + 1, _STEP):
        grams.setdefault(value[i : i + _GRAM], i)
    covered = bytearray(len(text) + 1)
    for gram, offset in grams.items():
        at = text.find(gram)
        while at != -1:
            if covered[at]:
                at = text.find(gram, at + 1)
                continue
            a, b, ka, kb = at, at + _GRAM, offset, offset + _GRAM
            while a > 0 and ka > 0 and not covered[a - 1] and text[a - 1] == value[ka - 1]:
                a, ka = a - 1, ka - 1
            while b < len(text) and kb < len(value) and text[b] == value[kb]:
                b, kb = b + 1, kb + 1
            spans.append((a, b))
            covered[a:b] = b"\x01" * (b - a)
            at = text.find(gram, b)


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    spans.sort()
    out: list[str] = []
    pos = 0
    for a, b in spans:
        if b <= pos:
            continue
        if a >= pos:
            out.append(text[pos:a])
            out.append(REDACTED)
        pos = b
    out.append(text[pos:])
    return "".join(out)


def redact_server_text(text: str, secret: Secret | str | None = None) -> str:
    """Server text made safe to show: the known ``secret`` (any encoding) and credential shapes.

    For one-off uses (a voice ``Error`` built from a server ``error`` event); code that
    handles many messages keeps a :class:`Redactor`.

    >>> key = Secret("abc123-custom-gateway-token")
    >>> redact_server_text("no access for abc123-custom-gateway-token", key)
    'no access for [REDACTED]'
    """
    return Redactor(secret).text(text)
