"""The sans-IO Realtime WebSocket connection.

:class:`RealtimeConnection` turns bytes from the network into typed events and
typed client events into bytes, in the manner of h11: no sockets, no event loop,
no clock. An adapter (``oairt_anyio``, ``oairt_trio``, a blocking socket, raw
asyncio streams, ...) owns the socket and drives it::

    conn = RealtimeConnection(api_key="sk-...", model="gpt-realtime")
    sock.sendall(conn.initiate())             # the HTTP upgrade request
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            sock.sendall(conn.data_to_send())  # pongs, close replies
            conn.receive_data(sock.recv(65536) or None)
            continue
        ...                                    # Connected, server events, ConnectionClosed

>>> conn = RealtimeConnection(api_key="sk-test-1234567890", model="gpt-realtime")
>>> conn.url
'wss://api.openai.com/v1/realtime?model=gpt-realtime'
>>> conn.initiate().startswith(b"GET /v1/realtime?model=gpt-realtime HTTP/1.1")
True
>>> conn.state
<ConnectionState.CONNECTING: 'connecting'>
>>> "1234567890" in repr(conn)
False

Which session the URL targets (exactly one of these):

* ``model="gpt-realtime"`` -> ``?model=gpt-realtime``: a new realtime session
  (``intent="realtime"`` may be added; it is sent as ``&intent=realtime``);
* ``call_id="rtc_..."`` -> ``?call_id=rtc_...``: the sideband control channel of an
  existing WebRTC/SIP call (no ``model``, no ``intent``);
* ``intent="transcription"`` -> ``?intent=transcription``: a transcription
  session (no ``model``: the model is chosen in the session config);
* none of them, when ``base_url`` already carries ``model=``, ``call_id=`` or
  ``intent=`` in its query (gateways that fix the target).
"""

from __future__ import annotations

import enum
import math
import re
import ssl as _ssl
import sys
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import msgspec
from wsproto import ConnectionType, WSConnection
from wsproto.connection import Connection as _WSFrames
from wsproto.connection import ConnectionState as _WSState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from ._frames import MaskKeys, frames_idle, masked_text_frame, text_frame_at
from ._redact import Redactor, Secret, redact_headers, redact_text
from .codec import _SERVER_DECODER, decode_server_event, encode_client_event
from .errors import (
    ConnectionClosedError,
    HandshakeError,
    LocalProtocolError,
    MessageTooBig,
    OairtError,
    RemoteProtocolError,
)
from .events import ClientEvent, ServerEvent, SessionCreatedEvent

__all__ = [
    "DEFAULT_WS_BASE_URL",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "ConnectionClosed",
    "ConnectionEvent",
    "ConnectionState",
    "Connected",
    "HandshakeRejected",
    "IncomingEvent",
    "MalformedServerEvent",
    "NEED_DATA",
    "NeedData",
    "RealtimeConnection",
    "resolve_ssl_context",
]

DEFAULT_WS_BASE_URL = "wss://api.openai.com/v1"

# 64 MiB. The biggest legitimate server messages are session/response payloads carrying long
# audio deltas, transcripts or large tool lists: a few MiB at most (client audio appends are
# capped at 15 MiB). 64 MiB leaves a wide margin for future payloads while still stopping a
# hostile or broken peer from streaming an endless message into memory.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024

# The body of a refused handshake is only read for its error message; cap it.
DEFAULT_MAX_REJECTION_BODY = 64 * 1024

# Close codes an endpoint may put in a close frame it sends (RFC 6455 section 7.4).
_SENDABLE_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_HEADER_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BAD_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
_BAD_CALL_ID_CHARS = re.compile(r"[\x00-\x20\x7f/?#%\\&=+]")

# Headers the handshake itself sets; a user may not override them.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "authorization",
        "content-length",
        "transfer-encoding",
        "openai-beta",
    }
)



class NeedData:
    """Sentinel type: feed more bytes (``receive_data``); one for the whole core.

    :class:`RealtimeConnection` and the REST connection both return it. Test with
    ``event is NEED_DATA`` or ``isinstance(event, NeedData)`` (the latter narrows for mypy).
    """

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = NeedData()


class ConnectionState(enum.Enum):
    """Where the connection stands.

    ``CONNECTING``: the upgrade request is built (or about to be), awaiting ``101``.
    ``OPEN``: events flow both ways. ``CLOSING``: we sent a close frame and await the
    peer's. ``CLOSED``: finished (close handshake done, TCP lost, or we failed the
    connection). ``REJECTED``: the server refused the upgrade.
    """

    CONNECTING = "connecting"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Connected:
    """The server accepted the upgrade. ``headers`` are the response headers, redacted."""

    subprotocol: str | None
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class HandshakeRejected:
    """The server answered the upgrade with a non-101 status.

    ``message``, ``error_type``, ``code`` and ``param`` come from the OpenAI error body
    ``{"error": {...}}`` when there is one. ``headers`` and ``body`` are redacted;
    ``body`` is capped (``truncated`` tells).
    """

    status_code: int
    headers: list[tuple[str, str]]
    body: bytes
    message: str
    error_type: str | None = None
    code: str | None = None
    param: str | None = None
    truncated: bool = False

    def exception(self) -> HandshakeError:
        """The exception an adapter raises for this rejection."""
        return HandshakeError(
            self.status_code, self.message, error_type=self.error_type, code=self.code
        )


