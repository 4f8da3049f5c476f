"""``oairt demo``: a whole voice exchange against the embedded fake server (or the real API)."""

from __future__ import annotations

import argparse
import time

from ._cli_util import read_wav_pcm16, synth_question, write_wav_pcm16
from .cli import Output

__all__ = ["run_demo"]


def run_demo(args: argparse.Namespace, out: Output) -> int:
    started = time.perf_counter()
    if args.input:
        pcm = read_wav_pcm16(args.input)
        out.event("input", f"you: {args.input} ({len(pcm) // 48} ms of audio)", file=args.input)
    else:
        pcm = synth_question()
        out.event("input", f"you: synthesised speech ({len(pcm) // 48} ms)", ms=len(pcm) // 48)
    write_wav_pcm16(args.output, pcm)
    out.event("saved", f"wrote {args.output}", file=args.output)
    out.status(f"done in {time.perf_counter() - started:.2f} s")
    return 0
