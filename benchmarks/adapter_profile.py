"""Per-frame cost of the sans-IO core and of each async adapter (a profiling aid).

Two parts:

* **core**: ``RealtimeConnection`` alone, no I/O. ``recv``: feed N server frames
  (``response.output_audio.delta``) one ``receive_data`` per frame, take every event;
  ``recv-batch``: the same, 8 frames per ``receive_data``; ``send``: frame N
  ``input_audio_buffer.append`` events. Reported as thread CPU µs per frame (best of 5
  rounds; CPU time, so a shared machine stealing the core mid-round does not count).
  ``--steps`` splits each into its steps (frame parsing or masking, msgspec, the
  connection's own bookkeeping); ``--baseline DIR`` runs the same core figures for another
  checkout (``DIR/.venv``) in alternation with this one, for a before/after in one run.
* **adapters** (``oairt_anyio`` on asyncio, on trio, ``oairt_trio``, and the core in a bare
  asyncio Protocol for reference) over loopback TCP against a tiny server in its own
  process (so only the client's CPU is counted): ``rtt``: send one append, wait for the
  server's delta, N times (one frame per read: a full wake-up each way, like a paced live
  session); ``recv``: the server blasts N deltas (several frames per read); ``send``: N
  appends written back to back. Reported as client CPU µs per frame
  (``time.process_time``) and wall µs per frame.

Run ``python -m benchmarks.adapter_profile`` (``--frames 20000`` for steadier figures,
``--pcm-bytes 4800`` for 100 ms frames, ``--only core`` or ``--only adapters``,
``--profile anyio-asyncio:rtt`` to print a cProfile of one case). ``anyio-uvloop`` is
``oairt_anyio`` on anyio's asyncio backend with uvloop, when it is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import hashlib
import os
import pstats
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["main", "core_costs", "adapter_costs"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ADAPTERS = ("core-protocol", "anyio-asyncio", "anyio-uvloop", "anyio-trio", "trio")
MODES = ("rtt", "recv", "send")


def _pcm(n: int) -> bytes:
    return bytes((i * 37) & 0xFF for i in range(n))


def _frame(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, n))
    elif n < 65536:
        header = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return header + payload


def _delta_frame(pcm_bytes: int, k: int = 0) -> bytes:
    from oairt_core.codec import encode_server_event
    from oairt_core.events import ResponseOutputAudioDeltaEvent

    ev = ResponseOutputAudioDeltaEvent(
        event_id=f"evt_{k:012d}",
        response_id="resp_bench",
        item_id="item_bench",
        output_index=0,
        content_index=0,
        delta=_pcm(pcm_bytes),
    )
    return _frame(encode_server_event(ev))


# --------------------------------------------------------------------------- core alone


def _open_core() -> Any:
    from oairt_core.connection import Connected, RealtimeConnection

    core = RealtimeConnection(api_key="sk-test", model="gpt-realtime", base_url="ws://h/v1")
    request = core.initiate().decode("latin-1")
    key = next(
        line.split(":", 1)[1].strip()
        for line in request.split("\r\n")
        if line.lower().startswith("sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
    core.receive_data(
        (
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
        ).encode()
    )
    assert isinstance(core.next_event(), Connected)
    return core


def _best_us(run: Callable[[], int], rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        # Thread CPU time, not wall time: on a shared machine a round that loses the core
        # half way would otherwise count the other process's time as ours.
        t0 = time.thread_time()
        n = run()
        best = min(best, (time.thread_time() - t0) / n * 1e6)
    return best


def core_costs(frames: int, pcm_bytes: int) -> dict[str, float]:
    """µs per frame through the bare core: receive (1 and 8 frames a read) and send."""
    from oairt_core.connection import NeedData
    from oairt_core.events import InputAudioBufferAppendEvent

    frame = _delta_frame(pcm_bytes)
    batch = frame * 8
    pcm = _pcm(pcm_bytes)

    def recv() -> int:
        core = _open_core()
        for _ in range(frames):
            core.receive_data(frame)
            while not isinstance(core.next_event(), NeedData):
                pass
        return frames

    def recv_batch() -> int:
        core = _open_core()
        for _ in range(frames // 8):
            core.receive_data(batch)
            while not isinstance(core.next_event(), NeedData):
                pass
        return frames // 8 * 8

    def send() -> int:
        core = _open_core()
        for _ in range(frames):
            core.send(InputAudioBufferAppendEvent(audio=pcm))
        return frames

    return {"recv": _best_us(recv), "recv-batch": _best_us(recv_batch), "send": _best_us(send)}


def core_steps(frames: int, pcm_bytes: int) -> dict[str, dict[str, float]]:
    """Where a frame's µs go in the core: each step timed alone, the rest is bookkeeping.

    Works on any checkout: the frame step is ``oairt_core._frames`` (the fast path) when
    it exists, else wsproto's parser and serialiser, as the connection used them.
    """
    from wsproto.events import TextMessage

    from oairt_core.codec import decode_server_event, encode_client_event
    from oairt_core.events import InputAudioBufferAppendEvent

    totals = core_costs(frames, pcm_bytes)
    frame = _delta_frame(pcm_bytes)
    event = InputAudioBufferAppendEvent(audio=_pcm(pcm_bytes))
    payload = encode_client_event(event)
    text = frame[4:].decode("utf-8")  # 16-bit length form: a 4-byte header

    def timed(step: Callable[[], object]) -> float:
        def run() -> int:
            for _ in range(frames):
                step()
            return frames

        return _best_us(run)

    try:
        from oairt_core import _frames

        parse_us = timed(lambda: _frames.text_frame_at(frame, 0, 1 << 26))
        try:  # keys from a per-connection pool (MaskKeys), or os.urandom per frame (older)
            keys = _frames.MaskKeys()
            mask_us = timed(lambda: _frames.masked_text_frame(payload, keys.next()))
        except AttributeError:
            one_arg: Any = _frames.masked_text_frame  # a checkout before MaskKeys
            mask_us = timed(lambda: one_arg(payload))
        how = "fast path"
    except ImportError:  # a checkout before the fast path: wsproto does both
        ws = _open_core()._frames

        def parse() -> None:
            ws.receive_data(frame)
            for _ in ws.events():
                pass

        parse_us = timed(parse)
        mask_us = timed(lambda: ws.send(TextMessage(data=payload.decode("utf-8"))))
        how = "wsproto"
    decode_us = timed(lambda: decode_server_event(text))
    encode_us = timed(lambda: encode_client_event(event))
    return {
        "recv": {
            f"frame parsing ({how})": parse_us,
            "JSON decode (msgspec)": decode_us,
            "connection bookkeeping": max(0.0, totals["recv"] - parse_us - decode_us),
        },
        "send": {
            "JSON encode (msgspec)": encode_us,
            f"masking + framing ({how})": mask_us,
            "connection bookkeeping": max(0.0, totals["send"] - encode_us - mask_us),
        },
        "total": totals,
    }


def compare_core(
    baseline: str, frames: int, pcm_bytes: int, runs: int = 5
) -> dict[str, dict[str, Any]]:
    """``core_steps`` for the checkout at ``baseline`` and for this one, alternated.

    Each side runs in its own interpreter (``baseline/.venv/bin/python`` and this one),
    ``runs`` times in turn; the best figure of each step is kept.
    """
    import json

    sides = {
        "before": (os.path.join(baseline, ".venv", "bin", "python"), baseline),
        "after": (sys.executable, os.getcwd()),
    }
    best: dict[str, dict[str, Any]] = {}
    for _ in range(runs):
        for side, (python, cwd) in sides.items():
            out = subprocess.run(
                [python, os.path.abspath(__file__), "--only", "core", "--steps", "--json"]
                + ["--frames", str(frames), "--pcm-bytes", str(pcm_bytes)],
                cwd=cwd,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            got = json.loads(out)
            mine = best.setdefault(side, got)
            for part, steps in got.items():
                for step, us in steps.items():
                    mine[part][step] = min(mine[part][step], us)
    for steps in best.values():  # the remainder, from the best figures
        for part in ("recv", "send"):
            rest = [k for k in steps[part] if k != "connection bookkeeping"]
            timed = sum(steps[part][k] for k in rest)
            steps[part]["connection bookkeeping"] = max(0.0, steps["total"][part] - timed)
    return best


def format_steps(steps: dict[str, dict[str, float]], label: str = "") -> str:
    lines = [f"| {label or 'core'} step | µs/frame |", "| --- | ---: |"]
    for part in ("recv", "send"):
        for step, us in steps[part].items():
            lines.append(f"| {part}: {step} | {us:.2f} |")
        lines.append(f"| **{part} total** | **{steps['total'][part]:.2f}** |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the server


class _ServerConn(asyncio.Protocol):
    def __init__(self, pcm_bytes: int) -> None:
        self.pcm_bytes = pcm_bytes
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.mode = ""
        self.n = 0
        self.seen = 0
        self.delta = _delta_frame(pcm_bytes)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buf += data
        if not self.open:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            request = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[: end + 4]
            lines = request.split("\r\n")
            query = parse_qs(urlsplit(lines[0].split(" ")[1]).query)
            self.mode = query["bench"][0]
            self.n = int(query["n"][0])
            key = next(
                line.split(":", 1)[1].strip()
                for line in lines
                if line.lower().startswith("sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest())
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.open = True
        self._frames()

    def _frames(self) -> None:
        assert self.transport is not None
        buf = self.buf
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, head = b1 & 0x7F, 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if b1 & 0x80:
                head += 4
            if n - pos < head + length:
                break
            opcode = b0 & 0x0F
            start = pos + head
            pos = start + length
            if opcode == 0x9:  # the client's keepalive ping: answer it, as a server must
                payload = bytes(buf[start:pos])
                if b1 & 0x80:
                    mask = buf[start - 4 : start]
                    payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
                self.transport.write(_frame(payload, 0xA))
                continue
            if opcode == 0x8:
                if self.mode != "recv" and self.seen < self.n:  # the client closed first
                    self.transport.write(_frame(b"\x03\xe8", 0x8))
                self.transport.close()
                return
            if opcode == 0x1:
                self.seen += 1
                if self.mode == "recv":  # the client's go: blast every delta, then close
                    self.transport.write(self.delta * self.n + _frame(b"\x03\xe8", 0x8))
                if self.mode == "rtt":
                    self.transport.write(self.delta)
                if self.mode != "recv" and self.seen == self.n:
                    self.transport.write(_frame(b"\x03\xe8", 0x8))
        del buf[:pos]


async def _serve() -> None:
    pcm_bytes = int(os.environ.get("ADAPTER_PROFILE_PCM", "960"))
    loop = asyncio.get_running_loop()
    srv = await loop.create_server(lambda: _ServerConn(pcm_bytes), "127.0.0.1", 0)
    print(srv.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent goes away


# --------------------------------------------------------------------------- the clients


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {cpu})


async def _anyio_case(url: str, mode: str, n: int, pcm: bytes) -> tuple[float, float]:

    import oairt_anyio
    from oairt_core.events import InputAudioBufferAppendEvent

    async with oairt_anyio.open_realtime(
        api_key="sk-test", model="m", base_url=url, extra_query={"bench": mode, "n": str(n)}
    ) as conn:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        got = 0
        if mode == "rtt":
            for _ in range(n):
                await conn.send(InputAudioBufferAppendEvent(audio=pcm))
                await conn.next_event()
                got += 1
        elif mode == "send":
            for _ in range(n):
                await conn.send(InputAudioBufferAppendEvent(audio=pcm))
            async for _ev in conn:
                pass
        else:
            await conn.send(InputAudioBufferAppendEvent(audio=pcm))  # go
            async for _ev in conn:
                got += 1
            assert got == n, got
        return time.process_time() - cpu0, time.perf_counter() - wall0
    raise AssertionError  # pragma: no cover


async def _trio_case(url: str, mode: str, n: int, pcm: bytes) -> tuple[float, float]:
    import oairt_trio
    from oairt_core.events import InputAudioBufferAppendEvent

    async with oairt_trio.open_realtime(
        api_key="sk-test", model="m", base_url=url, extra_query={"bench": mode, "n": str(n)}
    ) as conn:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        got = 0
        if mode == "rtt":
            for _ in range(n):
                await conn.send(InputAudioBufferAppendEvent(audio=pcm))
                await conn.next_event()
        elif mode == "send":
            for _ in range(n):
                await conn.send(InputAudioBufferAppendEvent(audio=pcm))
            async for _ev in conn:
                pass
        else:
            await conn.send(InputAudioBufferAppendEvent(audio=pcm))  # go
            async for _ev in conn:
                got += 1
            assert got == n, got
        return time.process_time() - cpu0, time.perf_counter() - wall0
    raise AssertionError  # pragma: no cover


class _CoreProtocol(asyncio.Protocol):
    """The core in a bare asyncio Protocol: the reference an adapter is compared with."""

    def __init__(self, core: Any) -> None:
        self.core = core
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Any] | None = None
        self.events: list[Any] = []
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.core.initiate())

    def data_received(self, data: bytes) -> None:
        from oairt_core.connection import ConnectionClosed, NeedData

        core = self.core
        core.receive_data(data)
        while True:
            ev = core.next_event()
            if isinstance(ev, NeedData):
                break
            if isinstance(ev, ConnectionClosed):
                if not self.done.done():
                    self.done.set_result(None)
                break
            self.events.append(ev)
        out = core.data_to_send()
        if out and self.transport is not None:
            self.transport.write(out)
        if self.events and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)

    async def next_event(self) -> Any:
        while not self.events:
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter
        return self.events.pop(0)


async def _core_protocol_case(url: str, mode: str, n: int, pcm: bytes) -> tuple[float, float]:
    from oairt_core.connection import Connected, RealtimeConnection
    from oairt_core.events import InputAudioBufferAppendEvent

    parts = urlsplit(url)
    core = RealtimeConnection(
        api_key="sk-test", model="m", base_url=url, extra_query={"bench": mode, "n": str(n)}
    )
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_connection(
        lambda: _CoreProtocol(core), parts.hostname or "127.0.0.1", parts.port or 80
    )
    try:
        assert isinstance(await proto.next_event(), Connected)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if mode == "rtt":
            for _ in range(n):
                transport.write(core.send(InputAudioBufferAppendEvent(audio=pcm)))
                await proto.next_event()
        elif mode == "send":
            for _ in range(n):
                transport.write(core.send(InputAudioBufferAppendEvent(audio=pcm)))
                if transport.get_write_buffer_size() > 1 << 20:
                    await asyncio.sleep(0)
            await proto.done
        else:
            transport.write(core.send(InputAudioBufferAppendEvent(audio=pcm)))  # go
            await proto.done
            assert len(proto.events) == n, len(proto.events)
        return time.process_time() - cpu0, time.perf_counter() - wall0
    finally:
        transport.close()


def _run_case(adapter: str, url: str, mode: str, n: int, pcm: bytes) -> tuple[float, float]:
    if adapter == "core-protocol":
        return asyncio.run(_core_protocol_case(url, mode, n, pcm))
    if adapter == "trio":
        import trio

        return trio.run(_trio_case, url, mode, n, pcm)
    import anyio

    backend, options = _anyio_backend(adapter)
    return anyio.run(_anyio_case, url, mode, n, pcm, backend=backend, backend_options=options)


def _anyio_backend(adapter: str) -> tuple[str, dict[str, Any]]:
    """anyio's backend name and options for an adapter row (``anyio-uvloop``: uvloop)."""
    if adapter == "anyio-trio":
        return "trio", {}
    return "asyncio", {"use_uvloop": adapter == "anyio-uvloop"}


