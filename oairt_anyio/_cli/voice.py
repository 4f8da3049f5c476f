"""``oairt voice``: one spoken turn from a WAV file (or the microphone).

The question is sent as one push-to-talk turn (append, commit, response.create); the
spoken answer is collected, its transcript printed, and the audio written to ``--out``
and/or played with ``--speaker``. ``--mic``/``--speaker`` need the optional
``sounddevice`` package.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import anyio
import numpy as np

from . import CliError, Output, resolve_api_key, resolve_base_url
from ._loop import run as run_loop
from .util import read_wav_pcm16, write_wav_pcm16

__all__ = ["run_voice"]

RATE = 24000
REPLY_TIMEOUT_S = 120.0


def _sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError):
        raise CliError(
            "--mic/--speaker need the sounddevice package: pip install 'oairt[audio-devices]'"
        ) from None
    return sounddevice


def run_voice(args: argparse.Namespace, out: Output) -> int:
    if args.mic and args.input:
        raise CliError("give the question with --in or --mic, not both")
    if not args.mic and not args.input:
        raise CliError("give the question with --in question.wav (or --mic)")
    if not args.output and not args.speaker:
        raise CliError("say where the answer goes: --out reply.wav and/or --speaker")
    sd = _sounddevice() if (args.mic or args.speaker) else None
    url = resolve_base_url(args)
    key = resolve_api_key(args, url)
    if key is None:
        raise CliError("no API key: set OPENAI_API_KEY or pass --api-key")
    if args.mic:
        question = _record(sd, out)
    else:
        question = read_wav_pcm16(args.input)
    if len(question) < RATE // 10 * 2:  # 100 ms
        raise CliError("the question is too short to be speech")
    reply = run_loop(_turn, args, out, url, key, question)
    if args.output:
        write_wav_pcm16(args.output, reply)
        out.event(
            "saved",
            f"wrote {args.output} ({len(reply) * 1000 // (2 * RATE)} ms)",
            file=args.output,
            ms=len(reply) * 1000 // (2 * RATE),
        )
    if sd is not None and args.speaker and reply:
        out.status("playing the answer ...")
        sd.play(np.frombuffer(reply, dtype="<i2"), RATE)
        sd.wait()
    return 0


def _record(sd: Any, out: Output) -> bytes:
    """Record from the default microphone until Enter is pressed."""
    chunks: list[Any] = []

    def callback(indata: Any, frames: int, when: Any, status: Any) -> None:
        chunks.append(indata.copy())

    out.status("recording: speak, then press Enter")
    with sd.InputStream(samplerate=RATE, channels=1, dtype="int16", callback=callback):
        sys.stdin.readline()
    if not chunks:
        return b""
    return bytes(np.concatenate(chunks).astype("<i2").tobytes())


async def _turn(
    args: argparse.Namespace, out: Output, url: str, key: Any, question: bytes
) -> bytes:
    from oairt_anyio import open_voice
    from oairt_core.voice import (
        AudioDelta,
        Error,
        InputTranscriptDone,
        RealtimeBuilder,
        ResponseDone,
        TranscriptDone,
    )

    builder = (
        RealtimeBuilder()
        .api_key(key)
        .model(args.model)
        .voice_session()
        .push_to_talk()
        .transcription("gpt-4o-transcribe")
    )
    if args.voice:
        builder = builder.voice(args.voice)
    pcm: list[np.ndarray[Any, np.dtype[np.int16]]] = []
    out.status(f"connecting to {url} (model {args.model}) ...")
    async with open_voice(builder.build(), base_url=url) as session:
        sent_at = time.monotonic()
        await session.send_pcm16(question)
        await session.commit()
        out.event(
            "you",
            f"you: ({len(question) * 1000 // (2 * RATE)} ms of speech sent)",
            ms=len(question) * 1000 // (2 * RATE),
        )
        first: float | None = None
        with anyio.fail_after(REPLY_TIMEOUT_S):
            async for event in session:
                if isinstance(event, InputTranscriptDone):
                    out.event(
                        "transcript",
                        f"you (transcribed): {event.text}",
                        role="user",
                        text=event.text,
                    )
                elif isinstance(event, AudioDelta):
                    if first is None:
                        first = time.monotonic()
                        out.status(f"first audio after {(first - sent_at) * 1000:.0f} ms")
                    pcm.append(np.asarray(event.pcm, dtype=np.int16))
                elif isinstance(event, TranscriptDone):
                    out.event(
                        "transcript", f"assistant: {event.text}", role="assistant", text=event.text
                    )
                elif isinstance(event, Error):
                    raise CliError(f"the session reported an error: {event.message}")
                elif isinstance(event, ResponseDone):
                    if event.status != "completed":
                        raise CliError(f"the response ended as {event.status}")
                    break
            else:
                raise CliError("the connection closed before the answer was complete")
    if not pcm:
        return b""
    return bytes(np.concatenate(pcm).astype("<i2").tobytes())
