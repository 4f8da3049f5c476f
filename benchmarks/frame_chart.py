"""Stacked bars of where a 20 ms frame's µs go in the core, before and after a change.

Runs :func:`benchmarks.adapter_profile.compare_core` (this checkout against ``--baseline``,
alternated, thread CPU time) and draws one bar per direction and side, stacked by step::

    python -m benchmarks.frame_chart --baseline /work/main --out docs/img/frame_costs.png

Also prints the figures as a markdown table (what docs/performance.md quotes).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .adapter_profile import compare_core

__all__ = ["main", "plot_frame_costs", "steps_table"]

# Steps of both sides share a colour by kind, whatever does the frame work.
_KINDS = (("frame", "tab:red"), ("JSON", "tab:blue"), ("bookkeeping", "tab:gray"))


def _kind(step: str) -> str:
    if step.startswith("JSON"):
        return "JSON"
    if step.startswith("connection"):
        return "bookkeeping"
    return "frame"


def steps_table(both: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per step, a column per side."""
    lines = ["| step | before µs | after µs |", "| --- | ---: | ---: |"]
    for part in ("recv", "send"):
        before, after = both["before"][part], both["after"][part]
        for (b_step, b_us), (a_step, a_us) in zip(before.items(), after.items(), strict=True):
            name = b_step if b_step == a_step else f"{b_step} / {a_step}"
            lines.append(f"| {part}: {name} | {b_us:.2f} | {a_us:.2f} |")
        b_tot, a_tot = both["before"]["total"][part], both["after"]["total"][part]
        lines.append(f"| **{part} total** | **{b_tot:.2f}** | **{a_tot:.2f}** |")
    return "\n".join(lines)


def plot_frame_costs(both: dict[str, dict[str, Any]], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    bars = [(f"{part}\n{side}", both[side][part]) for part in ("recv", "send") for side in both]
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (_, steps) in enumerate(bars):
        bottom = 0.0
        for step, us in steps.items():
            colour = dict(_KINDS)[_kind(step)]
            ax.bar(i, us, bottom=bottom, color=colour, edgecolor="white")
            if us > 1.5:
                ax.text(i, bottom + us / 2, step, ha="center", va="center", fontsize=6)
            bottom += us
    ax.set_xticks(range(len(bars)), [label for label, _ in bars])
    ax.set_ylabel("thread CPU µs per 20 ms frame")
    ax.set_title("RealtimeConnection: where a frame's µs go")
    handles = [Rectangle((0, 0), 1, 1, color=c) for _, c in _KINDS]
    ax.legend(handles, ["WebSocket framing", "msgspec", "connection bookkeeping"], fontsize=8)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.frame_chart")
    parser.add_argument("--baseline", required=True, metavar="DIR", help="checkout with .venv")
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--pcm-bytes", type=int, default=960)
    parser.add_argument("--out", default="docs/img/frame_costs.png")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    both = compare_core(args.baseline, args.frames, args.pcm_bytes)
    print(steps_table(both))
    if args.json:
        Path(args.json).write_text(json.dumps(both, indent=1))
    print(f"wrote {plot_frame_costs(both, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
