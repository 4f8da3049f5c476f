"""Full-stack benchmark: oairt against the official ``openai`` SDK on the same server.

One or more Realtime voice sessions stream 24 kHz PCM16 both ways: the client appends
20 ms of audio every 20 ms (``input_audio_buffer.append``) and the server sends a 20 ms
``response.output_audio.delta`` every 20 ms. The server runs in its own process, pinned to
its own core when the machine has two, so ``time.process_time()`` in the client process
counts the client library (and the application loop around it) only.

The server is a deliberately cheap streaming endpoint (pre-built frames, client frames
skipped by header) so that it is never the bottleneck of a scale run. Each delta's
``event_id`` carries the server's scheduled and actual send times
(``evt_<scheduled_ns>_<sent_ns>``, CLOCK_MONOTONIC, shared by processes on one machine),
which gives the time from a frame leaving the server to the application holding the typed
event, and tells a late server from a late client.

Clients (``--lib``):

* ``oairt-asyncio`` / ``oairt-trio``: ``oairt_anyio.open_realtime`` on each anyio backend;
* ``oairt-asyncio-uvloop``: the same on anyio's asyncio backend with uvloop
  (``backend_options={"use_uvloop": True}``), when ``oairt[uvloop]`` is installed;
* ``oairt-trio-native``: ``oairt_trio`` when present;
* ``sdk``: ``AsyncOpenAI(api_key="sk-test", websocket_base_url=url).realtime.connect(...)``,
  base64 done by the application as the SDK requires.

Run ``python -m benchmarks.fullstack_bench`` for the one-session CPU table, or the
``serve`` / ``client`` subcommands for the pieces (``benchmarks.scale_bench`` uses them).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from array import array
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from msgspec import Struct as msgspec_Struct

__all__ = [
    "LIBS",
    "BenchServer",
    "bench_server",
    "available_libs",
    "main",
    "run",
    "run_client",
]

FRAME_MS = 20
RATE = 24000
CHUNK_BYTES = RATE * 2 * FRAME_MS // 1000  # 960 bytes of PCM16 per 20 ms
MODEL = "gpt-realtime"
LIBS = (
    "oairt-asyncio",
    "oairt-asyncio-uvloop",
    "oairt-trio",
    "oairt-trio-native",
    "oairt-core-protocol",
    "sdk",
    "floor",
)
WARMUP_S = float(os.environ.get("OAIRT_BENCH_WARMUP_S", "0.5"))

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _chunk() -> bytes:
    """20 ms of speech-like PCM16 (content is irrelevant to the cost, size is not)."""
    import numpy as np

    t = np.arange(CHUNK_BYTES // 2) / RATE
    wave = 0.3 * np.sin(2 * np.pi * 180 * t) + 0.1 * np.sin(2 * np.pi * 540 * t)
    return bytes((wave * 32767).astype("<i2").tobytes())


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _pin(cpu: int | None) -> None:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {cpu})


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


# ---------------------------------------------------------------------------------------
# The streaming server (its own process)


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return header + payload


class _ServerConn(asyncio.Protocol):
    """One client connection: handshake, then frame headers only (payloads are skipped)."""

    def __init__(self, server: BenchServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.streaming = False
        self.bucket = 0
        self.frames_in = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.bucket = self.server.next_bucket()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.drop(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            request = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[: end + 4]
            self._handshake(request)
            if not self.open:
                return
        self._frames()

    def _handshake(self, request: str) -> None:
        assert self.transport is not None
        lines = request.split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        key = headers.get("sec-websocket-key", "")
        if headers.get("authorization") != "Bearer sk-test" or not key:
            body = b'{"error":{"type":"invalid_request_error","message":"bad key"}}'
            self.transport.write(
                b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            self.transport.close()
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.transport.write(self.server.session_created)
        self.open = True
        self.server.add(self)

    def _frames(self) -> None:
        buf = self.buf
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if b1 & 0x80:
                head += 4
            if n - pos < head + length:
                break
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x2, 0x0):
                self.frames_in += 1
                self.streaming = True  # audio flows once the client starts sending
            elif opcode == 0x8:
                self._close()
                return
            elif opcode == 0x9:
                mask = buf[pos + head - 4 : pos + head]
                payload = bytes(
                    b ^ mask[i % 4] for i, b in enumerate(buf[pos + head : pos + head + length])
                )
                assert self.transport is not None
                self.transport.write(_frame(payload, 0xA))
            pos += head + length
        if pos:
            del buf[:pos]

    def _close(self) -> None:
        assert self.transport is not None
        self.transport.write(_frame(b"\x03\xe8", 0x8))
        self.transport.close()
        self.open = False
        self.server.drop(self)


class BenchServer:
    """Sends one 20 ms delta per streaming session every 20 ms, in 4 staggered buckets."""

    BUCKETS = 4

    def __init__(self) -> None:
        self.buckets: list[set[_ServerConn]] = [set() for _ in range(self.BUCKETS)]
        self._next = 0
        created = {
            "type": "session.created",
            "event_id": "evt_created",
            "session": {
                "type": "realtime",
                "object": "realtime.session",
                "id": "sess_bench",
                "model": MODEL,
                "output_modalities": ["audio"],
            },
        }
        self.session_created = _frame(json.dumps(created, separators=(",", ":")).encode())
        delta = base64.b64encode(_chunk()).decode()
        self._prefix = b'{"type":"response.output_audio.delta","event_id":"evt_'
        self._suffix = (
            '","response_id":"resp_bench","item_id":"item_bench","output_index":0,'
            f'"content_index":0,"delta":"{delta}"}}'
        ).encode()
        self.late_ticks = 0
        self.ticks = 0

    def next_bucket(self) -> int:
        self._next = (self._next + 1) % self.BUCKETS
        return self._next

    def add(self, conn: _ServerConn) -> None:
        self.buckets[conn.bucket].add(conn)

    def drop(self, conn: _ServerConn) -> None:
        self.buckets[conn.bucket].discard(conn)

    def tick(self, bucket: int, scheduled_ns: int) -> None:
        conns = [c for c in self.buckets[bucket] if c.streaming]
        if not conns:
            return
        sent_ns = time.monotonic_ns()
        payload = self._prefix + f"{scheduled_ns}_{sent_ns}".encode() + self._suffix
        frame = _frame(payload)
        for conn in conns:
            if conn.transport is not None and not conn.transport.is_closing():
                conn.transport.write(frame)

    async def run_ticks(self) -> None:
        period_ns = FRAME_MS * 1_000_000 // self.BUCKETS
        next_ns = time.monotonic_ns()
        k = 0
        while True:
            next_ns += period_ns
            delay = (next_ns - time.monotonic_ns()) / 1e9
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.late_ticks += 1
                await asyncio.sleep(0)
                # Fell behind: skip the missed ticks rather than bursting to catch up.
                now = time.monotonic_ns()
                missed = (now - next_ns) // period_ns
                next_ns += missed * period_ns
                k += missed
            self.ticks += 1
            self.tick(k % self.BUCKETS, next_ns)
            k += 1


async def _serve(port: int) -> None:
    server = BenchServer()
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: _ServerConn(server), "127.0.0.1", port, backlog=4096, reuse_address=True
    )
    sock = srv.sockets[0]
    print(f"listening on ws://127.0.0.1:{sock.getsockname()[1]}/v1", flush=True)
    ticker = asyncio.ensure_future(server.run_ticks())
    stop = asyncio.Event()

    # The parent closes our stdin to stop us (works on every platform, no signals).
    def watch_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    import threading

    threading.Thread(target=watch_stdin, daemon=True).start()
    await stop.wait()
    ticker.cancel()
    srv.close()


@contextlib.contextmanager
def bench_server(cpu: int | None = None) -> Iterator[str]:
    """Start the streaming server in a child process; yields its ``ws://`` base URL."""
    cmd = [sys.executable, "-m", "benchmarks.fullstack_bench", "serve", "--port", "0"]
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield line.split()[-1]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------
# Client workloads


