"""A faulty loopback TCP proxy for fault tests: it sits between a client and a server.

It forwards bytes both ways and, per accepted connection, follows a
:class:`ConnectionPlan`: never answer the handshake, stop reading the client,
reset the TCP connection (RST) in the middle of a WebSocket frame, cut it
(FIN, no close frame), or replace a server frame with a close frame of any
code. It parses the server's WebSocket frames (after the HTTP 101) so faults
land at exact message positions, and it records what it forwarded so a test
can check that the client saw exactly those events.

Runs on anyio, hence under asyncio and trio alike::

    async with run_fault_proxy(("127.0.0.1", server_port),
                               plans=[ConnectionPlan(on_server_frame=close_at(5, 1012))]) as proxy:
        ... connect the client to proxy.port ...
"""

from __future__ import annotations

import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.abc
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSListener

__all__ = [
    "TaskCensus",
    "Close",
    "ConnectionPlan",
    "ConnectionRecord",
    "Cut",
    "FaultAction",
    "FaultProxy",
    "Reset",
    "Stall",
    "close_at",
    "close_frame",
    "reset_at",
    "run_fault_proxy",
]


@dataclass(frozen=True)
class Reset:
    """Send a TCP RST to the client; with ``mid_frame`` half of this frame goes out first."""

    mid_frame: bool = True


@dataclass(frozen=True)
class Cut:
    """Close the client's TCP connection (FIN) without a WebSocket close frame."""


@dataclass(frozen=True)
class Close:
    """Send a close frame with ``code`` instead of this frame, then end the connection."""

    code: int
    reason: str = ""


@dataclass(frozen=True)
class Stall:
    """Stop forwarding in both directions and keep the sockets open."""


FaultAction = Reset | Cut | Close | Stall
#: (index of the server frame on this connection, opcode, payload) -> action or None (forward)
FrameHook = Callable[[int, int, bytes], "FaultAction | None"]


def close_at(index: int, code: int, reason: str = "") -> FrameHook:
    """A hook closing with ``code`` in place of server frame number ``index`` (0-based)."""
    return lambda i, _op, _p: Close(code, reason) if i == index else None


def reset_at(index: int, *, mid_frame: bool = True) -> FrameHook:
    """A hook resetting the connection at server frame number ``index``."""
    return lambda i, _op, _p: Reset(mid_frame) if i == index else None


def close_frame(code: int, reason: str = "") -> bytes:
    """An unmasked (server to client) WebSocket close frame."""
    payload = struct.pack("!H", code) + reason.encode()[:123]
    return bytes([0x88, len(payload)]) + payload


@dataclass
class ConnectionPlan:
    """What the proxy does with one accepted connection (default: forward faithfully)."""

    never_answer: bool = False
    stop_reading_client: bool = False
    on_server_frame: FrameHook | None = None
    #: close the client's connection as soon as it is accepted (before any handshake)
    refuse: bool = False
    #: answer the upgrade request with this HTTP status and an OpenAI error body
    reply_status: int | None = None


@dataclass
class ConnectionRecord:
    """What happened on one proxied connection."""

    index: int
    client_bytes: int = 0
    server_bytes: int = 0
    #: payloads of the server text frames forwarded to the client whole, in order
    delivered_text: list[bytes] = field(default_factory=list)
    action: FaultAction | None = None
    #: payloads of the client text frames forwarded to the server, in order
    sent_text: list[bytes] = field(default_factory=list)


_GONE = (
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    OSError,
    ssl.SSLError,
)


def _pause_reading(stream: anyio.abc.ByteStream) -> None:
    """Really stop reading the socket, so the kernel buffers fill and the peer blocks.

    anyio's asyncio backend reads eagerly into memory while no ``receive()`` is
    pending (its transport is paused only around a ``receive()``), so not calling
    ``receive()`` is not enough there; pause the transport. On trio nothing is read
    unless asked.
    """
    transport = getattr(stream, "_transport", None)
    if transport is not None and hasattr(transport, "pause_reading"):
        transport.pause_reading()


