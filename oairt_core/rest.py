"""The Realtime REST calls (WebRTC and SIP set-up), sans-IO.

Request builders produce a :class:`RestRequest`; a :class:`RestConnection` turns it
into bytes with h11 and turns the bytes that come back into a :class:`RestResponse`;
the matching parser turns that into a typed result or raises :class:`APIError`.
:class:`RealtimeRest` pairs each request with its parser (a :class:`PreparedRequest`)
so an adapter needs only one generic "send, read, parse" loop.

>>> api = RealtimeRest(RestConfig("sk-test-1234567890", base_url="http://127.0.0.1:8080/v1"))
>>> prepared = api.hangup_call("rtc_123")
>>> prepared.request.method, prepared.request.target
('POST', '/v1/realtime/calls/rtc_123/hangup')
>>> conn = RestConnection()
>>> wire = conn.send_request(prepared.request)
>>> wire.startswith(b"POST /v1/realtime/calls/rtc_123/hangup HTTP/1.1\\r\\n")
True
>>> conn.receive_data(b"HTTP/1.1 200 OK\\r\\ncontent-length: 0\\r\\n\\r\\n")
>>> response = conn.next_response()
>>> prepared.parse(response) is None
True
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

import h11
import msgspec

from ._redact import Redactor, Secret, redact_headers, redact_text
from .connection import NEED_DATA, NeedData
from .errors import APIError, LocalProtocolError, RemoteProtocolError
from .models import SessionConfig

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "PROBE_CONNECTION",
    "CallAnswer",
    "ClientSecret",
    "ExpiresAfter",
    "PreparedRequest",
    "ProbeConnection",
    "RealtimeRest",
    "RestConfig",
    "RestConnection",
    "RestRequest",
    "RestResponse",
    "SessionLike",
    "api_error_from_response",
    "build_accept_call",
    "build_create_call",
    "build_create_client_secret",
    "build_hangup_call",
    "build_refer_call",
    "build_reject_call",
    "parse_call_answer",
    "parse_client_secret",
    "parse_empty_response",
    "validate_call_id",
]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_RESPONSE_SIZE = 4 * 1024 * 1024
_USER_AGENT = "oairt/0.1.0"

T = TypeVar("T")

# A session is one of the oairt_core.models session Structs, or a plain mapping with
# the same wire fields (handy for fields the models do not know yet).
SessionLike = SessionConfig | Mapping[str, Any]

# Unreserved URI characters only: nothing that could end the path segment, start a
# query or fragment, percent-encode something, or split a header line.
_CALL_ID_RE = re.compile(r"[A-Za-z0-9._~-]{1,256}")
_BOUNDARY_RE = re.compile(r"[A-Za-z0-9'()+_,\-./:=?]{1,70}")
_TARGET_URI_RE = re.compile(r"(?i)(tel|sips?):\S+")


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def validate_call_id(call_id: str) -> str:
    """Check that ``call_id`` is one safe path segment (raises :class:`LocalProtocolError`).

    >>> validate_call_id("rtc_abc123")
    'rtc_abc123'
    """
    if not isinstance(call_id, str) or not _CALL_ID_RE.fullmatch(call_id) or call_id in (".", ".."):
        raise LocalProtocolError(
            "call_id must be 1-256 characters of [A-Za-z0-9._~-] "
            "(no '/', '?', '#', '%', whitespace or control characters)"
        )
    return call_id


def _check_header_value(name: str, value: str) -> str:
    # The value itself is never quoted in the message: it may be a credential.
    if _has_control(value) or value != value.strip():
        raise LocalProtocolError(
            f"header {name} contains control characters or surrounding whitespace"
        )
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"header {name} is not latin-1 text") from None
    return value


# --------------------------------------------------------------------------- models


class ExpiresAfter(msgspec.Struct, frozen=True, omit_defaults=False):
    """When a client secret expires: ``seconds`` (10..7200) after ``anchor``.

    >>> ExpiresAfter(seconds=60)
    ExpiresAfter(anchor='created_at', seconds=60)
    """

    anchor: Literal["created_at"] = "created_at"
    seconds: int = 600

    def __post_init__(self) -> None:
        if self.anchor != "created_at":
            raise LocalProtocolError("expires_after.anchor must be 'created_at'")
        if isinstance(self.seconds, bool) or not isinstance(self.seconds, int):
            raise LocalProtocolError("expires_after.seconds must be an integer")
        if not 10 <= self.seconds <= 7200:
            raise LocalProtocolError("expires_after.seconds must be between 10 and 7200")


class ClientSecret(msgspec.Struct, frozen=True):
    """An ephemeral ``ek_...`` key from ``POST /realtime/client_secrets``.

    ``value`` is a :class:`Secret` so the key never shows in a repr; pass it to
    :class:`RestConfig` or the WebSocket connect call as it is. ``session`` is the
    decoded session config (``None`` if the server sent something the models do
    not accept), ``raw_session`` the session object exactly as received, and
    ``session_id`` its ``sess_...`` id.
    """

    value: Secret
    expires_at: int
    session: SessionConfig | None
    session_id: str | None
    raw_session: dict[str, Any]


class CallAnswer(msgspec.Struct, frozen=True):
    """The result of ``POST /realtime/calls``: the SDP answer and the new call's id."""

    sdp: str
    call_id: str | None