@dataclass
class _Stats:
    sent: int = 0
    received: int = 0
    received_bytes: int = 0
    latency_us: array[float] = field(default_factory=lambda: array("d"))
    server_lag_us: array[float] = field(default_factory=lambda: array("d"))
    send_lag_us: array[float] = field(default_factory=lambda: array("d"))
    measuring: bool = False

    def on_delta(self, event_id: str, pcm_len: int) -> None:
        now = time.monotonic_ns()
        self.received += 1
        self.received_bytes += pcm_len
        if self.measuring:
            _, scheduled, sent = event_id.split("_")
            self.latency_us.append((now - int(sent)) / 1000)
            self.server_lag_us.append((int(sent) - int(scheduled)) / 1000)


@dataclass
class _Plan:
    url: str
    sessions: int
    duration: float
    idle_hold: float
    start_ns: int = 0  # set once every session is connected
    chunk: bytes = b""
    stopping: bool = False  # teardown: a session seeing its connection go is expected


def _percentile(values: array[float] | list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, int(round(q / 100 * (len(ordered) - 1)))))
    return float(ordered[idx])


# -- oairt on anyio -------------------------------------------------------------------


async def _send_paced(
    plan: _Plan,
    stats: _Stats,
    phase: float,
    sleep: Callable[[float], Awaitable[object]],
    send_one: Callable[[], Awaitable[object] | None],
) -> None:
    """One append every FRAME_MS from the plan's start (offset by ``phase``), forever.

    Records how late each send went out. Every client row uses this one schedule; a sync
    sender (the bare protocols) returns None and is not awaited.
    """
    t0 = plan.start_ns / 1e9 + phase
    k = 0
    while True:
        deadline = t0 + k * FRAME_MS / 1000
        delay = deadline - time.monotonic()
        if delay > 0:
            await sleep(delay)
        pending = send_one()
        if pending is not None:
            await pending
        stats.sent += 1
        if stats.measuring:
            stats.send_lag_us.append((time.monotonic() - deadline) * 1e6)
        k += 1


