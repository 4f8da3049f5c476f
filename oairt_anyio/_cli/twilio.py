"""``oairt twilio-bridge``: answer phone calls from Twilio Media Streams with a voice agent.

Prints ``listening on ws://HOST:PORT/`` (or ``{"event": "listening", ...}`` with ``--json``)
once it accepts connections; each Twilio stream gets its own voice session against
``--base-url``. Ctrl-C or SIGTERM stop it.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import anyio

from ._loop import run as run_loop

__all__ = ["add_twilio_bridge_parser", "load_tools", "run_twilio_bridge_command"]


def add_twilio_bridge_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register the subcommand on the ``oairt`` subparsers."""
    p = sub.add_parser(
        "twilio-bridge",
        parents=parents,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="answer Twilio phone calls (Media Streams) with a voice agent",
        description=(
            "A WebSocket server for Twilio Media Streams: point a TwiML\n"
            '<Connect><Stream url="wss://.../"/></Connect> at it (through a wss:// proxy or\n'
            "tunnel). Each call gets a voice session (mu-law in and out, no transcoding)."
        ),
        epilog=(
            "examples:\n"
            "  oairt twilio-bridge --port 8080 --tools myagent.tools:TOOLS\n"
            "  oairt twilio-bridge --port 8080 --base-url ws://127.0.0.1:8765/v1 --api-key sk-test"
        ),
    )
    p.add_argument("--port", type=int, default=8080, help="TCP port (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument(
        "--tools",
        metavar="MODULE:ATTR",
        default=None,
        help="typed tools: a tool or a list of tools, e.g. myagent.tools:TOOLS",
    )
    p.add_argument("--instructions", default=None, help="system instructions for each call")
    p.add_argument("--voice", default=None, help="the assistant's voice (e.g. alloy, marin)")
    p.add_argument("--greet", action="store_true", help="the assistant speaks first")
    p.add_argument(
        "--no-reconnect",
        action="store_true",
        help="end the call when the Realtime connection drops (default: reconnect and "
        "keep the conversation; a reply cut by the drop is asked for again)",
    )
    p.add_argument(
        "--max-lead-ms",
        type=float,
        default=300.0,
        help="audio sent ahead of what the caller heard (default: %(default)s)",
    )
    p.add_argument(
        "--mark-interval-ms",
        type=float,
        default=100.0,
        help="playback report (and truncation) resolution (default: %(default)s)",
    )


def load_tools(spec: str) -> tuple[Any, ...]:
    """The tools named by ``module:attr`` (one tool or an iterable of tools).

    >>> load_tools("oairt_core.tools:tool")
    Traceback (most recent call last):
    ...
    ValueError: oairt_core.tools:tool is not a tool or a list of tools
    """
    from oairt_core.models import FunctionTool, McpTool
    from oairt_core.tools import TypedTool

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--tools {spec!r}: expected MODULE:ATTR")
    try:
        value: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--tools {spec!r}: cannot import {module_name}: {exc}") from exc
    for part in attr.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            raise ValueError(f"--tools {spec!r}: {module_name} has no {attr}") from None
    kinds = (TypedTool, FunctionTool, McpTool)
    tools = (value,) if isinstance(value, kinds) else value
    if not isinstance(tools, Iterable) or isinstance(tools, (str, bytes)):
        raise ValueError(f"{spec} is not a tool or a list of tools")
    out = tuple(tools)
    if not out or not all(isinstance(t, kinds) for t in out):
        raise ValueError(f"{spec} is not a tool or a list of tools")
    return out


def run_twilio_bridge_command(args: argparse.Namespace, out: Any) -> int:
    from . import CliError

    if args.port < 0 or args.port > 65535:
        raise CliError(f"bad --port {args.port}: must be 0..65535")
    options: dict[str, Any] = {}
    if args.tools:
        try:
            options["tools"] = load_tools(args.tools)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    if args.instructions:
        options["instructions"] = args.instructions
    if args.voice:
        options["voice"] = args.voice
    if args.api_key:
        options["api_key"] = args.api_key
    if args.model:
        options["model"] = args.model
    if not args.no_reconnect:
        from oairt_core.reconnect import ReconnectPolicy

        options["reconnect"] = ReconnectPolicy()
    return run_loop(_serve, args, out, options)


def call_event_handler(args: argparse.Namespace, out: Any) -> Callable[[Any, Any], Awaitable[None]]:
    """What the command does with each call's events: report them; greet with ``--greet``;
    after a reconnection that cut the assistant's reply, ask for the reply again (the
    caller was left mid-sentence, and the new session knows the conversation)."""
    from oairt_core.reconnect import Reconnected, Reconnecting, ResponseLost
    from oairt_core.twilio import CallStarted, CallStopped

    # Calls whose reply a dropped connection cut; weak, so a call that ends without
    # ``stop`` (its Realtime side failed) leaves nothing behind.
    cut: weakref.WeakSet[Any] = weakref.WeakSet()

    async def on_event(call: Any, event: Any) -> None:
        if isinstance(event, CallStarted):
            out.event("call", f"call {event.call_sid} started", call_sid=event.call_sid)
            if args.greet:
                await call.session.create_response()
        elif isinstance(event, CallStopped):
            cut.discard(call)
            out.event("hangup", f"call {event.call_sid} ended", call_sid=event.call_sid)
        elif isinstance(event, ResponseLost):
            cut.add(call)
        elif isinstance(event, Reconnecting):
            out.event(
                "reconnecting",
                f"call {call.call_sid}: Realtime connection lost, reconnecting",
                call_sid=call.call_sid,
                attempt=event.attempt,
            )
        elif isinstance(event, Reconnected):
            out.event("reconnected", f"call {call.call_sid}: reconnected", call_sid=call.call_sid)
            if call in cut:  # the caller was left mid-sentence: answer again
                cut.discard(call)
                await call.session.create_response()

    return on_event


async def _serve(args: argparse.Namespace, out: Any, options: dict[str, Any]) -> int:
    from ..phone import serve_twilio

    on_event = call_event_handler(args, out)

    async with anyio.create_task_group() as tg:
        server = await tg.start(
            lambda task_status: serve_twilio(
                host=args.host,
                port=args.port,
                base_url=args.base_url,
                on_event=on_event,
                max_lead_ms=args.max_lead_ms,
                mark_interval_ms=args.mark_interval_ms,
                task_status=task_status,
                **options,
            )
        )
        out.event("listening", f"listening on {server.url}", url=server.url, port=server.port)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                out.status(f"stopping ({signal.Signals(signum).name})")
                break
        tg.cancel_scope.cancel()
    return 0
