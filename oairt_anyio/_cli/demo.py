"""``oairt demo``: a whole voice exchange against the embedded fake server (or the real API).

What happens, in real time:

1. "you" speak: the question (``--in`` WAV, or synthesised speech) is streamed like a
   microphone would, 20 ms at a time, followed by silence; server VAD finds the turn.
2. The assistant answers aloud (transcript printed) and calls ``get_weather``, a typed tool
   whose argument is a ``msgspec.Struct``; the session runs it and sends the result back.
3. The assistant's second, long reply plays on a simulated speaker that reports what it
   has played (``mark_played``); half-way "you" talk over it: server VAD fires, the session
   cancels the reply and truncates it at the exact cut point (``Interrupted``).
4. The assistant answers the interruption; the played audio goes to ``--out``.

Without ``OPENAI_API_KEY`` (or with ``--offline``) the fake server on 127.0.0.1 plays the
model with a script; with a key (or ``--live``) the same code talks to the real API.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import msgspec
import numpy as np

from . import CliError, Output, resolve_api_key, resolve_base_url
from ._loop import run as run_loop
from .util import read_wav_pcm16, write_wav_pcm16

__all__ = ["WeatherArgs", "get_weather", "run_demo"]

RATE = 24000
FRAME_MS = 20
FRAME_SAMPLES = RATE * FRAME_MS // 1000
BARGE_IN_AFTER_MS = 900  # how much of the long reply "you" listen to before talking over it
TIME_LIMIT_S = 45.0  # the real API can be slow; the fake run takes about 8 s

QUESTION = "What's the weather like in Paris today?"
INTERRUPTION = "Thanks, that's all I needed."
FIRST_REPLY = "Let me check the weather in Paris for you."
LONG_REPLY = (
    "It is sunny in Paris with twenty two degrees, a light breeze from the west, and it "
    "should stay clear all afternoon, so it is a perfect day for a walk along the Seine, "
    "and tomorrow looks just as nice."
)
LAST_REPLY = "Of course. Have a lovely day!"
INSTRUCTIONS = (
    "You are a friendly voice assistant. When asked about the weather, first say you will "
    "check, then call get_weather, then describe the result in two or three long sentences."
)


class WeatherArgs(msgspec.Struct):
    """Arguments of the demo's typed tool (the JSON schema comes from this class)."""

    city: str


def get_weather(args: WeatherArgs) -> dict[str, Any]:
    """Current weather for a city."""
    return {"city": args.city, "forecast": "sunny", "temperature_c": 22}


def _fake_script() -> Any:
    """What the fake model says and does, in order."""
    from oairt_core.testing import Script
    from oairt_core.testing.script import call_function, say

    script = Script()
    script.reply(say(FIRST_REPLY), call_function("get_weather", '{"city": "Paris"}'))
    script.say(LONG_REPLY)
    script.say(LAST_REPLY)
    script.transcribe(QUESTION)
    script.transcribe(INTERRUPTION)
    return script


def _speech(pcm: bytes | None, ms: int, seed: int) -> np.ndarray[Any, np.dtype[np.int16]]:
    """Speech followed by enough silence for server VAD to end the turn."""
    from oairt_core import audio

    voiced = (
        np.frombuffer(pcm, dtype="<i2").astype(np.int16)
        if pcm is not None
        else np.asarray(audio.synth_speech(ms, seed=seed), dtype=np.int16)
    )
    return np.concatenate(
        [np.asarray(audio.silence(100), dtype=np.int16), voiced, audio.silence(900)]
    ).astype(np.int16)


