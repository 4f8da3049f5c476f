"""The Realtime REST client on trio (``trio.SSLStream`` for TLS).

A thin driver around :mod:`oairt_core.rest`: it owns one TCP/TLS connection,
reuses it while the server keeps it alive, and turns timeouts into
:class:`~oairt_core.errors.RequestTimeout`. Every request, parse and error rule
lives in the core.

Example (WebRTC: the browser's offer in, the SDP answer out)::

    async with RealtimeRestClient(api_key="sk-...") as rest:
        secret = await rest.create_client_secret(expires_after=600)
        answer = await rest.create_call(offer_sdp)
        ...
        await rest.hangup_call(answer.call_id)

Connection failures (refused, DNS) surface as :class:`OSError`.
"""

from __future__ import annotations

import ssl as _ssl
from types import TracebackType
from typing import TypeVar

import trio

from oairt_core.errors import RemoteProtocolError, RequestTimeout
from oairt_core.redact import Secret
from oairt_core.rest import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_SIZE,
    CallAnswer,
    ClientSecret,
    ExpiresAfter,
    PreparedRequest,
    RealtimeRest,
    RestConfig,
    RestConnection,
    RestRequest,
    RestResponse,
    SessionLike,
)

__all__ = ["RealtimeRestClient"]

T = TypeVar("T")

_TRANSPORT_ERRORS = (OSError, trio.BrokenResourceError, trio.ClosedResourceError)


class RealtimeRestClient:
    """Async client for the Realtime REST endpoints (client secrets, WebRTC, SIP).

    ``ssl`` is the TLS context for ``https`` base URLs (default: the system's,
    verification on). ``timeout`` bounds each call, connect included.
    """

    def __init__(
        self,
        api_key: str | Secret,
        *,
        base_url: str = DEFAULT_BASE_URL,
        organization: str | None = None,
        project: str | None = None,
        ssl: _ssl.SSLContext | None = None,
        timeout: float = 60.0,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        config = RestConfig(api_key, base_url=base_url, organization=organization, project=project)
        self.api = RealtimeRest(config)
        self.timeout = timeout
        self.max_response_size = max_response_size
        self._ssl = ssl
        self._stream: trio.abc.Stream | None = None
        self._conn: RestConnection | None = None
        self._lock: trio.Lock | None = None
        self.connections_opened = 0

    def __repr__(self) -> str:
        return f"RealtimeRestClient({self.api.config!r})"

    async def __aenter__(self) -> RealtimeRestClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the kept-alive connection (the client can still be used afterwards)."""
        await self._drop()

    # ------------------------------------------------------------------ the calls

    async def create_client_secret(
        self,
        *,
        session: SessionLike | None = None,
        expires_after: ExpiresAfter | int | None = None,
    ) -> ClientSecret:
        """``POST /realtime/client_secrets``: an ``ek_`` key for a browser or device."""
        return await self.request(
            self.api.create_client_secret(session=session, expires_after=expires_after)
        )

    async def create_call(self, sdp: str, *, session: SessionLike | None = None) -> CallAnswer:
        """``POST /realtime/calls``: send a WebRTC offer, get the answer and the call_id."""
        return await self.request(self.api.create_call(sdp, session=session))

    async def accept_call(self, call_id: str, session: SessionLike) -> None:
        """Accept an incoming SIP call with a ``type: "realtime"`` session config."""
        await self.request(self.api.accept_call(call_id, session))

    async def reject_call(self, call_id: str, status_code: int | None = None) -> None:
        """Reject an incoming SIP call (SIP ``status_code``, default 603 on the server)."""
        await self.request(self.api.reject_call(call_id, status_code))

    async def refer_call(self, call_id: str, target_uri: str) -> None:
        """Transfer a call to a ``tel:`` or ``sip:`` URI."""
        await self.request(self.api.refer_call(call_id, target_uri))

    async def hangup_call(self, call_id: str) -> None:
        """End a SIP or WebRTC call."""
        await self.request(self.api.hangup_call(call_id))

    async def request(self, prepared: PreparedRequest[T]) -> T:
        """Send any prepared core request and parse its response."""
        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            try:
                with trio.fail_after(self.timeout):
                    response = await self._roundtrip(prepared.request)
            except trio.TooSlowError:
                await self._drop()
                raise RequestTimeout(
                    f"{prepared.request.method} {prepared.request.target} did not complete "
                    f"within {self.timeout} s"
                ) from None
        return prepared.parse(response)

    # ------------------------------------------------------------------ transport

    async def _roundtrip(self, request: RestRequest) -> RestResponse:
        while True:
            conn, stream = await self._connection()
            try:
                await stream.send_all(conn.send_request(request))
                while True:
                    response = conn.next_response()
                    if isinstance(response, RestResponse):
                        break
                    # b"" at end of stream is exactly what the core expects.
                    conn.receive_data(bytes(await stream.receive_some(65536)))
            except (*_TRANSPORT_ERRORS, RemoteProtocolError) as exc:
                retry = conn.retry_safe
                await self._drop()
                if retry:
                    # The server closed the idle keep-alive connection before reading
                    # the request: safe to send it once more on a fresh connection.
                    continue
                if isinstance(exc, RemoteProtocolError):
                    raise
                raise RemoteProtocolError(
                    f"connection lost during {request.method} {request.target}"
                ) from None
            except BaseException:
                # Cancelled or failed mid-exchange: the connection state is unknown.
                await self._drop()
                raise
            if not conn.reusable:
                await self._drop()
            return response

    async def _connection(self) -> tuple[RestConnection, trio.abc.Stream]:
        if self._conn is not None and self._stream is not None and self._conn.reusable:
            return self._conn, self._stream
        await self._drop()
        cfg = self.api.config
        stream: trio.abc.Stream
        tcp = await trio.open_tcp_stream(cfg.host, cfg.port)
        if cfg.tls:
            ctx = self._ssl if self._ssl is not None else _ssl.create_default_context()
            tls = trio.SSLStream(tcp, ctx, server_hostname=cfg.host, https_compatible=True)
            try:
                await tls.do_handshake()
            except BaseException as exc:
                await trio.aclose_forcefully(tcp)
                # trio wraps TLS failures; surface the ssl error itself (an OSError,
                # e.g. SSLCertVerificationError), as the anyio client does.
                if isinstance(exc, trio.BrokenResourceError) and isinstance(
                    exc.__cause__, _ssl.SSLError
                ):
                    raise exc.__cause__ from None
                raise
            stream = tls
        else:
            stream = tcp
        self.connections_opened += 1
        self._stream = stream
        self._conn = RestConnection(max_response_size=self.max_response_size)
        return self._conn, stream

    async def _drop(self) -> None:
        stream, self._stream, self._conn = self._stream, None, None
        if stream is not None:
            await trio.aclose_forcefully(stream)