async def _oairt_session(plan: _Plan, stats: _Stats, ready: Any, go: Any, phase: float) -> None:
    import anyio

    import oairt_anyio
    from oairt_core.events import InputAudioBufferAppendEvent, ResponseOutputAudioDeltaEvent

    async with oairt_anyio.open_realtime(api_key="sk-test", model=MODEL, base_url=plan.url) as conn:
        ready()
        await go.wait()
        chunk = plan.chunk

        async def sender() -> None:
            await _send_paced(
                plan,
                stats,
                phase,
                anyio.sleep,
                lambda: conn.send(InputAudioBufferAppendEvent(audio=chunk)),
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(sender)
            async for event in conn:
                if isinstance(event, ResponseOutputAudioDeltaEvent):
                    stats.on_delta(event.event_id, len(event.delta))


async def _oairt_trio_native_session(
    plan: _Plan, stats: _Stats, ready: Any, go: Any, phase: float
) -> None:
    import trio

    import oairt_trio  # type: ignore[import-untyped,unused-ignore]
    from oairt_core.events import InputAudioBufferAppendEvent, ResponseOutputAudioDeltaEvent

    async with oairt_trio.open_realtime(api_key="sk-test", model=MODEL, base_url=plan.url) as conn:
        ready()
        await go.wait()
        chunk = plan.chunk

        async def sender() -> None:
            await _send_paced(
                plan,
                stats,
                phase,
                trio.sleep,
                lambda: conn.send(InputAudioBufferAppendEvent(audio=chunk)),
            )

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sender)
            async for event in conn:
                if isinstance(event, ResponseOutputAudioDeltaEvent):
                    stats.on_delta(event.event_id, len(event.delta))


# -- the official SDK ------------------------------------------------------------------


