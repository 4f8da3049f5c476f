"""oairt_core driven by a plain blocking socket: no event loop, no threads."""

from __future__ import annotations

import socket
import ssl

from oairt_core.connection import (
    Connected,
    ConnectionClosed,
    HandshakeRejected,
    NeedData,
    RealtimeConnection,
    resolve_ssl_context,
)
from oairt_core.events import ClientEvent, ResponseDoneEvent


def run_blocking(
    api_key: str, model: str, first: ClientEvent, base_url: str = "wss://api.openai.com/v1"
) -> list[str]:
    """Send ``first`` once connected; return the server event types until response.done."""
    conn = RealtimeConnection(api_key=api_key, model=model, base_url=base_url)
    context = resolve_ssl_context(
        conn.secure, default=ssl.create_default_context
    )  # verified TLS for wss://, None for ws://
    sock = socket.create_connection((conn.host, conn.port), timeout=30)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname=conn.host)
    seen: list[str] = []
    with sock:
        sock.sendall(conn.initiate())
        while True:
            event = conn.next_event()
            if isinstance(event, NeedData):
                try:
                    sock.sendall(conn.data_to_send())  # pong replies, if any
                    data = sock.recv(65536)
                except ConnectionError:  # reset by the peer
                    data = b""
                conn.receive_data(data)  # b"": the peer closed TCP (ConnectionClosed 1006)
            elif isinstance(event, HandshakeRejected):
                raise event.exception()  # HandshakeError with status and message
            elif isinstance(event, Connected):
                sock.sendall(conn.send(first))
            elif isinstance(event, ConnectionClosed):
                if out := conn.data_to_send():  # our reply to the server's close frame
                    sock.sendall(out)
                if not event.normal:
                    raise event.exception()
                return seen
            else:
                seen.append(type(event).__name__)
                if isinstance(event, ResponseDoneEvent):
                    sock.sendall(conn.close())  # then wait for the server's close reply
