"""Typed tools: a function taking a msgspec Struct becomes a tool the model can call.

The JSON schema comes from ``SumArgs``; arguments are validated (a bad call goes
back to the model as an error output); the result is sent as
``function_call_output`` and a ``response.create`` follows (turn that off with
``.auto_tool_response(False)``).
"""

from __future__ import annotations

import anyio
import msgspec

from oairt_anyio import open_voice
from oairt_core.testing import Script
from oairt_core.testing.script import call_function
from oairt_core.voice import Realtime, ToolResult, TranscriptDone


class SumArgs(msgspec.Struct):
    a: int
    b: int


class SumResp(msgspec.Struct):
    sum: int


async def add(args: SumArgs) -> SumResp:
    return SumResp(sum=args.a + args.b)


async def main(base_url: str | None, api_key: str) -> list[str]:
    config = (
        Realtime.builder()
        .api_key(api_key)
        .model("gpt-realtime")
        .voice_session()
        .push_to_talk()
        .tool_desc("sum", "Add two integers.", add)
        .build()
    )
    log: list[str] = []
    async with open_voice(config, base_url=base_url) as session:
        await session.send_text("What is 2 + 3? Use the sum tool.")
        async for event in session:
            if isinstance(event, ToolResult):
                log.append(f"tool {event.name} -> {event.output}")
            elif isinstance(event, TranscriptDone):
                log.append(f"assistant: {event.text}")
                break
    print("\n".join(log))
    return log


async def run() -> list[str]:
    from _voice_support import endpoint

    script = Script().reply(call_function("sum", '{"a": 2, "b": 3}')).say("2 plus 3 is 5.")
    async with endpoint(script) as (base_url, key):
        return await main(base_url, key)


if __name__ == "__main__":
    anyio.run(run)