# --------------------------------------------------------------------------- config


class RestConfig:
    """Where and how to call the REST API.

    ``api_key`` is a standard ``sk-...`` key or an ``ek_...`` client secret; it is
    kept as a :class:`Secret`. ``base_url`` defaults to the public API; a loopback
    URL such as ``http://127.0.0.1:8080/v1`` talks to the fake server.

    >>> cfg = RestConfig("sk-test-1234567890", base_url="http://127.0.0.1:9000/v1")
    >>> cfg.host, cfg.port, cfg.tls, cfg.host_header
    ('127.0.0.1', 9000, False, '127.0.0.1:9000')
    >>> cfg
    RestConfig(base_url='http://127.0.0.1:9000/v1', api_key=Secret('sk-...7890'))
    """

    def __init__(
        self,
        api_key: str | Secret,
        *,
        base_url: str = DEFAULT_BASE_URL,
        organization: str | None = None,
        project: str | None = None,
        user_agent: str = _USER_AGENT,
    ) -> None:
        self.api_key = Secret(api_key)
        if not self.api_key:
            raise LocalProtocolError("api_key is empty")
        _check_header_value("Authorization", self.api_key.reveal())
        for name, value in (("OpenAI-Organization", organization), ("OpenAI-Project", project)):
            if value is not None:
                _check_header_value(name, value)
        _check_header_value("User-Agent", user_agent)
        self.organization = organization
        self.project = project
        self.user_agent = user_agent
        if _has_control(base_url):
            raise LocalProtocolError("base_url contains control characters")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https"):
            raise LocalProtocolError("base_url must start with http:// or https://")
        if not parts.hostname or parts.query or parts.fragment or parts.username:
            raise LocalProtocolError("base_url must be scheme://host[:port][/path]")
        try:
            port = parts.port
        except ValueError:
            raise LocalProtocolError("base_url has an invalid port") from None
        self.base_url = base_url
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = port if port is not None else (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.tls else 80
        self.host_header = host if self.port == default_port else f"{host}:{self.port}"
        self.base_path = parts.path.rstrip("/")

    def __repr__(self) -> str:
        return f"RestConfig(base_url={self.base_url!r}, api_key={self.api_key!r})"

    def headers(self) -> list[tuple[str, str]]:
        """The headers every request carries (Authorization included)."""
        out = [
            ("Host", self.host_header),
            ("Authorization", f"Bearer {self.api_key.reveal()}"),
            ("User-Agent", self.user_agent),
        ]
        if self.organization is not None:
            out.append(("OpenAI-Organization", self.organization))
        if self.project is not None:
            out.append(("OpenAI-Project", self.project))
        return out


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, repr=False)
class RestRequest:
    """One HTTP request, ready for :meth:`RestConnection.send_request`.

    ``target`` is the path as sent on the request line. The repr hides credentials.
    """

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def __repr__(self) -> str:
        return (
            f"RestRequest(method={self.method!r}, target={self.target!r}, "
            f"headers={redact_headers(self.headers)!r}, body=<{len(self.body)} bytes>)"
        )

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None


@dataclass(frozen=True, repr=False)
class RestResponse:
    """One complete HTTP response. The repr shows no body (it may hold an ``ek_`` key)."""

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes

    def __repr__(self) -> str:
        return (
            f"RestResponse(status_code={self.status_code}, "
            f"headers={redact_headers(self.headers)!r}, body=<{len(self.body)} bytes>)"
        )

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None


