"""``oairt fake-server``: the fake Realtime server on 127.0.0.1 until interrupted.

Prints ``listening on ws://127.0.0.1:PORT/v1`` (or ``{"event": "listening", ...}`` with
``--json``) once it accepts connections. Ctrl-C (exit status 130) or SIGTERM (0) stop it
cleanly, so recordings (``--record``) are written.
"""

from __future__ import annotations

import argparse
import signal

import anyio

from .cli import EXIT_INTERRUPTED, CliError, Output

__all__ = ["run_fake_server_command"]


def run_fake_server_command(args: argparse.Namespace, out: Output) -> int:
    if args.port < 0 or args.port > 65535:
        raise CliError(f"bad --port {args.port}: must be 0..65535")
    return anyio.run(_serve, args, out)


async def _serve(args: argparse.Namespace, out: Output) -> int:
    from oairt_anyio.testing import run_fake_server

    # Any key is accepted: this is a local test server (keys are still never recorded).
    async with run_fake_server(port=args.port, api_keys=None, record=args.record) as server:
        stopped_by = signal.SIGTERM
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            # Announce only once the signals are ours: a stop right after "listening" is clean.
            out.event("listening", f"listening on {server.url}", url=server.url, port=server.port)
            async for signum in signals:
                stopped_by = signal.Signals(signum)
                out.status(f"stopping ({stopped_by.name})")
                break
    # SIGTERM is a requested stop (0); Ctrl-C exits 130 like every other command.
    return EXIT_INTERRUPTED if stopped_by == signal.SIGINT else 0
