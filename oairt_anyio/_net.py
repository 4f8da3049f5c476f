"""Opening the TCP (and TLS) stream for a Realtime connection."""

from __future__ import annotations

import ssl

import anyio
import anyio.abc

from oairt_core.errors import ConnectionClosedError


async def open_stream(
    host: str, port: int, ssl_context: ssl.SSLContext | None
) -> anyio.abc.ByteStream:
    """A connected byte stream; TLS (with SNI and hostname checks) when a context is given.

    ``tls_standard_compatible=False``: the WebSocket close handshake already marks the
    end of the data, and many servers drop TCP without a TLS close_notify; that must not
    count as an error. Connection failures become :class:`ConnectionClosedError` (1006).
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
    except OSError as exc:
        detail = exc.strerror or type(exc).__name__
        raise ConnectionClosedError(1006, f"cannot connect to {host}:{port}: {detail}") from exc