def _encode_session(session: SessionLike, *, where: str) -> tuple[bytes, dict[str, Any]]:
    try:
        data = msgspec.json.encode(session)
        decoded = msgspec.json.decode(data)
    except (TypeError, ValueError, msgspec.MsgspecError, RecursionError) as exc:
        raise LocalProtocolError(f"{where}: session cannot be encoded as JSON: {exc}") from None
    if not isinstance(decoded, dict):
        raise LocalProtocolError(f"{where}: session must encode to a JSON object")
    if decoded.get("type") not in ("realtime", "transcription"):
        raise LocalProtocolError(f"{where}: session.type must be 'realtime' or 'transcription'")
    return data, decoded


def _post(
    config: RestConfig, path: str, body: bytes, content_type: str | None, accept: str
) -> RestRequest:
    headers = config.headers()
    headers.append(("Accept", accept))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    headers.append(("Content-Length", str(len(body))))
    return RestRequest("POST", config.base_path + path, headers, body)


def build_create_client_secret(
    config: RestConfig,
    *,
    session: SessionLike | None = None,
    expires_after: ExpiresAfter | int | None = None,
) -> RestRequest:
    """``POST /realtime/client_secrets`` (``expires_after`` may be a number of seconds)."""
    payload: dict[str, Any] = {}
    if expires_after is not None:
        if not isinstance(expires_after, ExpiresAfter):
            expires_after = ExpiresAfter(seconds=expires_after)
        payload["expires_after"] = msgspec.to_builtins(expires_after)
    if session is not None:
        _, payload["session"] = _encode_session(session, where="client_secrets")
    body = msgspec.json.encode(payload)
    return _post(config, "/realtime/client_secrets", body, "application/json", "application/json")


def build_create_call(
    config: RestConfig,
    sdp: str,
    *,
    session: SessionLike | None = None,
    boundary: str | None = None,
) -> RestRequest:
    """``POST /realtime/calls``: a raw ``application/sdp`` offer, or multipart with a session.

    ``boundary`` is random unless given (tests pass one for byte-exact output).
    """
    if not isinstance(sdp, str) or not sdp.strip():
        raise LocalProtocolError("sdp offer is empty")
    sdp_bytes = sdp.encode("utf-8")
    if session is None:
        return _post(config, "/realtime/calls", sdp_bytes, "application/sdp", "application/sdp")
    session_bytes, decoded = _encode_session(session, where="calls")
    if decoded["type"] != "realtime":
        raise LocalProtocolError("calls: session.type must be 'realtime'")
    if boundary is None:
        boundary = "oairt-" + secrets.token_hex(16)
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise LocalProtocolError("multipart boundary has invalid characters or length")
    delimiter = b"--" + boundary.encode("ascii")
    if delimiter in sdp_bytes or delimiter in session_bytes:
        raise LocalProtocolError("multipart boundary occurs inside a part")
    body = b"".join(
        [
            delimiter + b"\r\n",
            b'Content-Disposition: form-data; name="sdp"\r\n',
            b"Content-Type: application/sdp\r\n\r\n",
            sdp_bytes + b"\r\n",
            delimiter + b"\r\n",
            b'Content-Disposition: form-data; name="session"\r\n',
            b"Content-Type: application/json\r\n\r\n",
            session_bytes + b"\r\n",
            delimiter + b"--\r\n",
        ]
    )
    return _post(
        config,
        "/realtime/calls",
        body,
        f"multipart/form-data; boundary={boundary}",
        "application/sdp",
    )


def build_accept_call(config: RestConfig, call_id: str, session: SessionLike) -> RestRequest:
    """``POST /realtime/calls/{call_id}/accept`` with a ``type: "realtime"`` session."""
    validate_call_id(call_id)
    body, decoded = _encode_session(session, where="accept")
    if decoded["type"] != "realtime":
        raise LocalProtocolError("accept: session.type must be 'realtime'")
    return _post(config, f"/realtime/calls/{call_id}/accept", body, "application/json", "*/*")


def build_reject_call(
    config: RestConfig, call_id: str, status_code: int | None = None
) -> RestRequest:
    """``POST /realtime/calls/{call_id}/reject`` (SIP ``status_code``, server default 603)."""
    validate_call_id(call_id)
    payload: dict[str, Any] = {}
    if status_code is not None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise LocalProtocolError("reject: status_code must be an integer SIP code")
        if not 300 <= status_code <= 699:
            raise LocalProtocolError("reject: status_code must be a SIP code between 300 and 699")
        payload["status_code"] = status_code
    body = msgspec.json.encode(payload)
    return _post(config, f"/realtime/calls/{call_id}/reject", body, "application/json", "*/*")


