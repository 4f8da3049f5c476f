"""The Realtime REST client on trio (``trio.SSLStream`` for TLS).

The same client as ``oairt_anyio.rest.RealtimeRestClient`` (same calls, arguments,
errors and keep-alive policy, all from :class:`oairt_core.driver.RestClientBase` and
:class:`oairt_core.driver.RestDriver`), moving its bytes with trio streams::

    async with oairt_trio.rest.RealtimeRestClient() as rest:   # $OPENAI_API_KEY
        answer = await rest.create_call(offer_sdp)
"""

from __future__ import annotations

import select
import socket
from typing import TypeVar

import trio

from oairt_core.driver import OpenConnection, RestClientBase
from oairt_core.errors import RemoteProtocolError
from oairt_core.rest import NeedData, PreparedRequest, ProbeConnection, RestResponse

from .connection import STREAM_GONE, open_stream

__all__ = ["RealtimeRestClient"]

T = TypeVar("T")


class RealtimeRestClient(RestClientBase):
    """Async client for the Realtime REST endpoints (client secrets, WebRTC, SIP).

    ``RealtimeRestClient(api_key=None, *, base_url=None, organization=None,
    project=None, ssl=None, timeout=60.0, max_response_size=4 MiB)``: see
    :class:`oairt_core.driver.RestClientBase` for the arguments and the calls.
    """

    _stream: trio.abc.Stream | None = None
    _lock: trio.Lock | None = None

    async def aclose(self) -> None:
        """Close the kept-alive connection (the client can still be used afterwards)."""
        await self._drop()

    async def request(self, prepared: PreparedRequest[T]) -> T:
        """Send any prepared core request and parse its response."""
        if self._lock is None:
            self._lock = trio.Lock()
        async with self._lock:
            try:
                with trio.fail_after(self.timeout):
                    response = await self._roundtrip(prepared)
            except trio.TooSlowError:
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
                    # b"" at end of stream is exactly what the core expects.
                    driver.receive_data(await self._stream.receive_some(65536))
                else:
                    assert self._stream is not None
                    await self._stream.send_all(step)
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
            await trio.aclose_forcefully(stream)


def _raw_socket(stream: trio.abc.Stream) -> trio.socket.SocketType | None:
    if isinstance(stream, trio.SSLStream):
        stream = stream.transport_stream
    return stream.socket if isinstance(stream, trio.SocketStream) else None


def _dropped(sock: trio.socket.SocketType | socket.socket | None) -> bool:
    """Whether an idle kept-alive socket is unusable, without blocking (as urllib3 does).

    Nothing may arrive on an idle HTTP/1.1 connection: readable means end of stream, a
    reset, a TLS close_notify or stray bytes, and each rules the connection out.
    """
    if sock is None or sock.fileno() < 0:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock.fileno()], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True