def _available(adapters: tuple[str, ...]) -> tuple[str, ...]:
    import importlib.util

    return tuple(
        a
        for a in adapters
        if a != "anyio-uvloop"
        or (sys.platform != "win32" and importlib.util.find_spec("uvloop") is not None)
    )


def adapter_costs(
    frames: int, pcm_bytes: int, adapters: tuple[str, ...] = ADAPTERS, rounds: int = 3
) -> dict[str, dict[str, tuple[float, float]]]:
    """Client CPU and wall µs per frame, best of ``rounds``, for each adapter and mode."""
    env = dict(os.environ, ADAPTER_PROFILE_PCM=str(pcm_bytes))
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.adapter_profile", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(server.pid, {0})
            _pin(1)
        url = f"ws://127.0.0.1:{port}/v1"
        pcm = _pcm(pcm_bytes)
        out: dict[str, dict[str, tuple[float, float]]] = {}
        for adapter in adapters:
            _run_case(adapter, url, "rtt", 50, pcm)  # warm up imports and caches
            for mode in MODES:
                best = (float("inf"), float("inf"))
                for _ in range(rounds):
                    cpu, wall = _run_case(adapter, url, mode, frames, pcm)
                    best = min(best, (cpu / frames * 1e6, wall / frames * 1e6))
                out.setdefault(adapter, {})[mode] = best
        return out
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(10)