async def _sdk_session(
    client: Any, plan: _Plan, stats: _Stats, ready: Any, go: Any, phase: float
) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        ready()
        await go.wait()
        chunk = plan.chunk

        async def sender() -> None:
            # The SDK takes base64 text: the application encodes every chunk.
            await _send_paced(
                plan,
                stats,
                phase,
                asyncio.sleep,
                lambda: conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode()),
            )

        task = asyncio.ensure_future(sender())
        try:
            async for event in conn:
                if event.type == "response.output_audio.delta":
                    pcm = base64.b64decode(event.delta)
                    stats.on_delta(event.event_id, len(pcm))
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- the sans-IO core embedded in an asyncio Protocol (no adapter) ------------------------


class _CoreClient(asyncio.Protocol):
    """``oairt_core.RealtimeConnection`` driven from a plain asyncio Protocol.

    The embedding pattern (see docs/embedding.md) with no task, lock or buffer per
    message: what the core costs by itself, next to the full anyio adapter.
    """

    def __init__(self, core: Any, stats: _Stats, opened: asyncio.Future[None]) -> None:
        from oairt_core.connection import Connected, NeedData
        from oairt_core.events import ResponseOutputAudioDeltaEvent

        self.core = core
        self.stats = stats
        self.opened = opened
        self.transport: asyncio.Transport | None = None
        self._need, self._connected = NeedData, Connected
        self._delta = ResponseOutputAudioDeltaEvent

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.core.initiate())

    def data_received(self, data: bytes) -> None:
        core = self.core
        core.receive_data(data)
        while True:
            event = core.next_event()
            if isinstance(event, self._need):
                break
            if isinstance(event, self._delta):
                self.stats.on_delta(event.event_id, len(event.delta))
            elif isinstance(event, self._connected) and not self.opened.done():
                self.opened.set_result(None)
        out = core.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)

    def send(self, event: Any) -> None:
        assert self.transport is not None
        self.transport.write(self.core.send(event))


async def _core_session(plan: _Plan, stats: _Stats, ready: Any, go: Any, phase: float) -> None:
    from urllib.parse import urlsplit

    from oairt_core.connection import RealtimeConnection
    from oairt_core.events import InputAudioBufferAppendEvent

    parts = urlsplit(plan.url)
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[None] = loop.create_future()
    core = RealtimeConnection(api_key="sk-test", model=MODEL, base_url=plan.url)
    transport, proto = await loop.create_connection(
        lambda: _CoreClient(core, stats, opened), parts.hostname or "127.0.0.1", parts.port or 80
    )
    try:
        await opened
        ready()
        await go.wait()
        await _send_paced(
            plan,
            stats,
            phase,
            asyncio.sleep,
            lambda: proto.send(InputAudioBufferAppendEvent(audio=plan.chunk)),
        )
    finally:
        transport.close()


# -- the floor: what any Python client on asyncio must pay ------------------------------


class _FloorDelta(msgspec_Struct):
    type: str
    event_id: str = ""
    delta: bytes = b""


class _FloorAppend(msgspec_Struct, tag_field="type", tag="input_audio_buffer.append"):
    audio: bytes


class _FloorClient(asyncio.Protocol):
    """A bare asyncio Protocol: HTTP upgrade by hand, frame headers by hand, msgspec for JSON.

    No validation, no buffering policy, no cancellation safety, a zero masking key: the
    least work a Python client on asyncio can do per message. Not a usable client; it
    shows how much of each figure is the event loop and the system calls.
    """

    def __init__(self, stats: _Stats, opened: asyncio.Future[None]) -> None:
        import msgspec

        self.stats = stats
        self.opened = opened
        self.buf = bytearray()
        self.open = False
        self.transport: asyncio.Transport | None = None
        self.decode = msgspec.json.Decoder(_FloorDelta).decode

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            del self.buf[: end + 4]
            self.open = True
            if not self.opened.done():
                self.opened.set_result(None)
        buf = self.buf
        pos, n = 0, len(buf)
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if n - pos < head + length:
                break
            if buf[pos] & 0x0F == 0x1:
                event = self.decode(buf[pos + head : pos + head + length])
                if event.type == "response.output_audio.delta":
                    self.stats.on_delta(event.event_id, len(event.delta))
            pos += head + length
        if pos:
            del buf[:pos]

    def send_append(self, payload: bytes) -> None:
        n = len(payload)
        header = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big") if n < 65536 else b""
        assert self.transport is not None
        self.transport.write(header + b"\0\0\0\0" + payload)


