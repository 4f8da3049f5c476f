"""``oairt fake-server``: the fake Realtime server until interrupted.

Prints ``listening on ws://HOST:PORT/v1`` (or ``{"event": "listening", ...}`` with ``--json``)
once it accepts connections. Ctrl-C (exit status 130) or SIGTERM (0) stop it cleanly, so
recordings (``--record``) are written. ``--script FILE`` loads a scripted conversation
(:meth:`oairt_core.testing.Script.from_file`); without it the model echoes.
"""

from __future__ import annotations

import argparse
import signal
from typing import Any

import anyio

from . import EXIT_INTERRUPTED, CliError, Output
from ._loop import run as run_loop

__all__ = ["run_fake_server_command"]


def run_fake_server_command(args: argparse.Namespace, out: Output) -> int:
    if args.port < 0 or args.port > 65535:
        raise CliError(f"bad --port {args.port}: must be 0..65535")
    script: Any = None
    if args.script is not None:
        from oairt_core.testing import Script, ScriptError

        try:
            script = Script.from_file(args.script)
        except ScriptError as exc:
            raise CliError(f"bad --script {exc}") from None
    return run_loop(_serve, args, out, script)


async def _serve(args: argparse.Namespace, out: Output, script: Any) -> int:
    from oairt_anyio.testing import run_fake_server

    try:
        server_cm = run_fake_server(
            host=args.host,
            port=args.port,
            api_keys=args.api_keys,  # None: the fake's default key rule
            script=script,
            pacing=args.pacing,
            record=args.record,
            history=False,
        )
        stopped_by = signal.SIGTERM
        async with server_cm as server:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                # Announce only once the signals are ours: a stop right after "listening" is clean.
                out.event(
                    "listening", f"listening on {server.url}", url=server.url, port=server.port
                )
                async for signum in signals:
                    stopped_by = signal.Signals(signum)
                    out.status(f"stopping ({stopped_by.name})")
                    break
    except OSError as exc:
        if exc.errno is not None and not isinstance(exc, ConnectionError):
            raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        raise
    # SIGTERM is a requested stop (0); Ctrl-C exits 130 like every other command.
    return EXIT_INTERRUPTED if stopped_by == signal.SIGINT else 0
