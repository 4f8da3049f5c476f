"""MCP approval flow: answer ``mcp_approval_request`` items.

High level: give the voice session an approval callback (sync or async,
returning ``bool`` or ``(bool, reason)``), or handle ``McpApprovalRequest``
events with ``session.approve(request)`` / ``session.deny(request, reason)``.
Low level (as in the seed): send an ``mcp_approval_response`` item yourself.
"""

from __future__ import annotations

from typing import Any

import anyio

import oairt_anyio
from oairt_anyio import open_voice
from oairt_core.events import (
    ConversationItemCreateEvent,
    ResponseCreateEvent,
    ResponseMcpCallCompletedEvent,
    ResponseOutputItemDoneEvent,
)
from oairt_core.models import McpApprovalRequestItem, McpApprovalResponseItem, McpTool
from oairt_core.testing import Script
from oairt_core.testing.script import mcp_approval_request
from oairt_core.voice import McpApprovalRequest, McpCall, Realtime, TranscriptDone


def allow_weather(request: McpApprovalRequest) -> tuple[bool, str | None]:
    if request.server_label == "weather":
        return True, None
    return False, "only the weather server is allowed"


async def main(base_url: str | None, api_key: str) -> list[str]:
    """High level: the callback answers, the session continues the response."""
    config = (
        Realtime.builder()
        .api_key(api_key)
        .voice_session()
        .push_to_talk()
        .mcp("weather", server_url="https://mcp.example.com", require_approval="always")
        .mcp_approval(allow_weather)
        .build()
    )
    log: list[str] = []
    async with open_voice(config, base_url=base_url) as session:
        await session.send_text("What's the forecast for Paris?")
        async for event in session:
            if isinstance(event, McpApprovalRequest):
                log.append(f"approval asked for {event.name}({event.arguments})")
            elif isinstance(event, McpCall) and event.status == "done":
                log.append(f"mcp call output: {event.output}")
            elif isinstance(event, TranscriptDone):
                log.append(f"assistant: {event.text}")
                break
    print("\n".join(log))
    return log


async def low_level(base_url: str | None, api_key: str) -> list[str]:
    """Low level: approve with an ``mcp_approval_response`` item, then ask to continue."""
    where: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    seen: list[str] = []
    async with oairt_anyio.open_realtime(api_key=api_key, model="gpt-realtime", **where) as conn:
        await conn.send(ResponseCreateEvent())
        async for event in conn:
            seen.append(type(event).__name__)
            if isinstance(event, ResponseOutputItemDoneEvent) and isinstance(
                event.item, McpApprovalRequestItem
            ):
                response = McpApprovalResponseItem(
                    id="item_resp_1",
                    approval_request_id=event.item.id,
                    approve=True,
                )
                await conn.send(ConversationItemCreateEvent(item=response))
                await conn.send(ResponseCreateEvent())
            elif isinstance(event, ResponseMcpCallCompletedEvent):
                break
    return seen


async def run() -> list[str]:
    from _voice_support import endpoint

    script = Script().reply(
        mcp_approval_request("weather", "get_forecast", '{"city":"Paris"}', output="sunny, 21 C")
    )
    script.say("It is sunny in Paris.")
    async with endpoint(script) as (base_url, key):
        return await main(base_url, key)


_ = McpTool  # the low-level config type, see mcp.py

if __name__ == "__main__":
    anyio.run(run)