async def _floor_session(plan: _Plan, stats: _Stats, ready: Any, go: Any, phase: float) -> None:
    from urllib.parse import urlsplit

    import msgspec

    parts = urlsplit(plan.url)
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[None] = loop.create_future()
    transport, proto = await loop.create_connection(
        lambda: _FloorClient(stats, opened), parts.hostname or "127.0.0.1", parts.port or 80
    )
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            (
                f"GET {parts.path}/realtime?model={MODEL} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Authorization: Bearer sk-test\r\n\r\n"
            ).encode()
        )
        await opened
        ready()
        await go.wait()
        encode = msgspec.json.encode
        await _send_paced(
            plan,
            stats,
            phase,
            asyncio.sleep,
            lambda: proto.send_append(encode(_FloorAppend(audio=plan.chunk))),
        )
    finally:
        transport.close()


# -- warm-up: one whole session through the same code paths before the baseline ---------


async def _warmup_oairt(plan: _Plan) -> None:
    import oairt_anyio
    from oairt_core.events import InputAudioBufferAppendEvent, ResponseOutputAudioDeltaEvent

    async with oairt_anyio.open_realtime(api_key="sk-test", model=MODEL, base_url=plan.url) as conn:
        await conn.send(InputAudioBufferAppendEvent(audio=plan.chunk))
        async for event in conn:
            if isinstance(event, ResponseOutputAudioDeltaEvent):
                break


async def _warmup_oairt_trio(plan: _Plan) -> None:
    import oairt_trio
    from oairt_core.events import InputAudioBufferAppendEvent, ResponseOutputAudioDeltaEvent

    async with oairt_trio.open_realtime(api_key="sk-test", model=MODEL, base_url=plan.url) as conn:
        await conn.send(InputAudioBufferAppendEvent(audio=plan.chunk))
        async for event in conn:
            if isinstance(event, ResponseOutputAudioDeltaEvent):
                break


async def _warmup_sdk(client: Any, plan: _Plan) -> None:
    async with client.realtime.connect(model=MODEL) as conn:
        await conn.input_audio_buffer.append(audio=base64.b64encode(plan.chunk).decode())
        async for event in conn:
            if event.type == "response.output_audio.delta":
                base64.b64decode(event.delta)
                break


# -- the driver: connect N, stream, measure ---------------------------------------------


def _summarise(
    lib: str, plan: _Plan, stats: _Stats, timings: dict[str, float], idle: bool
) -> dict[str, Any]:
    window = timings["wall"]
    expected = plan.sessions * window * 1000 / FRAME_MS
    cpu = timings["cpu"]
    result: dict[str, Any] = {
        "lib": lib,
        "sessions": plan.sessions,
        "duration_s": round(window, 3),
        "cpu_s": round(cpu, 4),
        "cpu_per_s": cpu / window if window else float("nan"),
        "cpu_per_session_s": cpu / window / plan.sessions if window else float("nan"),
        "user_per_s": timings.get("user", 0.0) / window if window else float("nan"),
        "system_per_s": timings.get("system", 0.0) / window if window else float("nan"),
        "connect_s": round(timings["connect"], 3),
        "rss_base_mb": timings["rss0"] / 2**20,
        "rss_idle_per_session_kb": (timings["rss_idle"] - timings["rss0"]) / plan.sessions / 1024,
    }
    if not idle:
        measured_sent = len(stats.send_lag_us)
        measured_recv = len(stats.latency_us)
        result.update(
            {
                "rss_active_per_session_kb": (timings["rss_active"] - timings["rss0"])
                / plan.sessions
                / 1024,
                "sent_ratio": measured_sent / expected if expected else float("nan"),
                "recv_ratio": measured_recv / expected if expected else float("nan"),
                "latency_p50_ms": _percentile(stats.latency_us, 50) / 1000,
                "latency_p99_ms": _percentile(stats.latency_us, 99) / 1000,
                "send_lag_p99_ms": _percentile(stats.send_lag_us, 99) / 1000,
                "server_lag_p99_ms": _percentile(stats.server_lag_us, 99) / 1000,
            }
        )
        # CPU per session-second of audio actually moved (both directions averaged): stable
        # even when the process was starved, so it projects a capacity per core.
        processed = (measured_sent + measured_recv) / 2 * FRAME_MS / 1000
        per = cpu / processed if processed else float("nan")
        result["cpu_per_audio_s"] = per
        result["projected_sessions_per_core"] = 1 / per if per == per and per > 0 else 0.0
        result["realtime"] = bool(
            result["recv_ratio"] >= 0.95
            and result["sent_ratio"] >= 0.95
            and result["latency_p99_ms"] < 100
            and result["send_lag_p99_ms"] < 100
        )
        result["server_bound"] = bool(result["server_lag_p99_ms"] >= 20)
    return result


