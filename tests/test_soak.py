"""A bounded soak on loopback: hundreds of concurrent voice sessions against the fake server.

Every session streams input audio, commits, asks for a response and reads the reply
audio, turn after turn, for a fixed time. At the end, for every session:

* input audio: the bytes the client appended and the bytes the server received match
  (count and sha256);
* output audio: the bytes the server sent and the bytes the client got match;
* events: the server's sent events and the client's received events match one to one,
  in order (a sha256 over the ``(type, event_id)`` sequence, plus the count).

Client-side memory (the fake server's own bookkeeping excluded) must stay flat: the
traced allocations in the second half of the run grow by less than a bound.

Bounded: ``SESSIONS`` sessions for ``SECONDS`` seconds, then each finishes its turn
and closes. Tunable through ``OAIRT_SOAK_SESSIONS`` / ``OAIRT_SOAK_SECONDS``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import sys
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

import oairt_anyio
from oairt_core.events import (
    InputAudioBufferAppendEvent,
    InputAudioBufferCommitEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    ResponseOutputAudioDeltaEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from oairt_core.models import AudioConfig, AudioInputConfig, RealtimeSessionConfig

pytestmark = pytest.mark.anyio

SESSIONS = int(os.environ.get("OAIRT_SOAK_SESSIONS", "200"))
SECONDS = float(os.environ.get("OAIRT_SOAK_SECONDS", "1"))
KEY = "sk-test-soak-0123456789abcdef"
CHUNK = 960  # 20 ms of PCM16 at 24 kHz
CHUNKS_PER_TURN = 6  # 120 ms, over the fake server's 100 ms commit minimum
MEMORY_GROWTH_BOUND = 1024 * 1024


@dataclass
class Tally:
    audio_in = None  # type: Any
    audio_out = None  # type: Any
    events = None  # type: Any
    audio_in_bytes: int = 0
    audio_out_bytes: int = 0
    event_count: int = 0
    turns: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.audio_in = hashlib.sha256()
        self.audio_out = hashlib.sha256()
        self.events = hashlib.sha256()


def wire_type(event: object) -> str:
    return str(type(event).__struct_config__.tag)  # type: ignore[attr-defined]


class Barrier:
    """All sessions stop here (between turns, nothing in flight) until released."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.all_here = anyio.Event()
        self.release = anyio.Event()

    async def wait(self) -> None:
        self.arrived += 1
        if self.arrived == self.parties:
            self.all_here.set()
        await self.release.wait()


async def session(
    url: str,
    index: int,
    tally: Tally,
    clock: dict[str, float],
    barriers: tuple[Barrier, Barrier, Barrier],
) -> None:
    rng = random.Random(index)
    manual = RealtimeSessionConfig(audio=AudioConfig(input=AudioInputConfig(turn_detection=None)))
    async with oairt_anyio.open_realtime(api_key=KEY, model="gpt-realtime", base_url=url) as conn:

        def seen(ev: object) -> None:
            tally.event_count += 1
            tally.events.update(f"{wire_type(ev)}|{getattr(ev, 'event_id', '')}\n".encode())
            if isinstance(ev, ResponseOutputAudioDeltaEvent):
                tally.audio_out.update(ev.delta)
                tally.audio_out_bytes += len(ev.delta)

        await conn.send(SessionUpdateEvent(session=manual))
        async for ev in conn:
            seen(ev)
            if isinstance(ev, SessionUpdatedEvent):
                break
        await barriers[0].wait()  # everyone connected and configured: the clock starts
        deadline, midpoint = clock["deadline"], clock["midpoint"]
        mid_passed = False
        while anyio.current_time() < deadline:
            if not mid_passed and anyio.current_time() >= midpoint:
                mid_passed = True
                await barriers[1].wait()
            for _ in range(CHUNKS_PER_TURN):
                audio = rng.randbytes(CHUNK)
                await conn.send(InputAudioBufferAppendEvent(audio=audio))
                tally.audio_in.update(audio)
                tally.audio_in_bytes += len(audio)
            await conn.send(InputAudioBufferCommitEvent())
            await conn.send(ResponseCreateEvent())
            async for ev in conn:
                seen(ev)
                if isinstance(ev, ResponseDoneEvent):
                    if ev.response.status != "completed":
                        tally.errors.append(f"response {ev.response.status}")
                    break
            tally.turns += 1
        if not mid_passed:
            await barriers[1].wait()
        await barriers[2].wait()  # still connected, nothing in flight