@dataclass(frozen=True)
class ConnectionClosed:
    """The connection is over; always the last event.

    ``code`` and ``reason`` come from the close frame (the peer's, or ours when we
    failed the connection). ``clean`` is True when a close frame was received;
    False when TCP was lost first (code 1006) or when we failed the connection
    because the peer broke the protocol (``error`` is then set: 1002/1007 protocol
    violation, 1009 :class:`MessageTooBig`). ``initiated_locally`` tells whether we
    sent the first close frame.
    """

    code: int
    reason: str = ""
    clean: bool = True
    initiated_locally: bool = False
    error: RemoteProtocolError | None = None

    @property
    def normal(self) -> bool:
        """A close nobody needs to be told about: we asked for it, or the peer said 1000."""
        if self.error is not None:
            return False
        return self.initiated_locally or (self.clean and self.code in (1000, 1005))

    def exception(self) -> OairtError:
        """The exception an adapter raises when asked for an event after this close.

        The protocol error itself (e.g. :class:`MessageTooBig`) when we failed the
        connection, else :class:`ConnectionClosedError` with the close code.
        """
        if self.error is not None:
            return self.error
        return ConnectionClosedError(self.code, self.reason)


@dataclass(frozen=True)
class MalformedServerEvent:
    """A server message the codec rejected (or a binary frame). The session goes on."""

    error: RemoteProtocolError
    raw: bytes

    def __repr__(self) -> str:
        head = redact_text(self.raw[:80].decode("utf-8", "replace"))
        return f"MalformedServerEvent(error={self.error!r}, raw={head!r}... {len(self.raw)} bytes)"


ConnectionEvent = Connected | HandshakeRejected | ConnectionClosed | MalformedServerEvent
"""The events :class:`RealtimeConnection` defines itself."""

IncomingEvent = ServerEvent | MalformedServerEvent
"""What an adapter's ``next_event()`` returns: a server event or a malformed one."""

# A text message waiting to be decoded is ``bytes`` (UTF-8, checked) or ``str``; everything
# else waiting is an event already made (a binary message is a MalformedServerEvent at once).
_Pending = ConnectionEvent | str | bytes

# Enum members as module constants: on Python 3.11 ``ConnectionState.OPEN`` is a
# descriptor lookup costing about 0.2 µs, a tenth of a frame's bookkeeping.
_OPEN = ConnectionState.OPEN
_WS_OPEN = _WSState.OPEN

# msgspec's own decoder: the hot path calls it directly, and codec.decode_server_event
# (unknown types, errors) only when it refuses a message.
_decode_server_event = _SERVER_DECODER.decode


class _ErrorBody(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None
    param: str | None = None


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | None = None


def resolve_ssl_context(
    secure: bool,
    ssl: bool | _ssl.SSLContext | None = None,
    *,
    default: Callable[[], _ssl.SSLContext],
) -> _ssl.SSLContext | None:
    """The TLS context an adapter should use, or None for plain TCP.

    ``ssl=None`` follows the URL scheme. ``wss://`` gets ``default()`` (the caller's
    factory, typically ``ssl.create_default_context``: the core never loads the CA
    store itself) unless an ``SSLContext`` is given; ``ssl=False`` is allowed for
    ``ws://`` only.

    >>> import ssl
    >>> resolve_ssl_context(False, default=ssl.create_default_context) is None
    True
    >>> resolve_ssl_context(True, default=ssl.create_default_context).check_hostname
    True
    """
    if ssl is None:
        ssl = secure
    if ssl is False:
        if secure:
            raise LocalProtocolError("ssl=False is only allowed with a ws:// base URL")
        return None
    if not secure:
        raise LocalProtocolError("TLS was requested but the base URL is ws://; use wss://")
    if ssl is True:
        return default()
    return ssl


# The last second a calendar date can name (9999-12-31T23:59:59Z): anything later is no
# timestamp a server meant.
_MAX_EPOCH = 253_402_300_799


class _ExpiresAtSession(msgspec.Struct):
    expires_at: Annotated[int, msgspec.Meta(gt=0, le=_MAX_EPOCH)] | None = None


class _ExpiresAtProbe(msgspec.Struct):
    session: _ExpiresAtSession | None = None


# session.created's ``session`` is typed as the request model, which has no expires_at (the
# wire adds it): read it from the raw text with this probe instead of widening the model.
_expires_at_decoder = msgspec.json.Decoder(_ExpiresAtProbe)


def _session_expires_at(text: str | bytes) -> int | None:
    """``session.expires_at`` of a session.created message, or None when absent or odd.

    >>> _session_expires_at('{"type":"session.created","session":{"expires_at":1750003600}}')
    1750003600
    >>> _session_expires_at('{"session":{"expires_at":"soon"}}') is None
    True
    """
    try:
        session = _expires_at_decoder.decode(text).session
    except Exception:  # a float, a string, a negative, a huge number: no usable expiry
        return None
    return None if session is None else session.expires_at


def _binary_message(raw: bytes) -> MalformedServerEvent:
    return MalformedServerEvent(
        RemoteProtocolError("binary WebSocket message: the Realtime API sends only text"), raw
    )


def _utf8(piece: str | bytes) -> bytes:
    return piece.encode("utf-8") if isinstance(piece, str) else piece


def _check_header(name: str, value: str) -> None:
    if not _TOKEN.match(name):
        raise LocalProtocolError(f"invalid header name {name!r}")
    # The value is never shown: it may be a credential.
    if _BAD_HEADER_CHARS.search(value):
        raise LocalProtocolError(f"header {name} contains a control character (CR/LF/NUL)")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"header {name} is not latin-1 text") from None


