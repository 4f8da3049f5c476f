"""Barge-in: the user talks over the assistant; the model forgets what was not heard.

``session.barge_in()`` cancels the response if it is still running, truncates the
assistant's audio at what was played (``mark_played``), drops queued audio, and
returns the :class:`Interrupted` event with the cut point. With VAD and
``auto_barge_in(True)`` this happens on its own when the user starts speaking.
"""

from __future__ import annotations

import anyio

from oairt_anyio import RealtimeSession, open_voice
from oairt_core.testing import Script
from oairt_core.testing.script import say
from oairt_core.voice import Interrupted, Realtime


async def demo(session: RealtimeSession) -> Interrupted | None:
    # Manually barge in (cancel the active response + truncate what was not heard).
    return await session.barge_in()


async def main(base_url: str | None, api_key: str) -> Interrupted | None:
    config = Realtime.builder().api_key(api_key).voice_session().push_to_talk().build()
    async with open_voice(config, base_url=base_url) as session:
        await session.send_text("Tell me a long story.")
        played_ms = 0.0
        while played_ms < 300:  # "play" 300 ms of the reply
            chunk = await session.next_audio_chunk()
            if chunk is None:
                return None
            played_ms += chunk.duration_ms
            session.mark_played(chunk.item_id, played_ms)
        interrupted = await demo(session)
        print(interrupted)
        return interrupted


async def run() -> Interrupted | None:
    from _voice_support import endpoint

    script = Script().reply(say("Once upon a time, in a land far away...", duration_ms=4000))
    async with endpoint(script, pacing="realtime") as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
