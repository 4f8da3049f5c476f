"""A tiny loopback HTTP/1.1 server (anyio + h11) for the REST client tests.

It hands every request to a responder (normally ``FakeRestApi.handle``) and can
misbehave on demand: chunked bodies, closing after each response, raw bytes,
or never answering.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
import h11
from anyio.streams.tls import TLSListener

Responder = Callable[
    [str, str, list[tuple[bytes, bytes]], bytes],
    tuple[int, list[tuple[bytes, bytes]], bytes],
]


@dataclass
class RestServer:
    port: int
    responder: Responder
    chunked: bool = False  # send bodies with Transfer-Encoding: chunked, in small pieces
    close_after_response: bool = False  # close the socket (no Connection: close header)
    raw_response: bytes | None = None  # send these bytes instead, then close
    stall: bool = False  # read the request, never answer
    # Read these requests (1-based, counted over all connections), then close unanswered:
    # a server that acted on a request and dropped the connection before its answer.
    drop_unanswered: frozenset[int] = frozenset()
    closed: int = 0  # connections this server has closed or seen closed
    _closed_changed: anyio.Event | None = None
    tls: bool = False
    connections: int = 0
    requests: list[tuple[str, str, list[tuple[bytes, bytes]], bytes]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}/v1"

    async def _serve(self, stream: anyio.abc.ByteStream) -> None:
        self.connections += 1
        try:
            await self._serve_one(stream)
        finally:
            self.closed += 1
            if self._closed_changed is not None:
                self._closed_changed.set()

    async def wait_closed(self, count: int) -> None:
        """Until this server has closed ``count`` connections (the FIN is on its way)."""
        while self.closed < count:
            self._closed_changed = anyio.Event()
            await self._closed_changed.wait()

    async def _serve_one(self, stream: anyio.abc.ByteStream) -> None:
        conn = h11.Connection(h11.SERVER)
        async with stream:
            while True:
                request: h11.Request | None = None
                body: list[bytes] = []
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        try:
                            data = await stream.receive()
                        except (anyio.EndOfStream, anyio.BrokenResourceError):
                            return
                        conn.receive_data(data)
                    elif isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        body.append(bytes(event.data))
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    else:  # ConnectionClosed
                        return
                assert request is not None
                method, target = request.method.decode(), request.target.decode()
                headers = list(request.headers)
                self.requests.append((method, target, headers, b"".join(body)))
                if self.stall:
                    await anyio.sleep_forever()
                if len(self.requests) in self.drop_unanswered:
                    return
                if self.raw_response is not None:
                    await stream.send(self.raw_response)
                    return
                status, out_headers, out_body = self.responder(
                    method, target, headers, b"".join(body)
                )
                names = {n.lower() for n, _ in out_headers}
                out = list(out_headers)
                if not self.chunked and b"content-length" not in names:
                    out.append((b"content-length", str(len(out_body)).encode()))
                data = conn.send(h11.Response(status_code=status, headers=out)) or b""
                if self.chunked:
                    for i in range(0, len(out_body), 7):
                        data += conn.send(h11.Data(data=out_body[i : i + 7])) or b""
                elif out_body:
                    data += conn.send(h11.Data(data=out_body)) or b""
                data += conn.send(h11.EndOfMessage()) or b""
                await stream.send(data)
                if self.close_after_response or conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()


@asynccontextmanager
async def serve_rest(
    responder: Responder, *, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[RestServer]:
    """Run a loopback server (TLS if ``ssl_context``) for the ``async with`` block."""
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    server = RestServer(port=port, responder=responder, tls=ssl_context is not None)
    listener: anyio.abc.Listener[anyio.abc.ByteStream] = tcp
    if ssl_context is not None:
        listener = TLSListener(tcp, ssl_context, standard_compatible=False)

    async def handle(stream: anyio.abc.ByteStream) -> None:
        try:
            await server._serve(stream)
        except (anyio.BrokenResourceError, ssl.SSLError, OSError):
            pass  # a client that refused our certificate

    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()
    await listener.aclose()


def make_test_tls_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a ``localhost``/127.0.0.1 certificate: (server ctx, client ctx).

    The certificates come from trustme (tests/certs.py), which makes them valid under
    Python 3.13's strict X.509 checks (Authority/Subject Key Identifiers, key usages).
    """
    from tests.support.certs import tls_material

    material = tls_material()
    return material.server_context(), material.client_context()
