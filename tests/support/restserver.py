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

    Needs the ``cryptography`` package (callers skip when it is missing).
    """
    import datetime
    import ipaddress
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oairt test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(cert_path, key_path)
    client_ctx = ssl.create_default_context(
        cadata=ca_cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    return server_ctx, client_ctx
