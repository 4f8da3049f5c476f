"""Sending microphone audio: numpy int16 or float32 samples, or PCM16 bytes."""

from __future__ import annotations

import anyio
import numpy as np

from oairt_anyio import RealtimeSession, open_voice
from oairt_core import audio
from oairt_core.testing import Script
from oairt_core.voice import Realtime, TranscriptDone


async def demo(session: RealtimeSession) -> None:
    pcm_samples = np.zeros(2400, dtype=np.int16)  # 100 ms @ 24 kHz
    await session.send_pcm16(pcm_samples)


async def main(base_url: str | None, api_key: str) -> str:
    # Push-to-talk: no VAD; the app decides when the user's turn ends.
    config = Realtime.builder().api_key(api_key).voice_session().push_to_talk().build()
    async with open_voice(config, base_url=base_url) as session:
        await demo(session)
        await session.send_pcm16(audio.synth_speech(400).astype(np.float32) / 32768)
        await session.send_pcm16(audio.pcm16_to_bytes(audio.silence(100)))
        await session.commit()  # end of the user's turn: the model answers
        async for event in session:
            if isinstance(event, TranscriptDone):
                print("assistant:", event.text)
                return event.text
    return ""


async def run() -> str:
    from _voice_support import endpoint

    async with endpoint(Script().say("I heard you.")) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
