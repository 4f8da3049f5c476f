"""The Realtime REST client, written once over a :class:`~._backend.Backend`.

A thin driver around :class:`oairt_core._driver.RestDriver`: it owns one TCP/TLS
connection and moves bytes; keep-alive reuse (a kept connection is probed before a
request is written on it, so a POST is never sent twice), error mapping and every
request, parse and error rule live in the core. Timeouts become
:class:`~oairt_core.errors.RequestTimeout`; DNS, TCP and TLS failures (an untrusted
certificate included) become :class:`~oairt_core.errors.ConnectError`.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import Mapping
from types import TracebackType
from typing import ClassVar, TypeVar

from .._driver import OpenConnection, RestDriver
from .._redact import Secret
from .._settings import resolve_api_key, resolve_base_url
from ..connection import NeedData
from ..errors import RemoteProtocolError
from ..rest import (
    DEFAULT_MAX_RESPONSE_SIZE,
    CallAnswer,
    ClientSecret,
    ExpiresAfter,
    PreparedRequest,
    ProbeConnection,
    RealtimeRest,
    RestConfig,
    RestResponse,
    SessionLike,
)
from ._backend import Backend, ByteStream, TransportError
from ._sync import Lock

__all__ = ["AsyncRestClient"]

T = TypeVar("T")
R = TypeVar("R", bound="AsyncRestClient")


class AsyncRestClient:
    """Async client for the Realtime REST endpoints (client secrets, WebRTC, SIP).

    ``RealtimeRestClient(api_key=None, *, base_url=None, organization=None,
    project=None, ssl=None, timeout=60.0, max_response_size=4 MiB, environ=None)``.
    ``api_key`` defaults to ``$OPENAI_API_KEY``, ``base_url`` to ``$OAIRT_BASE_URL``
    (in its http flavour), else the public API; ``environ`` replaces the process
    environment for those two. ``ssl`` is the TLS context for ``https`` (default: the
    system's, verification on); ``timeout`` bounds each call, connect included.

    Example (WebRTC: the browser's offer in, the SDP answer out)::

        async with RealtimeRestClient() as rest:      # api_key from $OPENAI_API_KEY
            answer = await rest.create_call(offer_sdp)
            await rest.hangup_call(answer.call_id)
    """

    #: the adapter's backend (each adapter's ``RealtimeRestClient`` sets it)
    backend: ClassVar[Backend]

    def __init__(
        self,
        api_key: str | Secret | None = None,
        *,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        ssl: _ssl.SSLContext | None = None,
        timeout: float = 60.0,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = self.backend.environ if environ is None else environ
        config = RestConfig(
            resolve_api_key(api_key, env),
            base_url=resolve_base_url(base_url, env, scheme="http"),
            organization=organization,
            project=project,
        )
        self.api = RealtimeRest(config)
        self.timeout = timeout
        self.max_response_size = max_response_size
        self._ssl = ssl
        self._driver = RestDriver(config, max_response_size=max_response_size)
        self._stream: ByteStream | None = None
        self._lock: Lock | None = None

    @property
    def connections_opened(self) -> int:
        """How many transports were opened so far (keep-alive reuse keeps it low)."""
        return self._driver.connections_opened

    def ssl_context(self) -> _ssl.SSLContext:
        return self._ssl if self._ssl is not None else self.backend.default_ssl_context()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.api.config!r})"

    async def __aenter__(self: R) -> R:
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

    async def request(self, prepared: PreparedRequest[T]) -> T:
        """Send any prepared core request and parse its response."""
        if self._lock is None:
            self._lock = Lock(self.backend)
        async with self._lock:
            with self.backend.move_on_after(self.timeout) as scope:
                response = await self._roundtrip(prepared)
            if scope.cancelled_caught:
                await self._drop()
                self._driver.abandon()
                raise self._driver.timeout_error(prepared.request, self.timeout)
        try:
            return prepared.parse(response)
        except RemoteProtocolError:
            # A response that made no sense (bad JSON, wrong shape): the connection it
            # came on is not trusted with the next request.
            await self._drop()
            raise

    async def _roundtrip(self, prepared: PreparedRequest[T]) -> RestResponse:
        driver = self._driver
        driver.begin(prepared.request)
        while True:
            try:
                step = driver.next_step()
                if isinstance(step, RestResponse):
                    if not driver.keep_transport:
                        await self._drop()
                    return step
                if isinstance(step, OpenConnection):
                    await self._drop()
                    ctx = self.ssl_context() if step.tls else None
                    self._stream = await self.backend.connect_tcp(step.host, step.port, ctx)
                    driver.opened()
                elif isinstance(step, ProbeConnection):
                    # Before reusing a kept-alive connection: is it still there? (A POST
                    # is never sent twice, so this is the only safe moment to find out.)
                    driver.probed(self._stream is None or self._stream.idle_dropped())
                elif isinstance(step, NeedData):
                    assert self._stream is not None
                    # b"" at end of stream is exactly what the core expects.
                    driver.receive_data(await self._stream.receive_some(65536))
                else:
                    assert self._stream is not None
                    await self._stream.send_all(step)
            except (TransportError, RemoteProtocolError) as exc:
                await self._drop()
                driver.transport_failed(exc)  # raises unless a resend is safe
            except BaseException:
                # Cancelled or failed mid-exchange: the connection state is unknown.
                await self._drop()
                driver.abandon()
                raise

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose_forcefully()

    # ------------------------------------------------------------ the calls

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