async def _drive_asyncio(lib: str, plan: _Plan, idle: bool) -> tuple[_Stats, dict[str, float]]:
    stats = _Stats()
    timings: dict[str, float] = {}
    connected = 0
    all_ready = asyncio.Event()
    go = asyncio.Event()

    gate = asyncio.Semaphore(64)  # connect in waves; a 4096 SYN burst measures the kernel

    def ready() -> None:
        nonlocal connected
        gate.release()
        connected += 1
        if connected == plan.sessions:
            all_ready.set()

    client: Any = None
    if lib == "sdk":
        from openai import AsyncOpenAI

        client = AsyncOpenAI(api_key="sk-test", websocket_base_url=plan.url)
        await _warmup_sdk(client, plan)
    elif lib == "oairt-asyncio":
        await _warmup_oairt(plan)
    # Baseline after one full session, so lazy imports and caches are not counted per session.
    timings["rss0"] = _rss_bytes()

    async def one(i: int) -> None:
        phase = (i % 20) / 1000
        await gate.acquire()
        if lib == "sdk":
            await _sdk_session(client, plan, stats, ready, go, phase)
        elif lib == "floor":
            await _floor_session(plan, stats, ready, go, phase)
        elif lib == "oairt-core-protocol":
            await _core_session(plan, stats, ready, go, phase)
        else:
            await _oairt_session(plan, stats, ready, go, phase)

    t_connect = time.perf_counter()
    tasks = [asyncio.ensure_future(one(i)) for i in range(plan.sessions)]
    try:
        waiter = asyncio.ensure_future(all_ready.wait())
        done, _ = await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            for t in done:
                t.result()  # a session failed to connect: raise its error
        timings["connect"] = time.perf_counter() - t_connect
        await asyncio.sleep(plan.idle_hold)
        timings["rss_idle"] = _rss_bytes()
        if not idle:
            await _stream_window(plan, stats, timings, go.set, asyncio.sleep)
    finally:
        plan.stopping = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return stats, timings


def _drop_teardown_errors(exc: BaseException) -> None:
    """Re-raise ``exc`` without the connection errors a teardown causes (keep cancellation)."""
    from oairt_core.errors import OairtError

    split = getattr(exc, "split", None)  # an exception group (3.10: the backport)
    if split is not None:
        _, rest = split((OairtError, OSError))
        if rest is not None:
            raise rest
        return
    if not isinstance(exc, (OairtError, OSError)):
        raise exc


async def _stream_window(
    plan: _Plan,
    stats: _Stats,
    timings: dict[str, float],
    start: Callable[[], None],
    sleep: Callable[[float], Any],
) -> None:
    plan.start_ns = time.monotonic_ns() + 20_000_000
    start()
    await sleep(WARMUP_S)
    stats.measuring = True
    cpu0 = time.process_time()
    times0 = os.times()
    wall0 = time.perf_counter()
    await sleep(plan.duration)
    stats.measuring = False
    times1 = os.times()
    timings["cpu"] = time.process_time() - cpu0
    timings["user"] = times1.user - times0.user
    timings["system"] = times1.system - times0.system
    timings["wall"] = time.perf_counter() - wall0
    timings["rss_active"] = _rss_bytes()


