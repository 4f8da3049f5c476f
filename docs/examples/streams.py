"""Convenience streams: the next audio chunk, the next finished transcript."""

from __future__ import annotations

import anyio

from oairt_anyio import RealtimeSession, open_voice
from oairt_core.testing import Script
from oairt_core.voice import Realtime


async def demo(session: RealtimeSession) -> tuple[int, str]:
    nbytes, text = 0, ""
    if (chunk := await session.next_audio_chunk()) is not None:
        print(f"audio bytes: {chunk.pcm.nbytes}")
        nbytes = chunk.pcm.nbytes
    if (tx := await session.next_transcript()) is not None:
        print(f"transcript: {tx.text}")
        text = tx.text
    return nbytes, text


async def main(base_url: str | None, api_key: str) -> tuple[int, str]:
    config = Realtime.builder().api_key(api_key).voice_session().push_to_talk().build()
    async with open_voice(config, base_url=base_url) as session:
        await session.send_text("Say hello.")
        return await demo(session)


async def run() -> tuple[int, str]:
    from _voice_support import endpoint

    async with endpoint(Script().say("Hello from the stream.")) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
