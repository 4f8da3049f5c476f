"""oairt_core driven by raw asyncio streams (asyncio.open_connection), no adapter."""

from __future__ import annotations

import asyncio
import contextlib
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


async def run_asyncio(
    api_key: str, model: str, first: ClientEvent, base_url: str = "wss://api.openai.com/v1"
) -> list[str]:
    """Send ``first`` once connected; return the server event types until response.done."""
    conn = RealtimeConnection(api_key=api_key, model=model, base_url=base_url)
    context = resolve_ssl_context(conn.secure, default=ssl.create_default_context)
    reader, writer = await asyncio.open_connection(
        conn.host, conn.port, ssl=context, server_hostname=conn.host if context else None
    )
    seen: list[str] = []
    try:
        writer.write(conn.initiate())
        while True:
            event = conn.next_event()
            if isinstance(event, NeedData):
                writer.write(conn.data_to_send())  # pong replies, if any
                try:
                    await writer.drain()  # backpressure: wait while the socket buffer is full
                    data = await reader.read(65536)
                except ConnectionError:  # reset by the peer
                    data = b""
                conn.receive_data(data)  # b"": the peer closed TCP (ConnectionClosed 1006)
            elif isinstance(event, HandshakeRejected):
                raise event.exception()
            elif isinstance(event, Connected):
                writer.write(conn.send(first))
            elif isinstance(event, ConnectionClosed):
                writer.write(conn.data_to_send())  # our reply to the server's close frame
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
                if not event.normal:
                    raise event.exception()
                return seen
            else:
                seen.append(type(event).__name__)
                if isinstance(event, ResponseDoneEvent):
                    writer.write(conn.close())
    finally:
        writer.close()