def _profile(spec: str, frames: int, pcm_bytes: int) -> None:
    adapter, _, mode = spec.partition(":")
    if adapter == "core":
        frame = _delta_frame(pcm_bytes)
        core = _open_core()
        from oairt_core.connection import NeedData
        from oairt_core.events import InputAudioBufferAppendEvent

        pcm = _pcm(pcm_bytes)

        def work() -> None:
            for _ in range(frames):
                if mode != "send":
                    core.receive_data(frame)
                    while not isinstance(core.next_event(), NeedData):
                        pass
                if mode != "recv":
                    core.send(InputAudioBufferAppendEvent(audio=pcm))

        prof = cProfile.Profile()
        prof.runcall(work)
    else:
        env = dict(os.environ, ADAPTER_PROFILE_PCM=str(pcm_bytes))
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.adapter_profile", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert server.stdout is not None
            url = f"ws://127.0.0.1:{int(server.stdout.readline())}/v1"
            prof = cProfile.Profile()
            prof.runcall(_run_case, adapter, url, mode or "rtt", frames, _pcm(pcm_bytes))
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(10)
    pstats.Stats(prof).sort_stats("tottime").print_stats(30)


# --------------------------------------------------------------------------- in one process


class _RawPeer:
    """The server side of one connection, driven by hand from the client's own task.

    A thread accepts and answers the upgrade, then stops; after that the benchmark
    writes server frames into the socket and drains the client's frames itself, so the
    whole exchange runs in one process without a second scheduler (steady under
    ``valgrind --tool=callgrind``, whose instruction counts do not depend on the load
    of the machine).
    """

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sock: socket.socket | None = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        conn, _ = self.listener.accept()
        self.listener.close()
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += conn.recv(65536)
        key = next(
            line.split(b":", 1)[1].strip()
            for line in buf.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        conn.setblocking(False)
        self.sock = conn
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )

    def ready(self) -> socket.socket:
        self.thread.join()
        assert self.sock is not None
        return self.sock

    def drain(self) -> None:
        assert self.sock is not None
        try:
            while self.sock.recv(1 << 20):
                pass
        except BlockingIOError:
            pass


