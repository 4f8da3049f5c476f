"""What an async adapter must decide, decided once, without I/O.

``oairt_anyio`` and ``oairt_trio`` (and any other adapter) share every decision
through the objects here; an adapter only opens sockets, moves bytes, owns a
bounded channel and a send lock, and handles cancellation:

* :class:`ConnectOptions`: the keyword options of every WebSocket entry point, and
  :func:`plan_connection`, which applies the defaults (``$OPENAI_API_KEY``,
  ``$OAIRT_BASE_URL``) and builds the :class:`ConnectionDriver`.
* :class:`ConnectionDriver`: what to do with each core event, when iteration ends,
  which exception to raise when, and the bookkeeping of an aborted connection.
* :func:`connect_error`: a DNS, TCP or TLS failure as :class:`ConnectError`.
* :class:`RestDriver`: the REST request/response cycle (keep-alive reuse, the one
  safe resend, error mapping)
  (the REST calls themselves are ``oairt_core._async.rest``).

The reader loop of an adapter, in full::

    while True:
        step = driver.next_step()
        if step is NEED_DATA:
            await write(driver.data_to_send())
            driver.receive_data(await read())   # None at end of stream
        elif isinstance(step, ConnectionClosed):
            await write(driver.data_to_send())
            break
        else:
            await channel.send(step)             # or driver.discard_events()

>>> import ssl
>>> env = {"OPENAI_API_KEY": "sk-test-1234567890"}
>>> plan = plan_connection({"model": "gpt-realtime"}, env, default_ssl=ssl.create_default_context)
>>> plan.driver.core.url
'wss://api.openai.com/v1/realtime?model=gpt-realtime'
>>> plan.host, plan.port, plan.ssl_context is not None
('api.openai.com', 443, True)
"""

from __future__ import annotations

import socket
import ssl as _ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, TypeVar

from ._redact import Redactor, Secret
from ._settings import resolve_api_key, resolve_base_url
from .connection import (
    DEFAULT_MAX_MESSAGE_SIZE,
    NEED_DATA,
    Connected,
    ConnectionClosed,
    HandshakeRejected,
    IncomingEvent,
    NeedData,
    RealtimeConnection,
    resolve_ssl_context,
)
from .errors import (
    ConnectError,
    ConnectionClosedError,
    LocalProtocolError,
    OairtError,
    RemoteProtocolError,
    RequestOutcomeUnknown,
    RequestTimeout,
)
from .events import ClientEvent
from .rest import (
    PROBE_CONNECTION,
    ProbeConnection,
    RestConfig,
    RestConnection,
    RestRequest,
    RestResponse,
)