def build_refer_call(config: RestConfig, call_id: str, target_uri: str) -> RestRequest:
    """``POST /realtime/calls/{call_id}/refer`` to a ``tel:``, ``sip:`` or ``sips:`` URI."""
    validate_call_id(call_id)
    if (
        not isinstance(target_uri, str)
        or _has_control(target_uri)
        or not _TARGET_URI_RE.fullmatch(target_uri)
    ):
        raise LocalProtocolError(
            "refer: target_uri must be a tel:, sip: or sips: URI without whitespace"
        )
    body = msgspec.json.encode({"target_uri": target_uri})
    return _post(config, f"/realtime/calls/{call_id}/refer", body, "application/json", "*/*")


def build_hangup_call(config: RestConfig, call_id: str) -> RestRequest:
    """``POST /realtime/calls/{call_id}/hangup`` (no body)."""
    validate_call_id(call_id)
    return _post(config, f"/realtime/calls/{call_id}/hangup", b"", None, "*/*")


# --------------------------------------------------------------------------- responses


# msgspec raises RecursionError on absurdly deep JSON nesting (``[[[[...``): a hostile
# body, so it is a protocol error like any other undecodable body.
_DECODE_ERRORS = (msgspec.MsgspecError, UnicodeDecodeError, RecursionError)


