"""Quickstart (voice-first): speak to the model, play its voice, print its words.

Run: ``python docs/examples/quickstart.py`` (a fake server answers when no
``OPENAI_API_KEY`` is set; it hears the synthesised "speech" below).
"""

from __future__ import annotations

import anyio
import numpy as np

from oairt_anyio import Realtime
from oairt_core import audio
from oairt_core.testing import Script
from oairt_core.voice import AudioDelta, ResponseDone, TranscriptDone


async def main(base_url: str | None, api_key: str) -> list[str]:
    said: list[str] = []
    async with (
        Realtime.builder()
        .api_key(api_key)
        .model("gpt-realtime")
        .voice_session()
        .voice("alloy")
        .vad_server_default()
        .transcription("gpt-4o-transcribe")
        .auto_barge_in(True)
        .connect_ws(base_url=base_url) as session
    ):
        # The "microphone": half a second of speech-like sound, then silence, so VAD
        # ends the user's turn and the model answers.
        mic = np.concatenate([audio.synth_speech(600), audio.silence(800)])
        await session.send_pcm16(mic)
        async for event in session:
            if isinstance(event, AudioDelta):
                print(f"audio: {event.pcm.nbytes} bytes")  # play PCM16 @ 24 kHz here
            elif isinstance(event, TranscriptDone):
                print(f"assistant: {event.transcript}")
                said.append(event.transcript)
            elif isinstance(event, ResponseDone):
                break
    return said


async def run() -> list[str]:
    from _voice_support import endpoint

    async with endpoint(Script().say("Hi! Nice to hear you.")) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
