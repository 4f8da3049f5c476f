"""Plot the scale curve (``docs/img/scale.png``) from a scale report.

Optional at runtime: ``benchmarks.run`` calls :func:`plot_scale` only when matplotlib is
installed, and skips the figure otherwise.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["plot_scale"]

STYLE = {
    "oairt-asyncio": ("tab:blue", "o"),
    "oairt-asyncio-uvloop": ("tab:purple", "v"),
    "oairt-trio": ("tab:green", "s"),
    "oairt-trio-native": ("tab:olive", "^"),
    "sdk": ("tab:red", "x"),
    "oairt-core-protocol": ("tab:cyan", "D"),
    "floor": ("tab:gray", "."),
}


def plot_scale(report: dict[str, Any], path: str | Path) -> Path:
    """Two panels: client CPU (fraction of one core) and delivery p99, against sessions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (cpu_ax, lat_ax) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    for lib, entry in report["libs"].items():
        steps = [s for s in entry["steps"] if "error" not in s]
        if not steps:
            continue
        color, marker = STYLE.get(lib, ("tab:gray", "."))
        xs = [s["sessions"] for s in steps]
        cpu_ax.plot(xs, [s["cpu_per_s"] for s in steps], color=color, marker=marker, label=lib)
        lat_ax.plot(xs, [s["latency_p99_ms"] for s in steps], color=color, marker=marker, label=lib)
        bad = [s for s in steps if not s.get("realtime")]
        if bad:
            lat_ax.scatter(
                [s["sessions"] for s in bad],
                [s["latency_p99_ms"] for s in bad],
                s=120,
                facecolors="none",
                edgecolors=color,
            )
    cpu_ax.set_xscale("log", base=2)
    cpu_ax.set_xlabel("concurrent voice sessions")
    cpu_ax.set_ylabel("client CPU (fraction of one core)")
    cpu_ax.axhline(1.0, color="gray", linewidth=0.8, linestyle="--")
    cpu_ax.set_title("CPU")
    lat_ax.set_xscale("log", base=2)
    lat_ax.set_yscale("log")
    lat_ax.set_xlabel("concurrent voice sessions")
    lat_ax.set_ylabel("delivery latency p99 (ms)")
    lat_ax.axhline(100, color="gray", linewidth=0.8, linestyle="--")
    lat_ax.set_title("Latency (circled: fell behind real time)")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    steps = sorted({s["sessions"] for e in report["libs"].values() for s in e["steps"]})
    for ax in (cpu_ax, lat_ax):
        if steps:
            ax.set_xticks(steps)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("24 kHz audio both ways, 20 ms frames, one client core")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print("usage: python -m benchmarks.plot REPORT.json OUT.png", file=sys.stderr)
        return 2
    report = json.loads(Path(args[0]).read_text())
    print(plot_scale(report.get("scale", report), args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
