"""A small scriptable WebSocket server on loopback (wsproto over anyio), for tests.

Each accepted TCP connection runs ``handler(conn)`` where ``conn`` is a
:class:`ServerConn`; the handler scripts what the server does::

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event({"type": "session.created", ...})
        msg = await conn.receive()           # next client text message, None once closed
        await conn.close(1000)

    async with serve(handler) as server:      # inside an anyio test (asyncio or trio)
        ... connect to server.url ("ws://127.0.0.1:PORT/v1") ...

For code that blocks (a plain socket), run the server in a background thread with
:func:`serve_in_thread`. Nothing here sleeps; everything waits on I/O.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio
import anyio.abc
from anyio.abc import SocketAttribute
from anyio.from_thread import start_blocking_portal
from anyio.streams.tls import TLSListener
from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

__all__ = ["ServerConn", "WSServer", "frame", "serve", "serve_in_thread"]

Handler = Callable[["ServerConn"], Awaitable[None]]
_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


def frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """An unmasked server frame, for sending hand-made (or broken) frames with send_raw."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


class ServerConn:
    """The server end of one connection, driven by a test's handler."""

    def __init__(self, stream: anyio.abc.ByteStream, server: WSServer) -> None:
        self.stream = stream
        self.server = server
        self.ws = WSConnection(ConnectionType.SERVER)
        self.request: Request | None = None
        self.pongs: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.client_gone = False
        self._events: deque[Event] = deque()

    async def _next(self) -> Event | None:
        while not self._events:
            if self.client_gone:
                return None
            try:
                data: bytes | None = await self.stream.receive(65536)
            except _GONE:
                data = None
            if data is None:
                self.client_gone = True
            if self.ws.state is not ConnectionState.CLOSED:
                self.ws.receive_data(data)
            self._events.extend(self.ws.events())
        return self._events.popleft()

    async def read_request(self) -> Request:
        """Wait for the client's upgrade request (also done by accept/reject)."""
        while self.request is None:
            ev = await self._next()
            if ev is None:
                raise anyio.EndOfStream
            if isinstance(ev, Request):
                self.request = ev
                self.server.requests.append(ev)
        return self.request

    def header(self, name: str) -> str | None:
        """A header of the upgrade request (h11 gives names lowercased)."""
        assert self.request is not None
        for n, v in self.request.extra_headers:
            if n.decode().lower() == name.lower():
                return v.decode("latin-1")
        return None

    async def accept(self, subprotocol: str | None = None) -> None:
        await self.read_request()
        await self.send_raw(self.ws.send(AcceptConnection(subprotocol=subprotocol)))

    async def reject(
        self,
        status: int,
        body: bytes | dict[str, Any] = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        """Refuse the upgrade; a dict body is sent as JSON (an OpenAI error body)."""
        await self.read_request()
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        hdrs = list(headers or [])
        if isinstance(body, dict):
            hdrs.append((b"content-type", b"application/json"))
        hdrs.append((b"content-length", str(len(data)).encode()))
        out = self.ws.send(RejectConnection(status_code=status, headers=hdrs, has_body=True))
        out += self.ws.send(RejectData(data=data, body_finished=True))
        await self.send_raw(out)

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send(data)

    async def send_text(self, text: str) -> None:
        await self.send_raw(self.ws.send(TextMessage(data=text)))

    async def send_event(self, event: dict[str, Any]) -> None:
        await self.send_text(json.dumps(event))

    async def send_bytes(self, data: bytes) -> None:
        await self.send_raw(self.ws.send(BytesMessage(data=data)))

    async def send_fragmented(self, text: str, pieces: int, ping_between: bool = False) -> None:
        """One text message in ``pieces`` frames, optionally with pings between them."""
        size = max(1, -(-len(text) // pieces))
        parts = [text[i : i + size] for i in range(0, len(text), size)] or [""]
        out = b""
        for i, part in enumerate(parts):
            out += self.ws.send(TextMessage(data=part, message_finished=i == len(parts) - 1))
            if ping_between and i < len(parts) - 1:
                out += self.ws.send(Ping(payload=f"p{i}".encode()))
        await self.send_raw(out)

    async def ping(self, payload: bytes = b"hi") -> bytes:
        """Send a ping and wait for the matching pong (messages meanwhile are kept)."""
        await self.send_raw(self.ws.send(Ping(payload=payload)))
        kept: list[Event] = []
        try:
            while True:
                ev = await self._next()
                if ev is None:
                    raise anyio.EndOfStream
                if isinstance(ev, Pong):
                    self.pongs.append(bytes(ev.payload))
                    if ev.payload == payload:
                        return bytes(ev.payload)
                else:
                    kept.append(ev)
        finally:
            self._events.extendleft(reversed(kept))

    async def receive(self) -> str | bytes | None:
        """The next whole client message; None once the client closed (reply sent)."""
        parts: list[str | bytes] = []
        while True:
            ev = await self._next()
            if ev is None:
                return None
            if isinstance(ev, Message):
                parts.append(ev.data)
                if ev.message_finished:
                    if isinstance(ev, TextMessage):
                        return "".join(p for p in parts if isinstance(p, str))
                    return b"".join(bytes(p) for p in parts if not isinstance(p, str))
            elif isinstance(ev, Ping):
                # A ping and the client's Close can arrive in one read: wsproto has then parsed
                # the Close already (REMOTE_CLOSING) and refuses a Pong, which the closing client
                # no longer waits for anyway.
                if self.ws.state is ConnectionState.OPEN:
                    await self.send_raw(self.ws.send(ev.response()))
            elif isinstance(ev, Pong):
                self.pongs.append(bytes(ev.payload))
            elif isinstance(ev, CloseConnection):
                self.close_code, self.close_reason = int(ev.code), ev.reason or ""
                if self.ws.state is ConnectionState.REMOTE_CLOSING:
                    await self.send_raw(self.ws.send(ev.response()))
                return None

    async def receive_json(self) -> dict[str, Any]:
        msg = await self.receive()
        assert isinstance(msg, str), msg
        result: dict[str, Any] = json.loads(msg)
        return result

    async def wait_closed(self) -> int | None:
        """Read (and drop) messages until the client closes; returns its close code."""
        while await self.receive() is not None:
            pass
        return self.close_code

    async def close(self, code: int = 1000, reason: str = "", wait: bool = True) -> None:
        """Send a close frame; by default wait for the client's reply."""
        await self.send_raw(self.ws.send(CloseConnection(code=code, reason=reason)))
        if wait:
            while not self.client_gone and self.ws.state is not ConnectionState.CLOSED:
                ev = await self._next()
                if ev is None:
                    break
                if isinstance(ev, CloseConnection):
                    self.close_code, self.close_reason = int(ev.code), ev.reason or ""

    async def abort(self) -> None:
        """Reset the TCP connection (RST, no close frame)."""
        sock = self.stream.extra(SocketAttribute.raw_socket)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.stream.aclose()
        self.client_gone = True


class WSServer:
    """What the server saw; ``url`` is the base URL to hand to a client."""

    def __init__(self, port: int, secure: bool = False) -> None:
        self.port = port
        self.url = f"wss://localhost:{port}/v1" if secure else f"ws://127.0.0.1:{port}/v1"
        self.requests: list[Request] = []
        self.handled = 0
        self.connections: list[ServerConn] = []


@asynccontextmanager
async def serve(
    handler: Handler, ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[WSServer]:
    """Run the server on 127.0.0.1 (random port) for the duration of the block.

    With ``ssl_context`` (e.g. ``tests.support.certs.tls_material().server_context()``) it speaks
    TLS and ``server.url`` is ``wss://localhost:PORT/v1``.
    """
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(SocketAttribute.local_port)
    server = WSServer(port, secure=ssl_context is not None)
    listener: anyio.abc.Listener[Any] = (
        tcp
        if ssl_context is None
        else TLSListener(tcp, ssl_context, standard_compatible=False, handshake_timeout=10)
    )

    async def one(stream: anyio.abc.ByteStream) -> None:
        conn = ServerConn(stream, server)
        server.connections.append(conn)
        try:
            await handler(conn)
        except _GONE:
            pass
        finally:
            server.handled += 1
            await stream.aclose()

    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, one)
        yield server
        tg.cancel_scope.cancel()


@contextmanager
def serve_in_thread(handler: Handler) -> Iterator[WSServer]:
    """:func:`serve` on an event loop in a background thread, for blocking clients."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(handler)) as server,
    ):
        yield server
