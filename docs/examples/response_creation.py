"""Response creation (low level): ``response.create`` with its own input items."""

from __future__ import annotations

from typing import Any

import anyio

import oairt_anyio
from oairt_core.events import ResponseCreateEvent, ResponseDoneEvent, ResponseOutputTextDoneEvent
from oairt_core.models import InputTextContent, MessageItem, ResponseCreateParams
from oairt_core.testing import Script


async def main(base_url: str | None, api_key: str) -> str:
    response = ResponseCreateParams(
        output_modalities=["text"],
        input=[MessageItem(role="user", content=[InputTextContent(text="Hello")])],
    )
    where: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    text = ""
    async with oairt_anyio.open_realtime(api_key=api_key, model="gpt-realtime", **where) as conn:
        await conn.send(ResponseCreateEvent(response=response))
        async for event in conn:
            if isinstance(event, ResponseOutputTextDoneEvent):
                text = event.text
                print("assistant:", text)
            elif isinstance(event, ResponseDoneEvent):
                break
    return text


async def run() -> str:
    from _voice_support import endpoint

    async with endpoint(Script().text("Hello! How can I help?")) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
