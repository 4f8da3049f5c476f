"""The fake server's one rule for API keys, shared by the WebSocket side, the REST fake,
``run_fake_server``, ``oairt fake-server`` and the CLI's loopback default.

>>> accepts_api_key("sk-anything", None), accepts_api_key("sk-other", ["sk-test"])
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable

from .._redact import Secret

__all__ = ["API_KEY_RULE", "FAKE_API_KEY", "accepts_api_key"]

FAKE_API_KEY = "sk-test"
"""The key clients use with the fake server when they have none of their own."""

API_KEY_RULE = (
    f"accepts any API key ({FAKE_API_KEY} will do) unless it is given keys, then only those"
)
"""The rule below in words, for help texts and docs."""


def accepts_api_key(token: str, api_keys: Iterable[str | Secret] | None) -> bool:
    """Whether the fake server lets ``token`` in: any non-empty key when ``api_keys`` is
    ``None`` (the default everywhere), else only one of ``api_keys``.

    Client secrets (``ek_...``) are vouched for by the REST fake that issued them, so an
    ``ek_`` token is never accepted by this rule alone.
    """
    if not token or token.startswith("ek_"):
        return False
    if api_keys is None:
        return True
    candidate = Secret(token)
    return any(candidate == (k if isinstance(k, Secret) else Secret(k)) for k in api_keys)
