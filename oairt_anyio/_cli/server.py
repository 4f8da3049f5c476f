"""``oairt fake-server``: the fake Realtime server on 127.0.0.1 until interrupted.

Prints ``listening on ws://127.0.0.1:PORT/v1`` (or ``{"event": "listening", ...}`` with
``--json``) once it accepts connections. Ctrl-C or SIGTERM stop it cleanly, so recordings
(``--record``) are written.
"""

from __future__ import annotations

import argparse
import signal

import anyio

from . import CliError, Output

__all__ = ["run_fake_server_command"]


def run_fake_server_command(args: argparse.Namespace, out: Output) -> int:
    if args.port < 0 or args.port > 65535:
        raise CliError(f"bad --port {args.port}: must be 0..65535")
    return anyio.run(_serve, args, out)


async def _serve(args: argparse.Namespace, out: Output) -> int:
    from oairt_anyio.testing import run_fake_server

    # Any key is accepted: this is a local test server (keys are still never recorded).
    async with run_fake_server(port=args.port, api_keys=None, record=args.record) as server:
        out.event("listening", f"listening on {server.url}", url=server.url, port=server.port)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                out.status(f"stopping ({signal.Signals(signum).name})")
                break
    return 0