@dataclass
class _Speaker:
    """A simulated loudspeaker: plays queued audio in real time and says how far it got."""

    played: list[np.ndarray[Any, np.dtype[np.int16]]] = field(default_factory=list)
    queue: list[tuple[str, np.ndarray[Any, np.dtype[np.int16]]]] = field(default_factory=list)
    played_ms: dict[str, float] = field(default_factory=dict)
    items: list[str] = field(default_factory=list)

    def push(self, item_id: str, pcm: np.ndarray[Any, np.dtype[np.int16]]) -> None:
        if item_id not in self.items:
            self.items.append(item_id)
        self.queue.append((item_id, pcm))

    def stop(self) -> float:
        """Drop what was not played (barge-in); returns the milliseconds dropped."""
        dropped = sum(len(p) for _, p in self.queue) * 1000 / RATE
        self.queue.clear()
        return dropped

    def tick(self) -> tuple[str, float] | None:
        """Play up to 20 ms; returns (item, ms played of it so far)."""
        need = FRAME_SAMPLES
        last: tuple[str, float] | None = None
        while need and self.queue:
            item_id, pcm = self.queue[0]
            take = pcm[:need]
            self.played.append(take)
            need -= len(take)
            if len(take) == len(pcm):
                self.queue.pop(0)
            else:
                self.queue[0] = (item_id, pcm[len(take) :])
            ms = self.played_ms.get(item_id, 0.0) + len(take) * 1000 / RATE
            self.played_ms[item_id] = ms
            last = (item_id, ms)
        return last

    def audio(self) -> bytes:
        if not self.played:
            return b""
        return bytes(np.concatenate(self.played).astype("<i2").tobytes())


def run_demo(args: argparse.Namespace, out: Output) -> int:
    live = bool(args.live) or (bool(os.environ.get("OPENAI_API_KEY")) and not args.offline)
    if args.live and args.offline:
        raise CliError("--live and --offline exclude each other")
    question = read_wav_pcm16(args.input) if args.input else None
    if question is not None and len(question) < RATE * 2 // 5:  # 200 ms
        raise CliError(f"{args.input}: too short to be speech")
    return run_loop(_demo, args, out, live, question)


async def _demo(args: argparse.Namespace, out: Output, live: bool, question: bytes | None) -> int:
    started = time.monotonic()
    if live:
        key = resolve_api_key(args)
        if key is None:
            raise CliError("--live needs an API key: set OPENAI_API_KEY or pass --api-key")
        url = resolve_base_url(args)
        out.status(f"talking to the real API at {url} (model {args.model})")
        try:
            await _exchange(args, out, url, key.reveal(), question, started, live=True)
        except TimeoutError:
            raise CliError(f"the exchange did not finish within {TIME_LIMIT_S:.0f} s") from None
        return 0
    from oairt_anyio.testing import run_fake_server
    from oairt_core.testing import FAKE_API_KEY

    out.status("starting the fake Realtime server on 127.0.0.1 ...")
    async with run_fake_server(
        script=_fake_script(), api_keys={FAKE_API_KEY}, pacing="realtime"
    ) as server:
        out.event("server", f"fake Realtime server listening on {server.url}", url=server.url)
        try:
            await _exchange(args, out, server.url, FAKE_API_KEY, question, started, live=False)
        except TimeoutError:
            raise CliError(f"the exchange did not finish within {TIME_LIMIT_S:.0f} s") from None
    return 0


