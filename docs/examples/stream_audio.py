"""Streaming microphone audio from an async iterable, with backpressure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import numpy as np
import numpy.typing as npt

from oairt_anyio import RealtimeSession, open_voice
from oairt_core import audio
from oairt_core.testing import Script
from oairt_core.voice import Realtime, SpeechStopped


async def demo(session: RealtimeSession) -> None:
    chunks = [np.zeros(480, dtype=np.int16), np.ones(480, dtype=np.int16)]

    async def stream() -> AsyncIterator[npt.NDArray[np.int16]]:
        for chunk in chunks:
            yield chunk

    # Each chunk is sent before the next is pulled; returns when the stream ends.
    await session.stream_audio_pcm16(stream())


async def microphone() -> AsyncIterator[npt.NDArray[np.int16]]:
    """A stand-in microphone: 20 ms chunks of speech, then silence."""
    pcm = np.concatenate([audio.silence(100), audio.synth_speech(600), audio.silence(800)])
    for chunk in audio.chunk_pcm16(pcm, ms=20):
        yield chunk


async def main(base_url: str | None, api_key: str) -> int:
    config = Realtime.builder().api_key(api_key).voice_session().vad_server_default().build()
    async with open_voice(config, base_url=base_url) as session:
        await demo(session)
        await session.stream_audio_pcm16(microphone())
        async for event in session:
            if isinstance(event, SpeechStopped):
                print("the user stopped speaking at", event.audio_end_ms, "ms")
                return event.audio_end_ms
    return -1


async def run() -> int:
    from _voice_support import endpoint

    async with endpoint(Script()) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