def _check_call_id(call_id: str) -> None:
    if not call_id or len(call_id) > 512 or _BAD_CALL_ID_CHARS.search(call_id) or ".." in call_id:
        raise LocalProtocolError(
            "call_id must be 1-512 characters without whitespace, control characters,"
            " '/', '?', '#', '%', '\\', '&', '=', '+' or '..'"
        )


def _check_query_value(name: str, value: str) -> None:
    if not value or _BAD_HEADER_CHARS.search(value):
        raise LocalProtocolError(f"{name} must be non-empty text without control characters")


def _default_user_agent() -> str:
    from . import __version__  # imported late: the package imports this module

    # sys, not platform: on Python 3.10 platform imports subprocess, hence threading.
    v = sys.version_info
    return f"oairt/{__version__} Python/{v.major}.{v.minor}.{v.micro}"


class RealtimeConnection:
    """One client WebSocket connection to the Realtime API, without I/O.

    See the module docstring for the drive loop and the allowed combinations of
    ``model``, ``call_id`` and ``intent``. ``max_message_size`` caps one incoming
    message (all its fragments); going over it fails the connection with close
    code 1009 and ``ConnectionClosed(error=MessageTooBig(...))``.
    """

    def __init__(
        self,
        *,
        api_key: str | Secret,
        model: str | None = None,
        call_id: str | None = None,
        intent: Literal["realtime", "transcription"] | None = None,
        base_url: str = DEFAULT_WS_BASE_URL,
        organization: str | None = None,
        project: str | None = None,
        safety_identifier: str | None = None,
        user_agent: str | None = None,
        extra_headers: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        extra_query: Mapping[str, str] | None = None,
        subprotocols: Sequence[str] | None = None,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_rejection_body: int = DEFAULT_MAX_REJECTION_BODY,
        on_message: Callable[[str, str], None] | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
    ) -> None:
        self._init_keepalive(ping_interval, ping_timeout)
        self._api_key = Secret(api_key)
        if not self._api_key.reveal():
            raise LocalProtocolError("api_key must not be empty")
        # Every error built from server text goes through it: a server may echo the key.
        self.redactor = Redactor(self._api_key)
        if max_message_size < 1:
            raise LocalProtocolError("max_message_size must be positive")
        self.max_message_size = max_message_size
        self._max_rejection_body = max(0, max_rejection_body)
        # A recording hook: called with ("client", text) for each message sent and
        # ("server", text) for each whole text message received (never the handshake,
        # so no credentials pass through it).
        self._on_message = on_message
        self.is_sideband = call_id is not None

        self._parse_base_url(base_url)
        query = self._build_query(model, call_id, intent, extra_query)
        self.target = self._path + ("?" + query if query else "")

        # The Authorization header is built only in initiate(): no attribute holds the
        # plain "Bearer <key>" for a repr, vars() or a debugger to show.
        _check_header("Authorization", "Bearer " + self._api_key.reveal())
        headers: list[tuple[str, str]] = []
        for name, value in (
            ("OpenAI-Organization", organization),
            ("OpenAI-Project", project),
            ("OpenAI-Safety-Identifier", safety_identifier),
        ):
            if value is not None:
                headers.append((name, value))
        headers.append(("User-Agent", _default_user_agent() if user_agent is None else user_agent))
        items = extra_headers.items() if isinstance(extra_headers, Mapping) else extra_headers or ()
        for name, value in items:
            if name.lower() in _RESERVED_HEADERS or name.lower().startswith("sec-websocket-"):
                raise LocalProtocolError(f"header {name} is set by the connection itself")
            headers.append((name, value))
        for name, value in headers:
            _check_header(name, value)
        self._headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]

        self._subprotocols = list(subprotocols or ())
        for proto in self._subprotocols:
            if not _TOKEN.match(proto) or proto.startswith("openai-beta"):
                raise LocalProtocolError("invalid or beta-only WebSocket subprotocol")

        self._ws = WSConnection(ConnectionType.CLIENT)
        # Once the upgrade is accepted, frames go straight to wsproto's documented
        # post-handshake ``Connection`` (what ``WSConnection`` delegates to after the
        # handshake): one wrapper call and one generator level less per frame.
        self._frames: _WSFrames | None = None
        # True while wsproto stands idle at a frame boundary after the handshake: whole
        # text frames are then parsed by ``_frames`` (see ``receive_data``).
        self._fast = False
        self._mask_keys = MaskKeys()  # for the frames we build ourselves
        self._state = ConnectionState.CONNECTING
        self._initiated = False
        self._outgoing = bytearray()
        self._pending: deque[_Pending] = deque()
        self._terminal: ConnectionEvent | None = None
        # The incoming message being assembled: its first piece as given (a message that comes
        # in one read is never copied), later pieces appended as UTF-8 to one growing buffer.
        # Not a list of the pieces wsproto yields, nor io.StringIO (which keeps such a list
        # too): a peer trickling tiny TCP segments would cost a str object (~50 bytes) per
        # few payload bytes, and max_message_size would not bound memory.
        self._first: str | bytes | None = None
        self._buffer = bytearray()
        self._msg_size = 0
        # A refused handshake being collected.
        self._reject_status = 0
        self._reject_headers: list[tuple[str, str]] = []
        self._reject_body = bytearray()
        self._reject_truncated = False
        self.subprotocol: str | None = None
        self.response_headers: list[tuple[str, str]] = []
        self._session_expires_at: int | None = None

    # -- URL ---------------------------------------------------------------------------

    def _parse_base_url(self, base_url: str) -> None:
        # urlsplit would silently drop CR/LF/TAB; refuse anything but printable ASCII
        # instead (percent-encode it, or punycode a host).
        if not base_url.isascii() or _BAD_URL_CHARS.search(base_url):
            raise LocalProtocolError(
                "base_url must be printable ASCII without spaces (percent-encode the rest)"
            )
        try:
            parts = urlsplit(base_url)
            port = parts.port
        except ValueError:
            raise LocalProtocolError("base_url is not a valid URL") from None
        scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
        if scheme is None:
            raise LocalProtocolError("base_url must use ws, wss, http or https")
        if parts.username is not None or parts.password is not None:
            raise LocalProtocolError("base_url must not carry credentials; use api_key")
        if parts.fragment:
            raise LocalProtocolError("base_url must not have a #fragment")
        if not parts.hostname:
            raise LocalProtocolError("base_url has no host")
        self.secure = scheme == "wss"
        self.host: str = parts.hostname
        self.port: int = port if port is not None else (443 if self.secure else 80)
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.secure else 80
        self._host_header = bracketed if self.port == default_port else f"{bracketed}:{self.port}"
        self._scheme = scheme
        # Percent-encode whatever is not already URL-safe (spaces, non-ASCII, CR/LF), so
        # the request line can never be split or smuggled.
        path = quote(parts.path.rstrip("/"), safe="/%:@!$&'()*+,;=-._~")
        # A base URL that already names the endpoint is used as is.
        if not path.endswith("/realtime"):
            path += "/realtime"
        self._path = path
        self._base_query = parse_qsl(parts.query, keep_blank_values=True)

    def _build_query(
        self,
        model: str | None,
        call_id: str | None,
        intent: str | None,
        extra_query: Mapping[str, str] | None,
    ) -> str:
        preset = {k for k, _ in self._base_query}
        params: list[tuple[str, str]] = []
        if intent not in (None, "realtime", "transcription"):
            raise LocalProtocolError("intent must be 'realtime' or 'transcription'")
        if call_id is not None:
            if model is not None or intent is not None:
                raise LocalProtocolError("call_id joins an existing call: give no model or intent")
            _check_call_id(call_id)
            params.append(("call_id", call_id))
        elif intent == "transcription":
            if model is not None:
                raise LocalProtocolError(
                    "intent='transcription' takes no model (set it in the session config)"
                )
            params.append(("intent", "transcription"))
        elif model is not None:
            _check_query_value("model", model)
            params.append(("model", model))
            if intent == "realtime":
                params.append(("intent", "realtime"))
        elif not preset & {"model", "call_id", "intent"}:
            raise LocalProtocolError("give model=, call_id= or intent='transcription'")
        elif intent == "realtime":
            params.append(("intent", "realtime"))
        for key, value in (extra_query or {}).items():
            _check_query_value(key, value)
            params.append((key, value))
        names = [k for k, _ in params]
        clash = (set(names) & preset) | {n for n in names if names.count(n) > 1}
        if clash:
            raise LocalProtocolError(f"query parameter given twice: {', '.join(sorted(clash))}")
        return urlencode(self._base_query + params, quote_via=quote, safe="")

    @property
    def url(self) -> str:
        """The full WebSocket URL (no credentials are ever part of it)."""
        return f"{self._scheme}://{self._host_header}{self.target}"

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def closed(self) -> ConnectionClosed | None:
        """The final :class:`ConnectionClosed` once it was produced (even if not yet read)."""
        return self._terminal if isinstance(self._terminal, ConnectionClosed) else None

    @property
    def session_expires_at(self) -> int | None:
        """When the server says the session ends: ``session.expires_at`` (unix seconds).

        Read from the last ``session.created`` returned by :meth:`next_event` (None
        before one, and when it had none or an odd value: not a positive integer, or
        beyond year 9999). The session models leave the wire's extra keys out; this is
        the one a client needs, to move to a new session before the cap.

        >>> conn = RealtimeConnection(api_key="sk-test-1234567890", model="gpt-realtime")
        >>> conn.session_expires_at is None
        True
        """
        return self._session_expires_at

    def __repr__(self) -> str:
        return (
            f"RealtimeConnection(url={redact_text(self.url)!r}, state={self._state.name},"
            f" api_key={self._api_key!r})"
        )

    # -- sending -----------------------------------------------------------------------

    def initiate(self) -> bytes:
        """The HTTP upgrade request. Call once, before anything else."""
        if self._initiated:
            raise LocalProtocolError("initiate() was already called")
        self._initiated = True
        auth = (b"Authorization", b"Bearer " + self._api_key.reveal().encode("latin-1"))
        request = Request(
            host=self._host_header,
            target=self.target,
            extra_headers=[auth, *self._headers],
            subprotocols=list(self._subprotocols),
        )
        return self._ws.send(request)

    def _require_open(self, what: str) -> None:
        if self._state is not ConnectionState.OPEN:
            raise LocalProtocolError(f"cannot {what}: connection is {self._state.name}")

    def _ws_send(self, event: TextMessage | Ping | Pong | CloseConnection) -> bytes:
        frames = self._frames
        return frames.send(event) if frames is not None else self._ws.send(event)

    def send(self, event: ClientEvent) -> bytes:
        """Validate, encode and frame a client event.

        Raises :class:`InvalidClientEvent` (nothing produced) for an invalid event and
        :class:`LocalProtocolError` when the connection is not OPEN.
        """
        if self._state is not _OPEN:
            self._require_open("send an event")
        payload = encode_client_event(event)
        frames = self._frames
        assert frames is not None  # OPEN
        if frames.state is _WS_OPEN:
            data = masked_text_frame(payload, self._mask_keys.next())
        else:  # unreachable while we are OPEN; wsproto raises its own refusal
            data = frames.send(TextMessage(data=payload.decode("utf-8")))
        if self._on_message is not None:
            self._on_message("client", payload.decode("utf-8"))
        return data

    def send_raw(self, text: str) -> bytes:
        """Frame ``text`` as one message without validating it (for advanced users)."""
        self._require_open("send a message")
        frames = self._frames
        if frames is not None and frames.state is _WS_OPEN:
            data = masked_text_frame(text.encode("utf-8"), self._mask_keys.next())
        else:
            data = self._ws_send(TextMessage(data=text))
        if self._on_message is not None:
            self._on_message("client", text)
        return data

    def ping(self, payload: bytes = b"") -> bytes:
        """A ping frame (keepalive); the peer's pong is absorbed silently."""
        self._require_open("ping")
        if len(payload) > 125:
            raise LocalProtocolError("ping payload is limited to 125 bytes")
        return self._ws_send(Ping(payload=payload))

    def close(self, code: int = 1000, reason: str = "") -> bytes:
        """Start the close handshake. Idempotent once closing or closed (returns b"")."""
        if self._state is ConnectionState.CONNECTING:
            raise LocalProtocolError("cannot close before the handshake finished; drop TCP")
        if self._state is not ConnectionState.OPEN:
            return b""
        if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
            raise LocalProtocolError(f"close code {code} may not be sent")
        if len(reason.encode("utf-8")) > 123:
            raise LocalProtocolError("close reason is limited to 123 bytes of UTF-8")
        self._state = ConnectionState.CLOSING
        return self._ws_send(CloseConnection(code=code, reason=reason))

    def has_data_to_send(self) -> bool:
        """Whether :meth:`data_to_send` would return anything."""
        return bool(self._outgoing)

    def data_to_send(self) -> bytes:
        """Bytes the connection produced on its own (pongs, close replies); send them."""
        if not self._outgoing:
            return b""
        out = bytes(self._outgoing)
        self._outgoing.clear()
        return out

    # -- receiving ---------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | None) -> None:
        """Feed bytes read from the socket; ``None`` (or b"") means the peer closed TCP.

        Bytes arriving after the connection finished are ignored.
        """
        if self._fast and data:
            # The hot path: whole text frames while wsproto stands idle at a frame boundary
            # (``_fast`` implies initiated, OPEN and not finished). Skipping wsproto for them
            # leaves its state exactly as if it had parsed them; the first byte that is not
            # part of such a frame (a control frame, a fragment, a frame cut by the read,
            # anything odd) hands everything from there on to wsproto, in order.
            if type(data) is not bytes:
                data = bytes(data)
            pos, size, limit = 0, len(data), self.max_message_size
            hook, pending = self._on_message, self._pending
            try:
                while pos < size:
                    payload, end = text_frame_at(data, pos, limit)
                    if payload is None:
                        break
                    pos = end
                    if hook is not None:
                        hook("server", payload.decode("utf-8"))
                    pending.append(payload)
            except BaseException:
                # A hook raised: the bytes not yet parsed wait in wsproto for the next call.
                if pos < size and self._frames is not None:
                    self._fast = False
                    self._frames.receive_data(data[pos:])
                raise
            if pos == size:
                return
            self._fast = False
            data = data[pos:]
        if not self._initiated:
            raise LocalProtocolError("call initiate() before receive_data()")
        if self._terminal is not None:
            return
        if not data:
            data = None
        if data is None and self._state in (ConnectionState.OPEN, ConnectionState.CLOSING):
            self._finish(
                ConnectionClosed(
                    1006,
                    "connection lost without a close frame",
                    clean=False,
                    initiated_locally=self._state is ConnectionState.CLOSING,
                )
            )
            return
        # wsproto (and h11 under it) may raise on hostile bytes, and not only its own error
        # types (non-ASCII handshake headers give UnicodeDecodeError): any exception from it
        # fails the connection with a typed event. Exceptions from our own handling (an
        # on_message hook) are not caught.
        ws: WSConnection | _WSFrames = self._frames or self._ws
        try:
            ws.receive_data(bytes(data) if isinstance(data, bytearray) else data)
            events = ws.events()
        except Exception as exc:
            self._wsproto_failed(exc, data is None)
            return
        handle = self._handle
        while self._terminal is None:
            try:
                ev = next(events)
            except StopIteration:
                break
            except Exception as exc:
                self._wsproto_failed(exc, data is None)
                return
            if (
                type(ev) is TextMessage
                and ev.message_finished
                and self._first is None
                and self._state is ConnectionState.OPEN
            ):
                # The hot path: a whole text message in one frame (every audio delta).
                text = ev.data
                size = len(text) if text.isascii() else len(text.encode("utf-8"))
                if size > self.max_message_size:
                    self._fail(1009, MessageTooBig(size, self.max_message_size))
                    continue
                if self._on_message is not None:
                    self._on_message("server", text)
                self._pending.append(text)
            else:
                handle(ev)
        if self._frames is not None:
            self._fast = self._terminal is None and frames_idle(self._frames)
        if data is None and self._terminal is None:
            if self._state is ConnectionState.CONNECTING and self._reject_status:
                self._finish_rejection()
            else:
                self._finish(
                    ConnectionClosed(1006, "connection lost during the handshake", clean=False)
                )

    def _wsproto_failed(self, exc: Exception, eof: bool) -> None:
        detail = self.redactor.text(str(exc)[:1000])[:200]
        if self._state is not ConnectionState.CONNECTING:
            self._fail(1002, RemoteProtocolError(f"WebSocket protocol violation: {detail}"))
        elif eof:  # the response was cut off by the peer closing TCP
            self._finish(
                ConnectionClosed(1006, "connection lost during the handshake", clean=False)
            )
        else:  # a malformed HTTP response, a bad accept token, undecodable headers
            self._finish(
                ConnectionClosed(
                    1002,
                    "invalid handshake response",
                    clean=False,
                    initiated_locally=True,
                    error=RemoteProtocolError(f"invalid handshake response: {detail}"),
                )
            )

    def _finish(self, event: ConnectionEvent) -> None:
        self._pending.append(event)
        self._terminal = event
        self._fast = False  # receive_data's hot path skips the finished check
        self._reset_message()
        self._state = (
            ConnectionState.REJECTED
            if isinstance(event, HandshakeRejected)
            else ConnectionState.CLOSED
        )

    def _reset_message(self) -> None:
        self._first = None
        self._buffer = bytearray()
        self._msg_size = 0

    def _fail(self, code: int, error: RemoteProtocolError) -> None:
        """Fail the connection (RFC 6455 7.1.7): close frame queued, no wait for a reply."""
        reason = "message too big" if code == 1009 else "protocol error"
        if self._state is ConnectionState.OPEN:
            self._outgoing += self._ws_send(CloseConnection(code=code, reason=reason))
        self._finish(
            ConnectionClosed(code, reason, clean=False, initiated_locally=True, error=error)
        )

    def _handle(self, ev: object) -> None:
        if isinstance(ev, TextMessage | BytesMessage):
            if self._state not in (ConnectionState.OPEN, ConnectionState.CLOSING):
                return
            chunk: str | bytes = ev.data if isinstance(ev.data, str) else bytes(ev.data)
            if isinstance(chunk, bytes) or chunk.isascii():
                self._msg_size += len(chunk)
            else:
                self._msg_size += len(chunk.encode("utf-8"))
            if self._msg_size > self.max_message_size:
                self._fail(1009, MessageTooBig(self._msg_size, self.max_message_size))
                return
            if self._first is None:
                self._first = chunk
            else:
                if not self._buffer:
                    self._buffer += _utf8(self._first)
                self._buffer += _utf8(chunk)
            if ev.message_finished:
                whole = self._first if not self._buffer else bytes(self._buffer)
                self._reset_message()
                if isinstance(ev, TextMessage):
                    # wsproto has validated the UTF-8 already.
                    text = whole if isinstance(whole, str) else whole.decode("utf-8")
                    if self._on_message is not None:
                        self._on_message("server", text)
                    self._pending.append(text)
                else:
                    self._pending.append(_binary_message(_utf8(whole or b"")))
        elif isinstance(ev, Ping):
            if self._state is ConnectionState.OPEN:
                self._outgoing += self._ws_send(Pong(payload=ev.payload))
        elif isinstance(ev, Pong):
            self._keepalive_pong(ev.payload)
        elif isinstance(ev, CloseConnection):
            self._handle_close(ev)
        elif isinstance(ev, AcceptConnection):
            self._state = ConnectionState.OPEN
            self._frames = self._ws.connection
            self.subprotocol = ev.subprotocol
            self.response_headers = redact_headers(list(ev.extra_headers))
            self._pending.append(Connected(ev.subprotocol, self.response_headers))
        elif isinstance(ev, RejectConnection):
            self._reject_status = ev.status_code
            self._reject_headers = redact_headers(list(ev.headers))
            if not ev.has_body:
                self._finish_rejection()
        elif isinstance(ev, RejectData):
            room = self._max_rejection_body - len(self._reject_body)
            if len(ev.data) > room:
                self._reject_body += ev.data[:room]
                self._reject_truncated = True
                self._finish_rejection()
                return
            self._reject_body += ev.data
            if ev.body_finished:
                self._finish_rejection()

    def _handle_close(self, ev: CloseConnection) -> None:
        ws_state = self._ws.state
        code = int(ev.code)
        # The peer's words: they may echo the key (a proxy quoting the request).
        reason = self.redactor.text(ev.reason or "")
        if ws_state is _WSState.REMOTE_CLOSING:
            # The peer started the close: echo its code, then we are done.
            reply = CloseConnection(code=code) if code != 1005 else CloseConnection(code=1005)
            self._outgoing += self._ws_send(reply)
            self._finish(ConnectionClosed(code, reason, clean=True))
        elif ws_state is _WSState.CLOSED:
            # The reply to our own close frame.
            self._finish(ConnectionClosed(code, reason, clean=True, initiated_locally=True))
        else:
            # wsproto reports a frame-level protocol violation as a close event without
            # changing its state; the parser is dead, so fail the connection.
            fail_code = code if code in (1002, 1007, 1009) else 1002
            self._fail(fail_code, RemoteProtocolError(f"WebSocket protocol violation: {reason}"))

    def _finish_rejection(self) -> None:
        body = bytes(self._reject_body)
        message = ""
        error_type = code = param = None
        try:
            envelope = msgspec.json.decode(body, type=_ErrorEnvelope)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, UnicodeError):
            envelope = None
        if envelope is not None and envelope.error is not None:
            err = envelope.error
            message = err.message or ""
            redact = self.redactor.optional
            error_type, param = redact(err.type), redact(err.param)
            code = redact(str(err.code)) if err.code is not None else None
        if not message:
            text = body.decode("utf-8", "replace").strip()
            message = text[:500] if text else f"HTTP {self._reject_status}"
        self._finish(
            HandshakeRejected(
                status_code=self._reject_status,
                headers=[(n, self.redactor.text(v)) for n, v in self._reject_headers],
                body=self.redactor.data(body),
                message=self.redactor.text(message),
                error_type=error_type,
                code=code,
                param=param,
                truncated=self._reject_truncated,
            )
        )

    def _redacted(self, exc: RemoteProtocolError) -> RemoteProtocolError:
        # The codec quotes values (generic patterns redacted); the known key goes too.
        text = str(exc)
        clean = self.redactor.text(text)
        if clean == text:
            return exc
        out = RemoteProtocolError(clean)
        out.__cause__ = None
        return out

    # -- keepalive (time is passed in) ---------------------------------------------------

    def _init_keepalive(self, interval: float | None, timeout: float | None) -> None:
        for name, value in (("ping_interval", interval), ("ping_timeout", timeout)):
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise LocalProtocolError(f"{name} must be a positive number of seconds or None")
        self.ping_interval = interval
        self.ping_timeout = timeout
        self._ka_next: float | None = None  # when handle_timer has work next
        self._ka_sent = 0.0
        self._ka_payload: bytes | None = None  # the ping whose pong we wait for
        self._ka_count = 0
        #: pongs to our keepalive pings so far (a timer waiting on the pong deadline
        #: watches it to re-arm for the next ping)
        self.keepalive_pongs = 0

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timer` must next be called (``-inf``: now); None: never.

        With ``ping_interval`` set, an open connection pings every ``ping_interval``
        seconds and wants the pong within ``ping_timeout``: a silent peer, a half-open
        TCP connection or a message trickled too slowly to let the pong through ends
        the connection with 1011 ``ConnectionClosedError`` saying so.
        """
        if self.ping_interval is None or self._state is not ConnectionState.OPEN:
            return None
        return -math.inf if self._ka_next is None else self._ka_next

    def handle_timer(self, now: float) -> None:
        """The clock reached :meth:`next_deadline`: send a ping, or fail the connection.

        Then send :meth:`data_to_send` (a ping, or the close frame) and, if the
        connection ended, stop reading (:meth:`next_event` gives the close).

        >>> conn = RealtimeConnection(api_key="sk-test", model="m", ping_interval=20)
        >>> conn.next_deadline() is None  # not open yet
        True
        """
        if self.next_deadline() is None:
            return
        interval = self.ping_interval
        assert interval is not None
        if self._ka_next is None:
            self._ka_next = now + interval
            return
        if now < self._ka_next:
            return
        if self._ka_payload is not None:
            waited = now - self._ka_sent
            reason = "keepalive ping timeout"
            self._outgoing += self._ws_send(CloseConnection(code=1011, reason=reason))
            self._finish(
                ConnectionClosed(
                    1011, f"{reason}: no pong within {waited:.3g} s", clean=False
                )
            )
            return
        self._ka_count += 1
        payload = b"oairt-keepalive-%d" % self._ka_count
        self._outgoing += self._ws_send(Ping(payload=payload))
        self._ka_sent = now
        if self.ping_timeout is None:
            self._ka_next = now + interval
        else:
            self._ka_payload = payload
            self._ka_next = now + self.ping_timeout

    def _keepalive_pong(self, payload: bytes | bytearray) -> None:
        if self._ka_payload is not None and bytes(payload) == self._ka_payload:
            assert self.ping_interval is not None
            self._ka_payload = None
            self._ka_next = self._ka_sent + self.ping_interval
            self.keepalive_pongs += 1

    def _decode_slowly(self, text: str | bytes) -> ServerEvent | MalformedServerEvent:
        """An unknown event type, or a malformed message (a typed event, never a raise)."""
        try:
            event = decode_server_event(text)
        except RemoteProtocolError as exc:
            return MalformedServerEvent(self._redacted(exc), _utf8(text))
        except Exception as exc:  # the codec must not take the session down
            detail = self.redactor.text(str(exc)[:1000])
            wrapped = RemoteProtocolError(f"undecodable server event: {detail}")
            wrapped.__cause__ = exc
            return MalformedServerEvent(wrapped, _utf8(text))
        return event  # an UnknownServerEvent: every known type decoded on the hot path

    def next_event(self) -> ServerEvent | ConnectionEvent | NeedData:
        """The next event, or :data:`NEED_DATA`.

        Server messages are decoded here; one the codec rejects (or a binary frame)
        comes out as :class:`MalformedServerEvent` and the connection goes on. After
        the final :class:`ConnectionClosed` / :class:`HandshakeRejected`, that event is
        returned again on every call.
        """
        if not self._pending:
            return self._terminal if self._terminal is not None else NEED_DATA
        item = self._pending.popleft()
        if isinstance(item, (bytes, str)):
            try:
                event: ServerEvent = _decode_server_event(item)
            except Exception:  # not a known event: decode_server_event sorts it out
                return self._decode_slowly(item)
            if type(event) is SessionCreatedEvent:  # one identity check on the hot path
                self._session_expires_at = _session_expires_at(item)
            return event
        return item
