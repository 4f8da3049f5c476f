"""``oairt chat``: a text conversation over a Realtime session, one line per user message.

Lines come from stdin (a terminal or a pipe); each becomes a user message followed by
``response.create``; the reply's text deltas are printed as they stream. An empty line or
the end of input ends the session.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import anyio

from . import CliError, Output, resolve_api_key, resolve_base_url
from ._loop import run as run_loop

__all__ = ["run_chat"]

REPLY_TIMEOUT_S = 120.0


def run_chat(args: argparse.Namespace, out: Output) -> int:
    url = resolve_base_url(args)
    key = resolve_api_key(args, url)
    if key is None:
        raise CliError("no API key: set OPENAI_API_KEY or pass --api-key")
    return run_loop(_chat, args, out, url, key)


async def _read_line() -> str:
    # stdin has no portable non-blocking read: a worker thread waits for the line.
    line: str = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
    return line


async def _chat(args: argparse.Namespace, out: Output, url: str, key: Any) -> int:
    import msgspec

    import oairt_anyio
    from oairt_core.events import (
        ConversationItemCreateEvent,
        ResponseCreateEvent,
        SessionUpdateEvent,
    )
    from oairt_core.models import MessageItem, RealtimeSessionConfig

    interactive = sys.stdin.isatty()
    out.status(f"connecting to {url} (model {args.model}) ...")
    async with oairt_anyio.open_realtime(api_key=key, model=args.model, base_url=url) as conn:
        session = RealtimeSessionConfig(
            output_modalities=["text"],
            instructions=args.instructions if args.instructions else msgspec.UNSET,
        )
        await conn.send(SessionUpdateEvent(session=session))
        out.event("connected", f"connected to {url}; type a message (empty line ends)", url=url)
        turns = 0
        while True:
            if interactive:
                sys.stderr.write("you> ")
                sys.stderr.flush()
            line = (await _read_line()).strip()
            if not line:
                break
            if not interactive:
                out.event("user", f"you: {line}", role="user", text=line)
            await conn.send(ConversationItemCreateEvent(item=MessageItem.user_text(line)))
            await conn.send(ResponseCreateEvent())
            with anyio.fail_after(REPLY_TIMEOUT_S):
                await _reply(conn, out)
            turns += 1
        out.status(f"bye ({turns} turn{'s' if turns != 1 else ''})")
    return 0


async def _reply(conn: Any, out: Output) -> None:
    """Print one response as it streams; return when it is done."""
    from oairt_core.events import (
        ErrorEvent,
        ResponseDoneEvent,
        ResponseOutputAudioTranscriptDeltaEvent,
        ResponseOutputTextDeltaEvent,
    )

    parts: list[str] = []
    out.stream("assistant: ")
    async for event in conn:
        if isinstance(
            event, (ResponseOutputTextDeltaEvent, ResponseOutputAudioTranscriptDeltaEvent)
        ):
            parts.append(event.delta)
            out.stream(event.delta)
        elif isinstance(event, ErrorEvent):
            out.stream("", end=True)
            raise CliError(f"the server reported an error: {event.error.message}")
        elif isinstance(event, ResponseDoneEvent):
            out.stream("", end=True)
            status = event.response.status
            text = "".join(parts)
            if out.json_mode:
                out.event("assistant", text, role="assistant", text=text, status=status)
            if status not in ("completed", None):
                details = event.response.status_details
                reason = getattr(details, "reason", None) or getattr(details, "error", None)
                out.status(f"(response {status}{': ' + str(reason) if reason else ''})")
            return
    raise CliError("the connection closed before the reply was complete")
