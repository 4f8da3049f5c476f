"""``oairt voice``: one spoken turn from a WAV file (or the microphone)."""

from __future__ import annotations

import argparse

from .cli import CliError, Output, resolve_api_key, resolve_base_url

__all__ = ["run_voice"]


def run_voice(args: argparse.Namespace, out: Output) -> int:
    if args.mic or args.speaker:
        try:
            import sounddevice  # noqa: F401
        except (ImportError, OSError):
            raise CliError(
                "--mic/--speaker need the sounddevice package: pip install 'oairt[audio-devices]'"
            ) from None
    elif not args.input:
        raise CliError("give the question with --in question.wav (or --mic)")
    resolve_base_url(args)
    if resolve_api_key(args) is None:
        raise CliError("no API key: set OPENAI_API_KEY or pass --api-key")
    raise CliError("voice needs the voice session layer, which is not part of this build yet")