async def _drive_anyio(lib: str, plan: _Plan, idle: bool) -> tuple[_Stats, dict[str, float]]:
    import anyio

    stats = _Stats()
    if lib == "oairt-trio-native":
        await _warmup_oairt_trio(plan)
    else:
        await _warmup_oairt(plan)
    timings: dict[str, float] = {"rss0": _rss_bytes()}
    connected = 0
    all_ready = anyio.Event()
    go = anyio.Event()
    gate = anyio.Semaphore(64)

    def ready() -> None:
        nonlocal connected
        gate.release()
        connected += 1
        if connected == plan.sessions:
            all_ready.set()

    async def one(i: int) -> None:
        phase = (i % 20) / 1000
        await gate.acquire()
        try:
            if lib == "oairt-trio-native":
                await _oairt_trio_native_session(plan, stats, ready, go, phase)
            else:
                await _oairt_session(plan, stats, ready, go, phase)
        except BaseException as exc:
            # Cancelling every session at the end races the sender against the reader
            # closing the socket; only errors before the teardown count.
            if not plan.stopping:
                raise
            _drop_teardown_errors(exc)

    async with anyio.create_task_group() as tg:
        t_connect = time.perf_counter()
        for i in range(plan.sessions):
            tg.start_soon(one, i)
        await all_ready.wait()
        timings["connect"] = time.perf_counter() - t_connect
        await anyio.sleep(plan.idle_hold)
        timings["rss_idle"] = _rss_bytes()
        if not idle:
            await _stream_window(plan, stats, timings, go.set, anyio.sleep)
        plan.stopping = True
        tg.cancel_scope.cancel()
    return stats, timings


def run_client(
    lib: str,
    url: str,
    *,
    sessions: int = 1,
    duration: float = 5.0,
    idle: bool = False,
    idle_hold: float = 0.2,
) -> dict[str, Any]:
    """Run one client workload in this process and return its figures."""
    plan = _Plan(url=url, sessions=sessions, duration=duration, idle_hold=idle_hold)
    plan.chunk = _chunk()
    if lib in ("sdk", "floor", "oairt-core-protocol"):
        stats, timings = asyncio.run(_drive_asyncio(lib, plan, idle))
    elif lib in ("oairt-asyncio", "oairt-asyncio-uvloop"):
        import anyio

        stats, timings = anyio.run(
            _drive_anyio,
            lib,
            plan,
            idle,
            backend="asyncio",
            backend_options={"use_uvloop": lib == "oairt-asyncio-uvloop"},
        )
    elif lib in ("oairt-trio", "oairt-trio-native"):
        import anyio

        stats, timings = anyio.run(_drive_anyio, lib, plan, idle, backend="trio")
    else:
        raise ValueError(f"unknown lib {lib!r}")
    if idle:
        timings.setdefault("cpu", 0.0)
        timings.setdefault("wall", 0.0)
    return _summarise(lib, plan, stats, timings, idle)


def available_libs() -> list[str]:
    """The client libraries installed here."""
    import importlib.util

    libs = []
    if importlib.util.find_spec("oairt_anyio") is not None:
        libs.append("oairt-asyncio")
        if sys.platform != "win32" and importlib.util.find_spec("uvloop") is not None:
            libs.append("oairt-asyncio-uvloop")
        if importlib.util.find_spec("trio") is not None:
            libs.append("oairt-trio")
    try:
        import oairt_trio

        if hasattr(oairt_trio, "open_realtime"):
            libs.append("oairt-trio-native")
    except ImportError:
        pass
    libs.append("oairt-core-protocol")
    if importlib.util.find_spec("openai") is not None:
        libs.append("sdk")
    libs.append("floor")
    return libs


