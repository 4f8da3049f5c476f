"""``oairt chat``: a text conversation over a Realtime session, one line per user message."""

from __future__ import annotations

import argparse

from .cli import CliError, Output, resolve_api_key, resolve_base_url

__all__ = ["run_chat"]


def run_chat(args: argparse.Namespace, out: Output) -> int:
    resolve_base_url(args)
    if resolve_api_key(args) is None:
        raise CliError("no API key: set OPENAI_API_KEY or pass --api-key")
    raise CliError("chat needs the WebSocket adapter, which is not part of this build yet")