def _parse_frame(buf: bytearray) -> tuple[int, int, bytes] | None:
    """(total length, opcode, unmasked payload) of the first whole frame in ``buf``."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    length = b1 & 0x7F
    pos = 2
    if length == 126:
        if len(buf) < 4:
            return None
        length = int.from_bytes(buf[2:4], "big")
        pos = 4
    elif length == 127:
        if len(buf) < 10:
            return None
        length = int.from_bytes(buf[2:10], "big")
        pos = 10
    mask = b""
    if b1 & 0x80:
        if len(buf) < pos + 4:
            return None
        mask = bytes(buf[pos : pos + 4])
        pos += 4
    total = pos + length
    if len(buf) < total:
        return None
    payload = bytes(buf[pos:total])
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return total, b0 & 0x0F, payload


class FaultProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        plans: Sequence[ConnectionPlan] | Callable[[int], ConnectionPlan],
    ) -> None:
        self.upstream = upstream
        self._plans = plans
        self.host = "127.0.0.1"
        self.port = 0
        self.records: list[ConnectionRecord] = []

    @property
    def connections(self) -> int:
        return len(self.records)

    def _plan(self, index: int) -> ConnectionPlan:
        if callable(self._plans):
            return self._plans(index)
        return self._plans[index] if index < len(self._plans) else ConnectionPlan()

    async def _handle(self, client: anyio.abc.ByteStream) -> None:
        record = ConnectionRecord(index=len(self.records))
        self.records.append(record)
        plan = self._plan(record.index)
        try:
            async with client:
                if plan.never_answer:
                    await anyio.sleep_forever()
                if plan.refuse:
                    return
                if plan.reply_status is not None:
                    await self._reply(client, plan.reply_status, record)
                    return
                upstream = await anyio.connect_tcp(*self.upstream)
                client_done = anyio.Event()
                async with upstream, anyio.create_task_group() as tg:
                    tg.start_soon(
                        self._client_to_server, client, upstream, plan, record, tg, client_done
                    )
                    await self._server_to_client(upstream, client, plan, record, client_done)
                    tg.cancel_scope.cancel()
        except _GONE:
            pass  # the client or the server went away: that is what these tests provoke

    async def _reply(
        self, client: anyio.abc.ByteStream, status: int, record: ConnectionRecord
    ) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += await client.receive()
        record.client_bytes += len(request)
        body = (
            b'{"error":{"message":"refused by the fault proxy","type":"invalid_request_error",'
            b'"code":"fault_proxy","param":null}}'
        )
        head = (
            f"HTTP/1.1 {status} Refused\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        await client.send(head + body)
        record.server_bytes += len(head) + len(body)

    async def _client_to_server(
        self,
        client: anyio.abc.ByteStream,
        upstream: anyio.abc.ByteStream,
        plan: ConnectionPlan,
        record: ConnectionRecord,
        tg: anyio.abc.TaskGroup,
        client_done: anyio.Event,
    ) -> None:
        buf = bytearray()
        in_frames = False
        try:
            while True:
                try:
                    data = await client.receive()
                except _GONE:
                    client_done.set()
                    if record.action is None:
                        # The client left on its own: let the server see it go.
                        await anyio.aclose_forcefully(upstream)
                        return
                    await anyio.sleep_forever()  # the fault in progress decides when to end
                record.client_bytes += len(data)
                if record.action is None:
                    await upstream.send(data)
                buf += data
                if not in_frames:
                    end = buf.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    del buf[: end + 4]
                    in_frames = True
                    if plan.stop_reading_client:
                        _pause_reading(client)
                        await anyio.sleep_forever()
                while (parsed := _parse_frame(buf)) is not None:
                    total, opcode, payload = parsed
                    del buf[:total]
                    if opcode == 1 and record.action is None:
                        record.sent_text.append(payload)
                    elif opcode == 8:
                        client_done.set()
        except _GONE:
            pass
        finally:
            client_done.set()

    async def _server_to_client(
        self,
        upstream: anyio.abc.ByteStream,
        client: anyio.abc.ByteStream,
        plan: ConnectionPlan,
        record: ConnectionRecord,
        client_done: anyio.Event,
    ) -> None:
        try:
            await self._forward_server(upstream, client, plan, record, client_done)
        except _GONE:
            pass

    async def _forward_server(
        self,
        upstream: anyio.abc.ByteStream,
        client: anyio.abc.ByteStream,
        plan: ConnectionPlan,
        record: ConnectionRecord,
        client_done: anyio.Event,
    ) -> None:
        buf = bytearray()
        in_frames = False
        index = 0
        while True:
            data = await upstream.receive()
            buf += data
            if not in_frames:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                head = bytes(buf[: end + 4])
                del buf[: end + 4]
                await client.send(head)
                record.server_bytes += len(head)
                in_frames = b" 101 " in head.split(b"\r\n", 1)[0]
                if not in_frames:
                    # Not an upgrade (a refusal): forward the body untouched.
                    if buf:
                        await client.send(bytes(buf))
                        record.server_bytes += len(buf)
                        buf.clear()
                    continue
            while (parsed := _parse_frame(buf)) is not None:
                total, opcode, payload = parsed
                frame = bytes(buf[:total])
                del buf[:total]
                action = (
                    plan.on_server_frame(index, opcode, payload) if plan.on_server_frame else None
                )
                index += 1
                if action is None:
                    await client.send(frame)
                    record.server_bytes += total
                    if opcode == 1:
                        record.delivered_text.append(payload)
                    continue
                record.action = action
                await self._act(action, frame, client, client_done)
                return

    async def _act(
        self,
        action: FaultAction,
        frame: bytes,
        client: anyio.abc.ByteStream,
        client_done: anyio.Event,
    ) -> None:
        if isinstance(action, Reset):
            if action.mid_frame and len(frame) > 1:
                await client.send(frame[: len(frame) // 2])
            sock = client.extra(SocketAttribute.raw_socket)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await anyio.aclose_forcefully(client)
        elif isinstance(action, Cut):
            await anyio.aclose_forcefully(client)
        elif isinstance(action, Close):
            await client.send(close_frame(action.code, action.reason))
            # Give the client the chance to answer with its close frame, as a server
            # would, but never wait long: the point is the close, not the goodbye.
            with anyio.move_on_after(2):
                await client_done.wait()
            await anyio.aclose_forcefully(client)
        else:
            await anyio.sleep_forever()


@asynccontextmanager
async def run_fault_proxy(
    upstream: tuple[str, int],
    *,
    plans: Sequence[ConnectionPlan] | Callable[[int], ConnectionPlan] = (),
    tls: ssl.SSLContext | None = None,
    rcvbuf: int | None = None,
) -> AsyncIterator[FaultProxy]:
    """Run a :class:`FaultProxy` on 127.0.0.1 (an ephemeral port) for the block's duration.

    ``tls`` terminates TLS at the proxy (the upstream stays plain); ``rcvbuf``
    shrinks the kernel receive buffer of accepted sockets so a proxy that stops
    reading pushes back on the client quickly.
    """
    proxy = FaultProxy(upstream, plans)
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    raw = tcp.extra(SocketAttribute.raw_socket)
    if rcvbuf is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    proxy.port = raw.getsockname()[1]
    listener: anyio.abc.Listener[anyio.abc.ByteStream] = (
        TLSListener(tcp, tls, standard_compatible=False) if tls is not None else tcp
    )
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, proxy._handle)
        try:
            yield proxy
        finally:
            tg.cancel_scope.cancel()


class TaskCensus:
    """Counts the tasks alive now, to prove a block leaves none behind (asyncio and trio).

    On asyncio: ``asyncio.all_tasks()``; on trio: every task in the tree under the
    root task. ``leaked()`` lists tasks alive now that were not alive at creation.
    """

    def __init__(self) -> None:
        self.before = self._tasks()

    @staticmethod
    def _tasks() -> set[object]:
        import sniffio

        if sniffio.current_async_library() == "trio":
            import trio

            found: set[object] = set()
            root = trio.lowlevel.current_root_task()
            stack = [root] if root is not None else []
            while stack:
                task = stack.pop()
                found.add(task)
                for nursery in task.child_nurseries:
                    stack.extend(nursery.child_tasks)
            return found
        import asyncio

        return set(asyncio.all_tasks())

    def leaked(self) -> list[str]:
        return sorted(repr(t) for t in self._tasks() - self.before)
