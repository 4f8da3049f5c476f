"""``oairt fake-server``: the fake Realtime server on 127.0.0.1 until interrupted."""

from __future__ import annotations

import argparse
import importlib

from .cli import CliError, Output

__all__ = ["run_fake_server_command"]


def run_fake_server_command(args: argparse.Namespace, out: Output) -> int:
    if args.port < 0 or args.port > 65535:
        raise CliError(f"bad --port {args.port}: must be 0..65535")
    try:
        testing = importlib.import_module("oairt_anyio.testing")
        run_fake_server_cli = testing.run_fake_server_cli
    except (ImportError, AttributeError):
        raise CliError("the fake server is not part of this build yet") from None
    kwargs = {"record": args.record} if args.record else {}
    result = run_fake_server_cli(args.port, **kwargs)
    return int(result) if isinstance(result, int) else 0
