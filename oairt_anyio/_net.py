"""Opening the TCP (and TLS) stream for a Realtime connection or a REST client."""

from __future__ import annotations

import ssl

import anyio
import anyio.abc

from oairt_core.driver import connect_error

# What a broken or closed transport raises on read or write.
STREAM_GONE = (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)


async def open_stream(
    host: str, port: int, ssl_context: ssl.SSLContext | None
) -> anyio.abc.ByteStream:
    """A connected byte stream; TLS (with SNI and hostname checks) when a context is given.

    ``tls_standard_compatible=False``: the WebSocket close handshake (or the HTTP framing)
    already marks the end of the data, and many servers drop TCP without a TLS
    close_notify; that must not count as an error. DNS, TCP and TLS failures become
    :class:`~oairt_core.errors.ConnectError`.
    """
    try:
        if ssl_context is None:
            return await anyio.connect_tcp(host, port)
        return await anyio.connect_tcp(
            host,
            port,
            ssl_context=ssl_context,
            tls_hostname=host,
            tls_standard_compatible=False,
        )
    except (OSError, anyio.BrokenResourceError) as exc:
        raise connect_error(host, port, exc) from exc
