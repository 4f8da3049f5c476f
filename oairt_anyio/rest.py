"""The Realtime REST client on anyio (asyncio or trio backend).

A thin driver around :class:`oairt_core.driver.RestDriver`: it owns one TCP/TLS
connection and moves bytes; keep-alive reuse, the one safe resend, error mapping and
every request, parse and error rule live in the core. Timeouts become
:class:`~oairt_core.errors.RequestTimeout`; DNS, TCP and TLS failures (an untrusted
certificate included) become :class:`~oairt_core.errors.ConnectError`.

Example (WebRTC: the browser's offer in, the SDP answer out)::

    async with RealtimeRestClient() as rest:      # api_key from $OPENAI_API_KEY
        secret = await rest.create_client_secret(expires_after=600)
        answer = await rest.create_call(offer_sdp)
        ...
        await rest.hangup_call(answer.call_id)
"""

from __future__ import annotations

import select
import socket
from typing import TypeVar

import anyio
import anyio.abc

from oairt_core.driver import OpenConnection, RestClientBase
from oairt_core.errors import RemoteProtocolError
from oairt_core.rest import NeedData, PreparedRequest, ProbeConnection, RestResponse

from ._net import STREAM_GONE, open_stream

__all__ = ["RealtimeRestClient"]

T = TypeVar("T")


class RealtimeRestClient(RestClientBase):
    """Async client for the Realtime REST endpoints (client secrets, WebRTC, SIP).

    ``RealtimeRestClient(api_key=None, *, base_url=None, organization=None,
    project=None, ssl=None, timeout=60.0, max_response_size=4 MiB)``: see
    :class:`oairt_core.driver.RestClientBase` for the arguments and the calls.
    """

    _stream: anyio.abc.ByteStream | None = None
    _lock: anyio.Lock | None = None

    async def aclose(self) -> None:
        """Close the kept-alive connection (the client can still be used afterwards)."""
        await self._drop()

    async def request(self, prepared: PreparedRequest[T]) -> T:
        """Send any prepared core request and parse its response."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            try:
                with anyio.fail_after(self.timeout):
                    response = await self._roundtrip(prepared)
            except TimeoutError:
                await self._drop()
                self._driver.abandon()
                raise self._driver.timeout_error(prepared.request, self.timeout) from None
        return prepared.parse(response)

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
                    self._stream = await open_stream(step.host, step.port, ctx)
                    driver.opened()
                elif isinstance(step, ProbeConnection):
                    driver.probed(self._stream is None or _dropped(_raw_socket(self._stream)))
                elif isinstance(step, NeedData):
                    assert self._stream is not None
                    try:
                        data = await self._stream.receive(65536)
                    except anyio.EndOfStream:
                        data = b""
                    driver.receive_data(data)
                else:
                    assert self._stream is not None
                    await self._stream.send(step)
            except (*STREAM_GONE, RemoteProtocolError) as exc:
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
            await anyio.aclose_forcefully(stream)


def _raw_socket(stream: anyio.abc.ByteStream) -> socket.socket | None:
    sock: socket.socket | None = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)
    return sock


def _dropped(sock: socket.socket | None) -> bool:
    """Whether an idle kept-alive socket is unusable, without blocking (as urllib3 does).

    Nothing may arrive on an idle HTTP/1.1 connection: readable means end of stream, a
    reset, a TLS close_notify or stray bytes, and each rules the connection out.
    """
    if sock is None or sock.fileno() < 0:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True