async def _exchange(
    args: argparse.Namespace,
    out: Output,
    url: str,
    key: str,
    question: bytes | None,
    started: float,
    *,
    live: bool,
) -> None:
    from oairt_anyio import open_voice
    from oairt_core.voice import (
        AudioDelta,
        Error,
        InputTranscriptDone,
        Interrupted,
        RealtimeBuilder,
        ResponseDone,
        SessionReady,
        SpeechStarted,
        SpeechStopped,
        ToolCall,
        ToolResult,
        TranscriptDelta,
        TranscriptDone,
    )

    def elapsed() -> str:
        return f"[{time.monotonic() - started:5.2f}s]"

    config = (
        RealtimeBuilder()
        .api_key(key)
        .model(args.model)
        .voice_session()
        .voice("marin")
        .instructions(INSTRUCTIONS)
        .vad_server_default()
        .transcription("gpt-4o-transcribe")
        .tool_desc("get_weather", "Current weather for a city.", get_weather)
        .auto_barge_in(True)
        .build()
    )
    speaker = _Speaker()
    first_question = _speech(question, 1500, seed=1)
    interruption = _speech(None, 800, seed=2)
    speech_end: dict[str, float] = {}  # "you" stopped talking at (monotonic)
    first_audio: dict[str, float] = {}
    barge = anyio.Event()
    done = anyio.Event()
    state: dict[str, Any] = {"responses": 0, "interrupted": None, "audio_items": []}
    partial: dict[str, str] = {}  # assistant transcript so far, per item

    with anyio.fail_after(TIME_LIMIT_S):
        async with open_voice(config, base_url=url) as session, anyio.create_task_group() as tg:

            async def microphone(pcm: np.ndarray[Any, np.dtype[np.int16]], key: str) -> None:
                """Stream like a microphone: 20 ms every 20 ms, on an absolute schedule."""
                voiced_end = len(pcm) - 900 * RATE // 1000
                t0 = anyio.current_time()
                for k, start in enumerate(range(0, len(pcm), FRAME_SAMPLES)):
                    await anyio.sleep_until(t0 + k * FRAME_MS / 1000)
                    await session.send_pcm16(pcm[start : start + FRAME_SAMPLES])
                    if start <= voiced_end < start + FRAME_SAMPLES:
                        speech_end[key] = time.monotonic()

            async def speaker_task() -> None:
                t0 = anyio.current_time()
                k = 0
                while True:
                    k += 1
                    await anyio.sleep_until(t0 + k * FRAME_MS / 1000)
                    played = speaker.tick()
                    if played is None:
                        continue
                    item_id, ms = played
                    session.mark_played(item_id, ms)
                    items = state["audio_items"]
                    if (
                        len(items) >= 2
                        and item_id == items[1]
                        and ms >= BARGE_IN_AFTER_MS
                        and not barge.is_set()
                    ):
                        barge.set()

            async def talk_over() -> None:
                await barge.wait()
                out.event(
                    "you",
                    f"{elapsed()} you: (talking over the assistant) ...",
                    speaking=True,
                    barge_in=True,
                )
                await microphone(interruption, "interruption")

            out.event(
                "you",
                f"{elapsed()} you: (speaking, {len(first_question) * 1000 // RATE} ms of audio"
                f"{' from ' + args.input if args.input else ', synthesised'}) ...",
                speaking=True,
            )
            tg.start_soon(speaker_task)
            tg.start_soon(microphone, first_question, "question")
            tg.start_soon(talk_over)

            async for event in session:
                if isinstance(event, SessionReady):
                    out.status(f"{elapsed()} session ready")
                elif isinstance(event, SpeechStarted):
                    out.event(
                        "vad",
                        f"{elapsed()} server VAD: speech started at {event.audio_start_ms} ms",
                        speech="started",
                        audio_start_ms=event.audio_start_ms,
                    )
                elif isinstance(event, SpeechStopped):
                    out.event(
                        "vad",
                        f"{elapsed()} server VAD: speech stopped at {event.audio_end_ms} ms",
                        speech="stopped",
                        audio_end_ms=event.audio_end_ms,
                    )
                elif isinstance(event, InputTranscriptDone):
                    out.event(
                        "transcript",
                        f"{elapsed()} you (transcribed): {event.text}",
                        role="user",
                        text=event.text,
                    )
                elif isinstance(event, AudioDelta):
                    if event.item_id not in state["audio_items"]:
                        state["audio_items"].append(event.item_id)
                        _first_audio(out, elapsed(), speech_end, first_audio, event.item_id)
                    speaker.push(event.item_id, event.pcm)
                elif isinstance(event, TranscriptDelta):
                    partial[event.item_id] = partial.get(event.item_id, "") + event.delta
                elif isinstance(event, TranscriptDone):
                    partial.pop(event.item_id, None)
                    out.event(
                        "transcript",
                        f"{elapsed()} assistant: {event.text}",
                        role="assistant",
                        text=event.text,
                        item_id=event.item_id,
                    )
                elif isinstance(event, ToolCall):
                    out.event(
                        "tool_call",
                        f"{elapsed()} tool call: {event.name}({event.arguments!r})",
                        name=event.name,
                        arguments=event.raw_arguments,
                        call_id=event.call_id,
                    )
                elif isinstance(event, ToolResult):
                    out.event(
                        "tool_result",
                        f"{elapsed()} tool result: {event.output}",
                        name=event.name,
                        output=event.output,
                        error=event.is_error,
                    )
                elif isinstance(event, Interrupted):
                    dropped = speaker.stop()
                    state["interrupted"] = event
                    heard = event.audio_end_ms
                    said = partial.pop(event.item_id or "", "")
                    if said:
                        out.event(
                            "transcript",
                            f"{elapsed()} assistant (cut off): {_shorten(said)}",
                            role="assistant",
                            text=said,
                            item_id=event.item_id,
                            interrupted=True,
                        )
                    out.event(
                        "barge_in",
                        f"{elapsed()} barge-in: reply cut at {heard} ms "
                        f"(what you heard; {dropped:.0f} ms of queued audio dropped), "
                        f"response {'cancelled' if event.cancelled else 'already finished'}",
                        reason=event.reason,
                        item_id=event.item_id,
                        audio_end_ms=heard,
                        cancelled=event.cancelled,
                        dropped_ms=round(dropped),
                    )
                elif isinstance(event, ResponseDone):
                    state["responses"] += 1
                    out.status(f"{elapsed()} response {event.status}")
                    if state["interrupted"] is not None and event.status == "completed":
                        done.set()
                        break
                    if (
                        live
                        and event.status == "completed"
                        and len(state["audio_items"]) >= 2
                        and not barge.is_set()
                    ):
                        # A real model may answer more briefly than the barge-in point.
                        out.event(
                            "note",
                            f"{elapsed()} the reply ended before the barge-in point: "
                            "no barge-in this time",
                        )
                        done.set()
                        break
                elif isinstance(event, Error):
                    raise CliError(f"the session reported an error: {event.message}")
            # Let the speaker finish the last reply before writing the file.
            with anyio.move_on_after(5):
                while speaker.queue:
                    await anyio.sleep(FRAME_MS / 1000)
            tg.cancel_scope.cancel()

    if not done.is_set():
        raise CliError("the exchange ended before the interruption was answered")
    pcm = speaker.audio()
    write_wav_pcm16(args.output, pcm)
    out.event(
        "saved",
        f"wrote {args.output} ({len(pcm) * 1000 // (2 * RATE)} ms of assistant audio, as played)",
        file=args.output,
        ms=len(pcm) * 1000 // (2 * RATE),
    )
    out.event(
        "done",
        f"done in {time.monotonic() - started:.1f} s"
        + ("" if live else " (fake server; set OPENAI_API_KEY to talk to the real API)"),
        seconds=round(time.monotonic() - started, 2),
        live=live,
    )


def _shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _first_audio(
    out: Output,
    stamp: str,
    speech_end: dict[str, float],
    first_audio: dict[str, float],
    item_id: str,
) -> None:
    now = time.monotonic()
    first_audio[item_id] = now
    key = "question" if len(first_audio) == 1 else None
    if key and key in speech_end:
        latency_ms = (now - speech_end[key]) * 1000
        out.event(
            "latency",
            f"{stamp} first audio byte {latency_ms:.0f} ms after you stopped speaking "
            "(includes the server VAD's silence window)",
            end_of_speech_to_first_audio_ms=round(latency_ms, 1),
        )