class _ErrorObject(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorObject


class _ClientSecretWire(msgspec.Struct):
    value: str
    expires_at: int
    session: dict[str, Any]


_GENERIC = Redactor()


def api_error_from_response(
    response: RestResponse, *, redactor: Redactor | None = None
) -> APIError:
    """The :class:`APIError` for a non-2xx response (falls back to a generic message).

    Every field taken from the body (``message``, ``error_type``, ``code``, ``param``)
    passes through ``redactor`` (the client's, which knows its key; else credential
    shapes only): a server may echo the key in any of them.
    """
    status = response.status_code
    try:
        err = msgspec.json.decode(response.body, type=_ErrorBody).error
    except _DECODE_ERRORS:
        return APIError(status, f"request failed with HTTP {status} (no OpenAI error body)")
    r = redactor or _GENERIC
    message = r.text(_cap(err.message)) if err.message else f"request failed with HTTP {status}"
    return APIError(
        status,
        message,
        error_type=None if err.type is None else r.text(_cap(err.type)),
        code=None if err.code is None else r.text(_cap(str(err.code))),
        param=None if err.param is None else r.text(_cap(err.param)),
    )


# An error field is for a human: a server's 4 MiB "message" is cut, and says so.
_MAX_ERROR_FIELD = 4096


def _cap(text: str) -> str:
    if len(text) <= _MAX_ERROR_FIELD:
        return text
    return f"{text[:_MAX_ERROR_FIELD]}...({len(text)} chars)"


def _check_status(response: RestResponse, redactor: Redactor | None) -> None:
    if not 200 <= response.status_code < 300:
        raise api_error_from_response(response, redactor=redactor)


def _decode_session(raw: dict[str, Any]) -> SessionConfig | None:
    # The server's session object has extra keys (id, object, expires_at); the
    # models ignore unknown keys. If they still reject it, keep only the raw dict.
    try:
        session: SessionConfig = msgspec.convert(raw, type=SessionConfig)
        return session
    except (msgspec.MsgspecError, TypeError, ValueError, LocalProtocolError, RecursionError):
        return None


def parse_client_secret(
    response: RestResponse, *, redactor: Redactor | None = None
) -> ClientSecret:
    """Parse the ``/realtime/client_secrets`` response."""
    _check_status(response, redactor)
    try:
        wire = msgspec.json.decode(response.body, type=_ClientSecretWire)
    except _DECODE_ERRORS as exc:
        # The message names the field, never the body (it holds the secret).
        raise RemoteProtocolError(
            f"client_secrets: unexpected response body: {redact_text(str(exc))}"
        ) from None
    if not wire.value:
        raise RemoteProtocolError("client_secrets: empty value")
    session_id = wire.session.get("id")
    return ClientSecret(
        value=Secret(wire.value),
        expires_at=wire.expires_at,
        session=_decode_session(wire.session),
        session_id=session_id if isinstance(session_id, str) else None,
        raw_session=wire.session,
    )


def parse_call_answer(response: RestResponse, *, redactor: Redactor | None = None) -> CallAnswer:
    """Parse the ``/realtime/calls`` response: SDP answer plus the call_id from ``Location``."""
    _check_status(response, redactor)
    try:
        sdp = response.body.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError("calls: SDP answer is not UTF-8") from None
    if not sdp.startswith("v=0"):
        raise RemoteProtocolError("calls: response body is not an SDP answer (no 'v=0')")
    call_id: str | None = None
    location = response.header("location")
    if location:
        segment = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
        try:
            call_id = validate_call_id(segment)
        except LocalProtocolError:
            raise RemoteProtocolError("calls: Location header has no valid call id") from None
    return CallAnswer(sdp=sdp, call_id=call_id)


def parse_empty_response(response: RestResponse, *, redactor: Redactor | None = None) -> None:
    """Parse a control call's response (2xx, body ignored)."""
    _check_status(response, redactor)


@dataclass(frozen=True)
class PreparedRequest(Generic[T]):
    """A request and the parser for its response."""

    request: RestRequest
    parse: Callable[[RestResponse], T]


class RealtimeRest:
    """Every Realtime REST call as a :class:`PreparedRequest` (request + parser).

    >>> api = RealtimeRest(RestConfig("sk-test-1234567890"))
    >>> api.create_call("v=0\\r\\n").request.header("content-type")
    'application/sdp'
    """

    def __init__(self, config: RestConfig) -> None:
        self.config = config
        # The parsers' errors quote the server; this one also knows the key.
        self.redactor = Redactor(config.api_key)

    def __repr__(self) -> str:
        return f"RealtimeRest({self.config!r})"

    def create_client_secret(
        self,
        *,
        session: SessionLike | None = None,
        expires_after: ExpiresAfter | int | None = None,
    ) -> PreparedRequest[ClientSecret]:
        req = build_create_client_secret(self.config, session=session, expires_after=expires_after)
        return PreparedRequest(req, partial(parse_client_secret, redactor=self.redactor))

    def create_call(
        self, sdp: str, *, session: SessionLike | None = None, boundary: str | None = None
    ) -> PreparedRequest[CallAnswer]:
        req = build_create_call(self.config, sdp, session=session, boundary=boundary)
        return PreparedRequest(req, partial(parse_call_answer, redactor=self.redactor))

    def accept_call(self, call_id: str, session: SessionLike) -> PreparedRequest[None]:
        return PreparedRequest(build_accept_call(self.config, call_id, session), self._empty())

    def reject_call(self, call_id: str, status_code: int | None = None) -> PreparedRequest[None]:
        req = build_reject_call(self.config, call_id, status_code)
        return PreparedRequest(req, self._empty())

    def refer_call(self, call_id: str, target_uri: str) -> PreparedRequest[None]:
        req = build_refer_call(self.config, call_id, target_uri)
        return PreparedRequest(req, self._empty())

    def hangup_call(self, call_id: str) -> PreparedRequest[None]:
        return PreparedRequest(build_hangup_call(self.config, call_id), self._empty())

    def _empty(self) -> Callable[[RestResponse], None]:
        return partial(parse_empty_response, redactor=self.redactor)


# --------------------------------------------------------------------------- connection




class ProbeConnection:
    """Step: before a kept-alive connection is reused, look whether the server closed it.

    The adapter checks, without blocking, whether the idle socket is readable (end of
    stream, a reset, a TLS close_notify or stray bytes all count) and reports it to
    ``RestDriver.probed(dropped)``. Only a request that never left can be sent again
    safely: once it is written, a close means nobody knows whether it was acted on.
    """

    _instance: ProbeConnection | None = None

    def __new__(cls) -> ProbeConnection:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "PROBE_CONNECTION"


PROBE_CONNECTION = ProbeConnection()

# RFC 9110 section 9.2.2: only these may be repeated automatically.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


class RestConnection:
    """A sans-IO HTTP/1.1 client connection (h11) for one request at a time.

    Send with :meth:`send_request`, feed what the socket gives with
    :meth:`receive_data` (``b""`` at end of stream), then call
    :meth:`next_response` until it returns a :class:`RestResponse` instead of
    :data:`NEED_DATA`. After a response, :attr:`reusable` says whether the next
    request may go over the same socket (keep-alive). Response bodies larger than
    ``max_response_size`` raise :class:`RemoteProtocolError`.
    """

    def __init__(
        self,
        *,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        redactor: Redactor | None = None,
    ) -> None:
        self._h11 = h11.Connection(h11.CLIENT)
        # h11's messages quote what the server sent (a header line echoing the key).
        self._redactor = redactor or _GENERIC
        self.max_response_size = max_response_size
        self.requests_sent = 0
        self._status: int | None = None
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._received_any = False
        self._method = ""
        self._broken = False
        self._eof = False

    @property
    def reusable(self) -> bool:
        """True when a finished exchange left the connection open for another request."""
        if self._broken or self._eof:
            return False
        h = self._h11
        if h.our_state is h11.IDLE and h.their_state is h11.IDLE:
            return True
        return h.our_state is h11.DONE and h.their_state is h11.DONE

    @property
    def response_started(self) -> bool:
        """True once a byte of the answer to the current request has arrived."""
        return self._received_any

    @property
    def retry_safe(self) -> bool:
        """True if an idempotent request failed on a reused connection before any answer.

        That may be the keep-alive race (the server closed an idle connection just as
        we sent), or a server that read the request, acted on it and dropped the
        connection: nobody can tell. RFC 9110 section 9.2.2 allows an automatic resend
        for idempotent methods only, so a POST is never retry-safe once written.
        """
        return self.requests_sent > 1 and not self._received_any and self._method in _IDEMPOTENT

    def send_request(self, request: RestRequest) -> bytes:
        """The bytes to write for ``request``."""
        h = self._h11
        if self._broken or self._eof:
            raise LocalProtocolError("connection is closed or broken; open a new one")
        if h.our_state is h11.DONE and h.their_state is h11.DONE:
            h.start_next_cycle()
        if h.our_state is not h11.IDLE:
            raise LocalProtocolError("a request is already in progress on this connection")
        self._status = None
        self._headers = []
        self._body = []
        self._size = 0
        self._received_any = False
        self._method = request.method.upper()
        self.requests_sent += 1
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in request.headers]
        try:
            out = h.send(h11.Request(method=request.method, target=request.target, headers=headers))
            if request.body:
                out = (out or b"") + (h.send(h11.Data(data=request.body)) or b"")
            out = (out or b"") + (h.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError:
            self._broken = True
            # h11's message may quote a header value, and a header may be a key.
            raise LocalProtocolError(
                "request cannot be sent (invalid request line or header)"
            ) from None
        return out

    def receive_data(self, data: bytes) -> None:
        """Feed bytes from the socket; ``b""`` means the peer closed."""
        if data:
            self._received_any = True
        else:
            # A close-delimited body ends at EOF and h11 still says DONE/DONE.
            self._eof = True
        try:
            self._h11.receive_data(data)
        except RuntimeError:
            # Data after EOF: the socket layer misbehaved; treat as a broken peer.
            self._broken = True
            raise RemoteProtocolError("data received after end of stream") from None

    def next_response(self) -> RestResponse | NeedData:
        """A complete response, or :data:`NEED_DATA`."""
        while True:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                self._broken = True
                detail = self._redactor.text(str(exc)[:1000])
                raise RemoteProtocolError(f"invalid HTTP response: {detail}") from None
            if event is h11.NEED_DATA:
                return NEED_DATA
            if event is h11.PAUSED:  # pragma: no cover - h11 pauses only between cycles
                return NEED_DATA
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                self._status = event.status_code
                self._headers = [
                    (n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers
                ]
                length = self._content_length()
                if length is not None and length > self.max_response_size:
                    self._broken = True
                    raise RemoteProtocolError(
                        f"response body of {length} bytes exceeds the limit of "
                        f"{self.max_response_size}"
                    )
                continue
            if isinstance(event, h11.Data):
                self._size += len(event.data)
                if self._size > self.max_response_size:
                    self._broken = True
                    raise RemoteProtocolError(
                        f"response body exceeds the limit of {self.max_response_size} bytes"
                    )
                self._body.append(bytes(event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                assert self._status is not None
                return RestResponse(self._status, self._headers, b"".join(self._body))
            if isinstance(event, h11.ConnectionClosed):
                self._broken = True
                raise RemoteProtocolError("connection closed before a complete response")
            raise RemoteProtocolError(f"unexpected HTTP event {type(event).__name__}")

    def _content_length(self) -> int | None:
        for n, v in self._headers:
            if n.lower() == "content-length":
                try:
                    return int(v)
                except ValueError:
                    return None
        return None