_CLOSE_1000 = _frame(b"\x03\xe8", 0x8)


async def _inproc_async_conn(conn: Any, peer: _RawPeer, n: int, pcm: bytes, delta: bytes) -> float:
    from oairt_core.events import InputAudioBufferAppendEvent

    srv = peer.ready()
    cpu0 = time.process_time()
    for _ in range(n):
        await conn.send(InputAudioBufferAppendEvent(audio=pcm))
        srv.send(delta)
        await conn.next_event()
        peer.drain()
    cpu = time.process_time() - cpu0
    srv.send(_CLOSE_1000)
    async for _ev in conn:
        pass
    return cpu


async def _inproc_anyio(n: int, pcm: bytes, delta: bytes) -> float:
    import oairt_anyio

    peer = _RawPeer()
    url = f"ws://127.0.0.1:{peer.port}/v1"
    async with oairt_anyio.open_realtime(api_key="sk-test", model="m", base_url=url) as conn:
        return await _inproc_async_conn(conn, peer, n, pcm, delta)
    raise AssertionError  # pragma: no cover


async def _inproc_trio(n: int, pcm: bytes, delta: bytes) -> float:
    import oairt_trio

    peer = _RawPeer()
    url = f"ws://127.0.0.1:{peer.port}/v1"
    async with oairt_trio.open_realtime(api_key="sk-test", model="m", base_url=url) as conn:
        return await _inproc_async_conn(conn, peer, n, pcm, delta)
    raise AssertionError  # pragma: no cover


