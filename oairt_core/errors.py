"""The exception hierarchy.

Like h11, oairt keeps *local* errors (what we were asked to send is wrong) apart
from *remote* errors (what the peer sent is wrong)::

    OairtError
    ├── LocalProtocolError          we were asked to do something the protocol forbids
    │   └── InvalidClientEvent      a client event fails a GA rule (names field and rule)
    ├── RemoteProtocolError         the peer sent something malformed
    │   ├── MessageTooBig           an incoming message exceeded the configured cap
    │   └── RequestOutcomeUnknown   a REST request was sent, then the connection died unanswered
    ├── HandshakeError              the WebSocket upgrade was refused (status, message)
    ├── ConnectionClosedError       the connection is closed (code, reason)
    │   └── ConnectError            could not reach the server: DNS, TCP or TLS failure (1006)
    ├── APIError                    a REST call answered non-2xx (status, type, code, param)
    ├── WebhookVerificationError    a webhook failed signature/timestamp/body checks
    ├── ToolError                   a typed tool could not be defined or run
    ├── InvalidArgument             a bad argument value (also ValueError)
    ├── InvalidArgumentType         an argument of the wrong type (also TypeError)
    └── RequestTimeout              a connect or REST request took too long (also TimeoutError)

Secrets never appear in these messages: constructors take already-redacted text.

>>> try:
...     raise InvalidClientEvent("speed", "must be between 0.25 and 1.5")
... except LocalProtocolError as exc:
...     print(exc)
invalid client event: speed: must be between 0.25 and 1.5
"""

from __future__ import annotations

__all__ = [
    "APIError",
    "ConnectError",
    "ConnectionClosedError",
    "HandshakeError",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidClientEvent",
    "LocalProtocolError",
    "MessageTooBig",
    "OairtError",
    "RemoteProtocolError",
    "RequestOutcomeUnknown",
    "RequestTimeout",
    "ToolError",
    "WebhookVerificationError",
]


class OairtError(Exception):
    """Root of every exception oairt raises on purpose."""


class LocalProtocolError(OairtError):
    """We were asked to send or do something the protocol does not allow."""


class InvalidClientEvent(LocalProtocolError):
    """A client event breaks a GA rule; nothing was sent.

    ``field`` is the dotted path of the offending field, ``rule`` the rule broken.
    """

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"invalid client event: {field}: {rule}")


class RemoteProtocolError(OairtError):
    """The peer sent bytes or an event that do not follow the protocol."""


class MessageTooBig(RemoteProtocolError):
    """An incoming message was larger than the configured maximum."""

    def __init__(self, size: int, limit: int) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"incoming message of at least {size} bytes exceeds the limit of {limit}")


class RequestOutcomeUnknown(RemoteProtocolError):
    """A REST request went out and the connection ended before any byte of an answer.

    The server may or may not have acted on it (a ``refer`` may have transferred the
    call), so it is not sent again on its own (RFC 9110 section 9.2.2): check the state, then
    retry if that is right. ``method`` and ``target`` name the request.
    """

    def __init__(self, method: str, target: str) -> None:
        self.method = method
        self.target = target
        super().__init__(
            f"connection lost during {method} {target} after the request was sent and before "
            "any response: the server may or may not have processed it "
            "(not resent: the outcome is unknown)"
        )


class HandshakeError(OairtError):
    """The server refused the WebSocket upgrade (401 bad key, 403, 404 model, 429, ...)."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        error_type: str | None = None,
        code: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.code = code
        super().__init__(f"handshake rejected with HTTP {status_code}: {message}")


class ConnectionClosedError(OairtError):
    """The WebSocket is closed; ``code`` and ``reason`` come from the close frame."""

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"connection closed with code {code}" + (f": {reason}" if reason else ""))


class APIError(OairtError):
    """A REST call answered with a non-2xx status and an OpenAI error body."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        error_type: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param
        super().__init__(f"HTTP {status_code}: {message}")


class WebhookVerificationError(OairtError):
    """A webhook's signature, timestamp or body failed verification."""


class ToolError(OairtError):
    """A typed tool could not be defined, or its arguments could not be decoded."""


class RequestTimeout(OairtError, TimeoutError):
    """A REST request did not complete within its timeout; the connection was dropped."""


class ConnectError(ConnectionClosedError):
    """Could not reach the server: DNS, TCP or TLS failure (code 1006).

    The message names ``host:port`` and the kind of failure; the original error is the
    ``__cause__``. A :class:`ConnectionClosedError`, so ``except ConnectionClosedError``
    still catches it.
    """

    def __repr__(self) -> str:
        return f"ConnectError({self.code}, {self.reason!r})"


class InvalidArgument(OairtError, ValueError):
    """A function was called with a value it cannot use (a stereo array, a negative duration).

    Both an :class:`OairtError` and a ``ValueError``, so either ``except`` catches it.

    >>> isinstance(InvalidArgument("ms must be >= 0"), ValueError)
    True
    """


class InvalidArgumentType(OairtError, TypeError):
    """A function was called with an argument of the wrong type (an ``int`` API key).

    Both an :class:`OairtError` and a ``TypeError``.

    >>> isinstance(InvalidArgumentType("api_key must be a str, got int"), TypeError)
    True
    """