def client_in_subprocess(
    lib: str,
    url: str,
    *,
    sessions: int,
    duration: float,
    idle: bool = False,
    cpu: int | None = None,
    timeout: float = 180,
) -> dict[str, Any]:
    """Run :func:`run_client` in a fresh interpreter (clean memory and CPU accounting)."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.fullstack_bench",
        "client",
        "--lib",
        lib,
        "--url",
        url,
        "--sessions",
        str(sessions),
        "--duration",
        str(duration),
    ]
    if idle:
        cmd.append("--idle")
    if cpu is not None:
        cmd += ["--cpu", str(cpu)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"lib": lib, "sessions": sessions, "error": f"timed out after {timeout} s"}
    if proc.returncode != 0:
        return {"lib": lib, "sessions": sessions, "error": _error_line(proc.stderr)}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _error_line(stderr: str) -> str:
    """The most telling line of a worker's traceback (the innermost ``...Error: ...``)."""
    import re

    found = re.findall(r"^[\s|+-]*([\w.]+(?:Error|Exception|Timeout)\b.*)$", stderr, re.M)
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    return found[-1] if found else (lines[-1] if lines else "?")


def cpus() -> tuple[int | None, int | None]:
    """(server cpu, client cpu): separate cores when there are two or more."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return None, None
    if len(allowed) >= 2:
        return allowed[0], allowed[1]
    return None, None


def run(
    *,
    duration: float = 10.0,
    libs: list[str] | None = None,
    log: Callable[[str], None] = print,
    pin: bool = True,
) -> dict[str, Any]:
    """One session streaming both ways per library: CPU seconds per second of audio.

    ``pin=False`` (the smoke run) leaves the processes unpinned: on a busy machine a
    process pinned to a busy core waits for it, and a smoke run measures nothing.
    """
    libs = libs or available_libs()
    server_cpu, client_cpu = cpus() if pin else (None, None)
    results: list[dict[str, Any]] = []
    with bench_server(server_cpu) as url:
        for lib in libs:
            log(f"  full stack: {lib}, 1 session, {duration:g} s ...")
            results.append(
                client_in_subprocess(lib, url, sessions=1, duration=duration, cpu=client_cpu)
            )
    return {"duration_s": duration, "results": results, "cores": _cpu_count()}


def format_table(report: dict[str, Any]) -> str:
    results = report["results"]
    sdk = next((r for r in results if r["lib"] == "sdk" and "error" not in r), None)
    floor = next((r for r in results if r["lib"] == "floor" and "error" not in r), None)
    lines = [
        "| client | CPU s per s of conversation | vs SDK | vs floor | user / system | "
        "delivery p50 | delivery p99 | real time |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['lib']} | error: {r['error']} | | | | | | |")
            continue
        ratio = f"{r['cpu_per_s'] / sdk['cpu_per_s']:.2f}x" if sdk else "n/a"
        vs_floor = f"{r['cpu_per_s'] / floor['cpu_per_s']:.2f}x" if floor else "n/a"
        lines.append(
            f"| {r['lib']} | {r['cpu_per_s']:.4f} | {ratio} | {vs_floor} | "
            f"{r['user_per_s']:.4f} / {r['system_per_s']:.4f} | {r['latency_p50_ms']:.2f} ms"
            f" | {r['latency_p99_ms']:.2f} ms | {'yes' if r['realtime'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fullstack_bench")
    sub = parser.add_subparsers(dest="cmd")
    serve = sub.add_parser("serve", help="run the streaming server")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--cpu", type=int, default=None)
    client = sub.add_parser("client", help="run one client workload, print JSON")
    client.add_argument("--lib", choices=LIBS, required=True)
    client.add_argument("--url", required=True)
    client.add_argument("--sessions", type=int, default=1)
    client.add_argument("--duration", type=float, default=5.0)
    client.add_argument("--idle", action="store_true")
    client.add_argument("--cpu", type=int, default=None)
    parser.add_argument("--duration", type=float, default=10.0)
    args = parser.parse_args(argv)
    if args.cmd == "serve":
        _pin(args.cpu)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args.port))
        return 0
    if args.cmd == "client":
        _pin(args.cpu)
        result = run_client(
            args.lib, args.url, sessions=args.sessions, duration=args.duration, idle=args.idle
        )
        print(json.dumps(result))
        return 0
    report = run(duration=args.duration)
    print(format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
