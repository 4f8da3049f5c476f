"""Low-level protocol (full control): typed client events in, typed server events out."""

from __future__ import annotations

from typing import Any

import anyio

import oairt_anyio
from oairt_core.events import SessionUpdatedEvent, SessionUpdateEvent
from oairt_core.models import RealtimeSessionConfig


async def main(base_url: str | None, api_key: str) -> list[str]:
    where: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    seen: list[str] = []
    async with oairt_anyio.open_realtime(api_key=api_key, model="gpt-realtime", **where) as conn:
        session = RealtimeSessionConfig(
            output_modalities=["audio"],
            instructions="You are a helpful assistant.",
        )
        await conn.send(SessionUpdateEvent(session=session))
        async for event in conn:
            print("Received event:", event)
            seen.append(type(event).__name__)
            if isinstance(event, SessionUpdatedEvent):
                break
    return seen


async def run() -> list[str]:
    from _voice_support import endpoint

    async with endpoint() as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