__all__ = [
    "ConnectOptions",
    "ConnectionDriver",
    "ConnectionPlan",
    "DEFAULT_MAX_BUFFERED_BYTES",
    "OpenConnection",
    "RestDriver",
    "connect_error",
    "plan_connection",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- connecting


class ConnectOptions(TypedDict, total=False):
    """The keyword options of ``open_realtime`` / ``connect_realtime`` in both adapters.

    ``api_key`` (default ``$OPENAI_API_KEY``) and ``base_url`` (default
    ``$OAIRT_BASE_URL``, else the public API); ``model`` / ``call_id`` / ``intent`` pick
    the session (see :class:`~oairt_core.connection.RealtimeConnection`); ``ssl``: None
    follows the URL (``wss://`` -> verified TLS), an ``SSLContext`` is used as given, False
    only for ``ws://``; ``connect_timeout`` bounds DNS + TCP + TLS + upgrade;
    ``close_timeout`` bounds the wait for the server's close reply; ``write_timeout``
    bounds one socket write (a peer that stopped reading); ``max_buffered_events``
    bounds the event buffer and ``max_buffered_bytes`` its size (see
    :data:`DEFAULT_MAX_BUFFERED_BYTES`); ``on_message(direction, text)`` sees every text
    message. ``ping_interval`` / ``ping_timeout`` (20 s / 20 s, None disables) keep the
    connection alive and detect a dead peer. The entry points add ``reconnect``, a
    :class:`~oairt_core.reconnect.ReconnectPolicy` (None: no reconnection).
    """

    api_key: str | Secret | None
    model: str | None
    call_id: str | None
    intent: Literal["realtime", "transcription"] | None
    base_url: str | None
    organization: str | None
    project: str | None
    safety_identifier: str | None
    user_agent: str | None
    extra_headers: Mapping[str, str] | Sequence[tuple[str, str]] | None
    extra_query: Mapping[str, str] | None
    subprotocols: Sequence[str] | None
    max_message_size: int
    on_message: Callable[[str, str], None] | None
    ssl: bool | _ssl.SSLContext | None
    connect_timeout: float | None
    close_timeout: float
    write_timeout: float | None
    max_buffered_events: int
    max_buffered_bytes: int | None
    ping_interval: float | None
    ping_timeout: float | None


_ADAPTER_OPTIONS = {"ssl", "connect_timeout", "close_timeout", "write_timeout"}
_ADAPTER_OPTIONS |= {"max_buffered_events", "max_buffered_bytes"}

# As the ``websockets`` library: a ping every 20 s, the pong due within 20 s.
DEFAULT_PING_INTERVAL = 20.0
DEFAULT_PING_TIMEOUT = 20.0

# 16 MiB of buffered server events (counted as the bytes read off the socket). The
# largest real GA messages are a ``session.created``/``updated`` echoing long
# instructions and a full tool list, and a ``response.done`` carrying a long
# transcript: a few MiB at the very most, while audio deltas are tens of KiB. 16 MiB
# holds the default 256 events of any real session, so an app that keeps reading
# never waits on it, and it bounds a hostile server that sends 32 MB transcript
# deltas to one buffered event (plus the one being read, capped by
# ``max_message_size``). One event is always admitted, whatever its size: nothing
# is dropped. ``None`` switches the byte budget off.
DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024
_ALL_OPTIONS = frozenset(ConnectOptions.__annotations__)


@dataclass
class ConnectionPlan:
    """Everything an adapter needs to open one connection."""

    driver: ConnectionDriver
    host: str
    port: int
    ssl_context: _ssl.SSLContext | None
    connect_timeout: float | None
    close_timeout: float
    write_timeout: float | None
    max_buffered_events: int
    max_buffered_bytes: int | None = None

    def timeout_error(self) -> RequestTimeout:
        """The error for a connect that took longer than ``connect_timeout``."""
        return RequestTimeout(
            f"connecting to {self.host}:{self.port} timed out after {self.connect_timeout} s"
        )

    def connect_error(self, exc: BaseException) -> ConnectError:
        """The error for a DNS, TCP or TLS failure while connecting."""
        return connect_error(self.host, self.port, exc)


def plan_connection(
    options: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    default_ssl: Callable[[], _ssl.SSLContext],
) -> ConnectionPlan:
    """Apply the defaults to ``options`` (see :class:`ConnectOptions`) and build the driver.

    ``environ`` is the environment to take ``$OPENAI_API_KEY`` / ``$OAIRT_BASE_URL``
    from and ``default_ssl`` makes the TLS context for ``wss://`` when ``ssl`` is not
    given: the adapter passes ``os.environ`` and the system's context, the core never
    reads either itself. Unknown options raise :class:`TypeError`.
    """
    unknown = set(options) - _ALL_OPTIONS
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    env = environ
    core_kwargs = {k: v for k, v in options.items() if k not in _ADAPTER_OPTIONS}
    core_kwargs["api_key"] = resolve_api_key(options.get("api_key"), env)
    core_kwargs["base_url"] = resolve_base_url(options.get("base_url"), env, scheme="ws")
    core_kwargs.setdefault("max_message_size", DEFAULT_MAX_MESSAGE_SIZE)
    core_kwargs.setdefault("ping_interval", DEFAULT_PING_INTERVAL)
    core_kwargs.setdefault("ping_timeout", DEFAULT_PING_TIMEOUT)
    core = RealtimeConnection(**core_kwargs)
    return ConnectionPlan(
        driver=ConnectionDriver(core),
        host=core.host,
        port=core.port,
        ssl_context=resolve_ssl_context(core.secure, options.get("ssl"), default=default_ssl),
        connect_timeout=options.get("connect_timeout", 30.0),
        close_timeout=options.get("close_timeout", 2.0),
        write_timeout=options.get("write_timeout", 30.0),
        max_buffered_events=options.get("max_buffered_events", 256),
        max_buffered_bytes=options.get("max_buffered_bytes", DEFAULT_MAX_BUFFERED_BYTES),
    )


def _root_cause(exc: BaseException) -> BaseException:
    # Event loops wrap transport failures (trio.BrokenResourceError from an ssl.SSLError,
    # an OSError "all attempts failed" from a group of per-address errors); the innermost
    # OS or TLS error says what went wrong. A TLS error wins, then an OSError with an errno.
    found: list[BaseException] = []
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        found.append(current)
        inner = getattr(current, "exceptions", None)  # an exception group (3.11+ builtin)
        if isinstance(inner, tuple):
            todo.extend(e for e in inner if isinstance(e, BaseException))
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                todo.append(nxt)
    for candidate in found:
        if isinstance(candidate, _ssl.SSLError):
            return candidate
    for candidate in found:
        if isinstance(candidate, OSError) and candidate.errno is not None:
            return candidate
    return next((c for c in found if isinstance(c, OSError)), exc)


def connect_error(host: str, port: int, exc: BaseException) -> ConnectError:
    """:class:`ConnectError` naming ``host:port`` and the kind of failure (DNS, TCP, TLS).

    >>> connect_error("example.test", 443, ConnectionRefusedError(111, "Refused"))
    ConnectError(1006, 'cannot connect to example.test:443: connection refused (Refused)')
    """
    root = _root_cause(exc)
    if isinstance(root, _ssl.SSLError):
        # ``verify_message`` / ``reason`` exist only when the ssl module raised it.
        detail = (
            getattr(root, "verify_message", None)
            or getattr(root, "reason", None)
            or root.strerror
            or type(root).__name__
        )
        what = (
            "certificate verification failed"
            if isinstance(root, _ssl.SSLCertVerificationError)
            else "handshake failed"
        )
        kind = f"TLS {what} ({detail})"
    elif isinstance(root, socket.gaierror):
        kind = f"DNS lookup failed ({root.strerror or root})"
    elif isinstance(root, ConnectionRefusedError):
        kind = f"connection refused ({root.strerror or 'refused'})"
    elif isinstance(root, OSError):
        kind = f"TCP connection failed ({root.strerror or type(root).__name__})"
    else:
        kind = f"connection failed ({type(root).__name__})"
    error = ConnectError(1006, f"cannot connect to {host}:{port}: {kind}")
    error.__cause__ = exc
    return error


# --------------------------------------------------------------------------- WebSocket


@dataclass(frozen=True)
class OpenConnection:
    """REST step: open a fresh TCP (TLS when ``tls``) connection to ``host:port``."""

    host: str
    port: int
    tls: bool


_WRITE_FAILURES = {
    "lost": "connection lost while sending",
    "timeout": "write timed out; connection aborted",
    "cancelled": "a send was cancelled part-way; connection aborted",
}


_NOT_FOR_THE_APP = (ConnectionClosed, Connected, HandshakeRejected)


class ConnectionDriver:
    """The decisions of an async WebSocket adapter around a :class:`RealtimeConnection`.

    Policies it implements (adapters document them): events reach the consumer in
    order, and only after every one of them does ``next_event()`` raise (see
    :meth:`end_error`); ``async for`` ends quietly on a normal close
    (:attr:`iteration_ends_quietly`); a write that fails, times out or is cancelled
    part-way aborts the connection (the frame stream can no longer be trusted), and
    every later operation raises :class:`ConnectionClosedError` with the reason.
    """

    def __init__(self, core: RealtimeConnection) -> None:
        self.core = core
        self.closed: ConnectionClosed | None = None
        self.abort_reason: str | None = None
        self._feed_error: Exception | None = None
        self.feeding_failed = False  # see feed_failed
        self._discard = False

    # -- handshake -------------------------------------------------------------------

    def initiate(self) -> bytes:
        """The upgrade request to write first."""
        return self.core.initiate()

    def handshake_done(self) -> bool:
        """True once the server accepted; False when more bytes are needed.

        Raises :class:`HandshakeError` (refused) or the close's exception (lost, invalid).
        """
        event = self.core.next_event()
        if isinstance(event, NeedData):
            return False
        if isinstance(event, HandshakeRejected | ConnectionClosed):
            raise event.exception()
        return True  # Connected; events after it stay queued in the core

    # -- reading ---------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | None) -> None:
        """Bytes read from the socket; None (or b"") when it ended or broke."""
        self.core.receive_data(data)

    def next_step(self) -> IncomingEvent | ConnectionClosed | NeedData:
        """For the reader: an event to deliver, NEED_DATA (flush, then read), or the end."""
        next_event = self.core.next_event
        while True:
            event = next_event()
            if isinstance(event, _NOT_FOR_THE_APP):  # one check on the hot path
                if isinstance(event, ConnectionClosed):
                    self.closed = self._explain(event)
                    return self.closed
                continue  # handshake events; only seen before the reader starts
            if self._discard and event is not NEED_DATA:
                continue
            return event

    def discard_events(self) -> None:
        """Nobody will read any more (``close()`` was called): drop further events."""
        self._discard = True

    def data_to_send(self) -> bytes:
        """Bytes the core produced on its own (pongs, close replies)."""
        return self.core.data_to_send()

    def feed_failed(self, exc: Exception) -> None:
        """Feeding the core raised: an ``on_message`` hook of the app failed.

        The connection is aborted (the reader stops), and :meth:`take_feed_error` hands
        the exception to the next reader of events, once, instead of it escaping from the
        reader task into the task groups (an ExceptionGroup nobody asked for).
        """
        if not self.feeding_failed:
            self.feeding_failed = True
            self._feed_error = exc
        if self.abort_reason is None:
            self.abort_reason = f"the on_message hook raised {type(exc).__name__}"

    def take_feed_error(self) -> Exception | None:
        """The exception :meth:`feed_failed` recorded, the first time it is asked for."""
        error, self._feed_error = self._feed_error, None
        return error

    def has_data_to_send(self) -> bool:
        """Whether :meth:`data_to_send` has anything (checked without taking it)."""
        return self.core.has_data_to_send()

    def transport_lost(self) -> None:
        """A write of :meth:`data_to_send` failed: the connection is gone."""
        self.core.receive_data(None)

    def reader_finished(self) -> ConnectionClosed:
        """The reader stopped (normally, cancelled, or crashed): settle how it ended."""
        if self.closed is None:
            self.core.receive_data(None)
            closed = self.core.closed
            assert closed is not None
            self.closed = self._explain(closed)
        return self.closed

    def _explain(self, event: ConnectionClosed) -> ConnectionClosed:
        # Lost TCP because we aborted it ourselves: say why rather than "connection lost".
        if self.abort_reason is not None and not event.clean and event.error is None:
            return ConnectionClosed(1006, self.abort_reason, clean=False)
        return event

    def end_error(self) -> OairtError:
        """What ``next_event()`` raises after the last event."""
        assert self.closed is not None
        return self.closed.exception()

    @property
    def iteration_ends_quietly(self) -> bool:
        """``async for`` stops without an exception (we closed, or the server said 1000)."""
        return self.closed is not None and self.closed.normal

    # -- writing ---------------------------------------------------------------------

    def check_sendable(self) -> None:
        """Raise :class:`ConnectionClosedError` once the connection is over or aborted."""
        if self.closed is not None:
            raise ConnectionClosedError(self.closed.code, self.closed.reason)
        if self.abort_reason is not None:
            raise ConnectionClosedError(1006, self.abort_reason)

    def _ended_unread(self, error: LocalProtocolError) -> OairtError:
        # The close may already be in the core, read together with the upgrade response
        # (or in a read the reader is still working through): the caller gets the close's
        # code, not a LocalProtocolError about the core's state. Checked only once the
        # core refused, so the sending fast path pays nothing.
        ended = self.core.closed
        if ended is not None:
            return ConnectionClosedError(ended.code, ended.reason)
        return error

    def check_writable(self, transport_closed: bool) -> None:
        """Before a write (frames, pongs, close replies): raise if the transport is gone."""
        if self.abort_reason is not None:
            raise ConnectionClosedError(1006, self.abort_reason)
        if transport_closed:
            raise ConnectionClosedError(1006, "the connection was aborted")

    def frame_event(self, event: ClientEvent) -> bytes:
        """Validate and frame a client event (raises before anything is written)."""
        self.check_sendable()
        try:
            return self.core.send(event)
        except LocalProtocolError as exc:
            raise self._ended_unread(exc) from None

    def frame_raw(self, text: str) -> bytes:
        self.check_sendable()
        try:
            return self.core.send_raw(text)
        except LocalProtocolError as exc:
            raise self._ended_unread(exc) from None

    def frame_ping(self, payload: bytes) -> bytes:
        self.check_sendable()
        try:
            return self.core.ping(payload)
        except LocalProtocolError as exc:
            raise self._ended_unread(exc) from None

    def frame_close(self, code: int, reason: str) -> bytes:
        """The close frame to write, or b"" when there is nothing left to close."""
        if self.closed is not None or self.abort_reason is not None:
            return b""
        return self.core.close(code, reason)

    def write_failed(self, kind: Literal["lost", "timeout", "cancelled"]) -> ConnectionClosedError:
        """A write did not complete: the connection is aborted; returns what to raise.

        The adapter closes its transport (the reader then ends) and raises the result
        (re-raising the cancellation itself for ``"cancelled"``).
        """
        if self.abort_reason is None:
            self.abort_reason = _WRITE_FAILURES[kind]
        return ConnectionClosedError(1006, self.abort_reason)


# --------------------------------------------------------------------------- REST


class RestDriver:
    """The REST request/response cycle over one kept-alive connection, without I/O.

    An adapter loops over :meth:`next_step` for a request begun with :meth:`begin`:
    :class:`OpenConnection` (drop any old transport, open one, call :meth:`opened`),
    :data:`~oairt_core.rest.PROBE_CONNECTION` (look, without blocking, whether the idle
    kept-alive transport was closed by the server; report it to :meth:`probed`),
    ``bytes`` (write them), ``NEED_DATA`` (read, then :meth:`receive_data`; ``b""`` at
    end of stream), or the :class:`RestResponse` (done; drop the transport first if
    :attr:`keep_transport` is False). A transport failure goes to
    :meth:`transport_failed`, which either arranges the one safe resend (the loop
    goes on) or raises the error to report.

    A request is sent again only when no byte of it can have reached the server: the
    probe found the kept-alive connection closed before anything was written (or the
    method is idempotent). A POST that was written and then met a dropped connection
    raises :class:`~oairt_core.errors.RequestOutcomeUnknown` (RFC 9110 section 9.2.2).
    """

    def __init__(self, config: RestConfig, *, max_response_size: int) -> None:
        self.config = config
        self.max_response_size = max_response_size
        self.connections_opened = 0
        self._conn: RestConnection | None = None
        self._request: RestRequest | None = None
        self._sent = False
        self._probed = False
        self._redactor = Redactor(config.api_key)

    def begin(self, request: RestRequest) -> None:
        self._request = request
        self._sent = False
        self._probed = False

    def next_step(self) -> OpenConnection | ProbeConnection | bytes | NeedData | RestResponse:
        assert self._request is not None, "begin() a request first"
        if self._conn is None or (not self._sent and not self._conn.reusable):
            self._conn = None
            cfg = self.config
            return OpenConnection(cfg.host, cfg.port, cfg.tls)
        if not self._sent and not self._probed and self._conn.requests_sent > 0:
            # An idle kept-alive connection: the server may have closed it meanwhile.
            return PROBE_CONNECTION
        if not self._sent:
            self._sent = True
            return self._conn.send_request(self._request)
        response = self._conn.next_response()
        if isinstance(response, RestResponse):
            self._request = None
        return response

    def probed(self, dropped: bool) -> None:
        """The answer to :data:`PROBE_CONNECTION`: True if the idle transport is unusable.

        A dropped transport is replaced (the next step is :class:`OpenConnection`); the
        request had not left, so that is not a resend.
        """
        self._probed = True
        if dropped:
            self._conn = None

    def opened(self) -> None:
        """A fresh transport is connected."""
        self.connections_opened += 1
        self._conn = RestConnection(
            max_response_size=self.max_response_size, redactor=self._redactor
        )
        self._probed = True

    def receive_data(self, data: bytes | bytearray) -> None:
        assert self._conn is not None
        self._conn.receive_data(bytes(data))

    @property
    def keep_transport(self) -> bool:
        """Whether the transport may be kept for the next request (keep-alive)."""
        return self._conn is not None and self._conn.reusable

    def transport_failed(self, exc: BaseException) -> None:
        """The transport failed or the response was malformed (the adapter dropped it).

        Returns when the request may be sent once more on a fresh connection (an
        idempotent request on a reused connection, before any answer); raises otherwise:
        :class:`RequestOutcomeUnknown` when the request was written and no byte of an
        answer came, the protocol error itself, :class:`ConnectError` when the
        connection could not be opened.
        """
        conn, self._conn = self._conn, None
        request = self._request
        assert request is not None
        if conn is not None and self._sent and conn.retry_safe:
            self._sent = False
            self._probed = False
            return
        self._request = None
        if conn is not None and self._sent and not conn.response_started:
            raise RequestOutcomeUnknown(request.method, request.target) from None
        if isinstance(exc, OairtError):
            raise exc
        if conn is None or not self._sent:
            raise connect_error(self.config.host, self.config.port, exc)
        raise RemoteProtocolError(
            f"connection lost during {request.method} {request.target}"
        ) from None

    def abandon(self) -> None:
        """Cancelled or failed mid-exchange: the connection state is unknown (dropped)."""
        self._conn = None
        self._request = None

    def timeout_error(self, request: RestRequest, timeout: float) -> RequestTimeout:
        return RequestTimeout(
            f"{request.method} {request.target} did not complete within {timeout} s"
        )
