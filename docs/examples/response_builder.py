"""Response builder (high level): a one-off text response with its own input."""

from __future__ import annotations

import anyio

from oairt_anyio import RealtimeSession, open_voice
from oairt_core.testing import Script
from oairt_core.voice import Realtime, ResponseBuilder


async def demo(session: RealtimeSession) -> None:
    await (
        ResponseBuilder()
        .output_text()
        .instructions("Be concise.")
        .input_text("Summarize this.")
        .send(session)
    )


async def main(base_url: str | None, api_key: str) -> str:
    config = Realtime.builder().api_key(api_key).voice_session().push_to_talk().build()
    async with open_voice(config, base_url=base_url) as session:
        await demo(session)
        # Out of band: outside the conversation, told apart by metadata.
        await (
            ResponseBuilder()
            .output_text()
            .out_of_band()
            .metadata(purpose="classify")
            .input_text("Is this a question?")
            .send(session)
        )
        tx = await session.next_transcript()
        summary = tx.text if tx is not None else ""
        print("summary:", summary)
        return summary


async def run() -> str:
    from _voice_support import endpoint

    async with endpoint(Script().text("A short summary.").text("yes")) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