async def read_line(stream: BufferedByteReceiveStream) -> Any:
    return json.loads(await stream.receive_until(b"\n", 16 * 1024 * 1024))


async def test_soak_hundreds_of_voice_sessions() -> None:
    tallies = [Tally() for _ in range(SESSIONS)]
    memory: dict[str, int] = {}
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "tests.support.soak_server", str(SESSIONS * 40)]
    with anyio.fail_after(SECONDS + 60):
        async with await anyio.open_process(command, cwd=root) as process:
            assert process.stdout is not None and process.stdin is not None
            out = BufferedByteReceiveStream(process.stdout)
            port = (await read_line(out))["port"]
            url = f"ws://127.0.0.1:{port}/v1"
            clock: dict[str, float] = {}
            try:
                barriers = (Barrier(SESSIONS), Barrier(SESSIONS), Barrier(SESSIONS))

                async def monitor() -> None:
                    # Client memory only (the server lives in the other process). Measured
                    # when every session is between turns with nothing in flight: first at
                    # the midpoint, then at the end before the connections close.
                    await barriers[0].all_here.wait()
                    start = clock["start"] = anyio.current_time()
                    clock["midpoint"] = start + SECONDS / 2
                    clock["deadline"] = start + SECONDS
                    barriers[0].release.set()
                    await anyio.sleep(SECONDS / 4)
                    tracemalloc.start()
                    for name, barrier in zip(("half", "end"), barriers[1:], strict=True):
                        await barrier.all_here.wait()
                        gc.collect()
                        memory[name] = tracemalloc.get_traced_memory()[0]
                        barrier.release.set()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(monitor)
                    for i in range(SESSIONS):
                        tg.start_soon(session, url, i, tallies[i], clock, barriers)
            finally:
                tracemalloc.stop()
            elapsed = anyio.current_time() - clock["start"]
            await process.stdin.send(b"report\n")
            report = await read_line(out)
            await process.wait()
    # Sessions and server connections are matched by content: the input audio is unique.
    by_input = {r["audio_in"]: r for r in report}
    assert len(report) == SESSIONS and len(by_input) == SESSIONS
    total_turns = sum(t.turns for t in tallies)
    for i, client in enumerate(tallies):
        assert client.errors == [], (i, client.errors)
        assert client.turns >= 1, i
        srv = by_input.get(client.audio_in.hexdigest())
        assert srv is not None, f"session {i}: no server connection saw its input audio"
        assert srv["violations"] == []
        assert srv["audio_in_bytes"] == client.audio_in_bytes
        assert client.audio_in_bytes == client.turns * CHUNK * CHUNKS_PER_TURN
        assert (srv["audio_out_bytes"], srv["audio_out"]) == (
            client.audio_out_bytes,
            client.audio_out.hexdigest(),
        ), f"session {i}: output audio differs"
        assert (srv["event_count"], srv["events"]) == (
            client.event_count,
            client.events.hexdigest(),
        ), f"session {i}: events differ (count, order or ids)"
    growth = memory["end"] - memory["half"]
    print(
        f"\nsoak: {SESSIONS} sessions, {elapsed:.1f} s, {total_turns} turns, "
        f"{sum(t.event_count for t in tallies)} events, "
        f"{sum(t.audio_in_bytes for t in tallies)} B audio in, "
        f"{sum(t.audio_out_bytes for t in tallies)} B audio out, "
        f"client memory half={memory['half']} end={memory['end']} growth={growth} B"
    )
    assert growth < MEMORY_GROWTH_BOUND
