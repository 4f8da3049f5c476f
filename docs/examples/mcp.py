"""MCP tools: let the model call tools on a remote MCP server.

Low level (a ``session.update`` with an :class:`McpTool`) as in the seed, and the
same through the voice builder (``.mcp(...)``), which also surfaces
``mcp_list_tools.*`` and ``response.mcp_call*`` as typed events.
"""

from __future__ import annotations

from typing import Any

import anyio

import oairt_anyio
from oairt_core.events import McpListToolsCompletedEvent, SessionUpdateEvent
from oairt_core.models import McpTool, RealtimeSessionConfig


async def main(base_url: str | None, api_key: str) -> list[str]:
    mcp = McpTool(
        server_label="weather",
        server_url="https://mcp.example.com",
        require_approval="always",
    )
    session = RealtimeSessionConfig(tools=[mcp], tool_choice="auto")
    where: dict[str, Any] = {} if base_url is None else {"base_url": base_url}
    seen: list[str] = []
    async with oairt_anyio.open_realtime(api_key=api_key, model="gpt-realtime", **where) as conn:
        await conn.send(SessionUpdateEvent(session=session))
        async for event in conn:
            seen.append(type(event).__name__)
            if isinstance(event, McpListToolsCompletedEvent):
                print("the MCP server's tools are listed:", event.item_id)
                break
    return seen


def voice_config(api_key: str) -> Any:
    """The same MCP server on a voice session (see mcp_approval.py for approvals)."""
    from oairt_core.voice import Realtime

    return (
        Realtime.builder()
        .api_key(api_key)
        .voice_session()
        .mcp("weather", server_url="https://mcp.example.com", require_approval="always")
        .tool_choice("auto")
        .build()
    )


async def run() -> list[str]:
    from _voice_support import endpoint

    async with endpoint() as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