async def _inproc_core_protocol(n: int, pcm: bytes, delta: bytes) -> float:
    from oairt_core.connection import Connected, RealtimeConnection
    from oairt_core.events import InputAudioBufferAppendEvent

    peer = _RawPeer()
    core = RealtimeConnection(
        api_key="sk-test", model="m", base_url=f"ws://127.0.0.1:{peer.port}/v1"
    )
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_connection(
        lambda: _CoreProtocol(core), "127.0.0.1", peer.port
    )
    try:
        assert isinstance(await proto.next_event(), Connected)
        srv = peer.ready()
        cpu0 = time.process_time()
        for _ in range(n):
            transport.write(core.send(InputAudioBufferAppendEvent(audio=pcm)))
            srv.send(delta)
            await proto.next_event()
            peer.drain()
        return time.process_time() - cpu0
    finally:
        transport.close()


def inproc(adapter: str, n: int, pcm_bytes: int) -> float:
    """Client CPU µs per round trip (append out, delta in), everything in this process."""
    pcm, delta = _pcm(pcm_bytes), _delta_frame(pcm_bytes)
    if adapter == "core-protocol":
        cpu = asyncio.run(_inproc_core_protocol(n, pcm, delta))
    elif adapter == "trio":
        import trio

        cpu = trio.run(_inproc_trio, n, pcm, delta)
    else:
        import anyio

        backend, options = _anyio_backend(adapter)
        cpu = anyio.run(_inproc_anyio, n, pcm, delta, backend=backend, backend_options=options)
    return cpu / n * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adapter_profile")
    parser.add_argument("what", nargs="?", default="all", choices=["all", "serve", "inproc"])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--pcm-bytes", type=int, default=960, help="960 = 20 ms at 24 kHz")
    parser.add_argument("--only", choices=["core", "adapters"])
    parser.add_argument("--adapters", default=",".join(ADAPTERS))
    parser.add_argument("--profile", metavar="ADAPTER:MODE", help="e.g. core:recv, trio:rtt")
    parser.add_argument("--steps", action="store_true", help="core: time each step of a frame")
    parser.add_argument("--json", action="store_true", help="with --steps: print JSON only")
    parser.add_argument(
        "--baseline", metavar="DIR", help="core steps of the checkout DIR too (DIR/.venv)"
    )
    args = parser.parse_args(argv)
    if args.baseline:
        both = compare_core(args.baseline, args.frames, args.pcm_bytes)
        print(f"{args.frames} frames, {args.pcm_bytes} PCM bytes a frame, thread CPU time")
        for side, steps in both.items():
            where = args.baseline if side == "before" else os.getcwd()
            print(f"\n{side}: {where}\n" + format_steps(steps, side))
        for part in ("recv", "send"):
            b, a = both["before"]["total"][part], both["after"]["total"][part]
            print(f"\ncore {part}: {b:.2f} -> {a:.2f} µs/frame ({b / a:.1f}x less)", end="")
        print()
        return 0
    if args.steps:
        import json

        steps = core_steps(args.frames, args.pcm_bytes)
        print(json.dumps(steps) if args.json else format_steps(steps))
        return 0
    if args.what == "serve":
        asyncio.run(_serve())
        return 0
    if args.what == "inproc":
        for adapter in (a for a in args.adapters.split(",") if a):
            us = inproc(adapter, args.frames, args.pcm_bytes)
            print(f"{adapter}: {us:.1f} µs CPU per round trip (in process)")
        return 0
    if args.profile:
        _profile(args.profile, args.frames, args.pcm_bytes)
        return 0
    print(f"{args.frames} frames, {args.pcm_bytes} PCM bytes a frame")
    if args.only != "adapters":
        core = core_costs(args.frames, args.pcm_bytes)
        print("| core | µs/frame |\n| --- | ---: |")
        for name, us in core.items():
            print(f"| {name} | {us:.2f} |")
    if args.only != "core":
        adapters = _available(tuple(a for a in args.adapters.split(",") if a))
        costs = adapter_costs(args.frames, args.pcm_bytes, adapters)
        print("\n| adapter | " + " | ".join(f"{m} cpu / wall µs" for m in MODES) + " |")
        print("| --- |" + " ---: |" * len(MODES))
        for adapter, row in costs.items():
            cells = " | ".join(f"{row[m][0]:.1f} / {row[m][1]:.1f}" for m in MODES)
            print(f"| {adapter} | {cells} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
