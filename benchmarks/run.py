"""``make bench``: every benchmark in one run, results written to docs/benchmarks.md.

Runs, in this order and on this machine: the codec benchmark (``benchmarks.codec_bench``),
the audio helpers benchmark (``benchmarks.audio_bench``), the per-frame adapter profile
(``benchmarks.adapter_profile``), the full-stack benchmark (one
session streaming both ways, oairt on asyncio and trio against the official SDK), and the
scale benchmark (concurrent sessions on one core, memory, delivery latency under load).

Options: ``--quick`` (shorter runs, fewer steps), ``--smoke`` (1 session for 0.2 s, unpinned;
for the test suite, nothing written), ``--no-write`` (print only), ``--json PATH`` (raw
figures). The page's own sections between ``<!-- bench:begin -->`` and
``<!-- bench:end -->`` are replaced; everything else in docs/benchmarks.md (the codec
section above them) is left as it is.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import fullstack_bench, scale_bench

__all__ = ["BEGIN", "END", "main", "render_section", "write_section"]

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "img" / "scale.png"
BEGIN = "<!-- bench:begin (written by `make bench`; edit benchmarks/run.py instead) -->"
END = "<!-- bench:end -->"


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run_module(module: str, *args: str, timeout: float = 600) -> str | None:
    """Run ``python -m module args`` if that benchmark exists; its stdout, or None."""
    if importlib.util.find_spec(module) is None:
        _log(f"{module}: not present, skipped")
        return None
    _log(f"running {module} ...")
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        _log(f"{module} failed: {tail}")
        return f"(failed: {tail})"
    return proc.stdout.strip()


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not Unix
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _versions() -> str:
    import importlib.metadata

    import msgspec
    import trio

    parts = [
        f"Python {platform.python_version()}",
        f"msgspec {msgspec.__version__}",
        f"anyio {importlib.metadata.version('anyio')}",
        f"trio {trio.__version__}",
    ]
    try:
        import openai
        import websockets

        ws_version = getattr(websockets, "__version__", "?")
        parts.append(f"openai {openai.__version__} (websockets {ws_version})")
    except ImportError:
        pass
    return ", ".join(parts)


def render_section(report: dict[str, Any]) -> str:
    """The Markdown of this run: full stack, scale, memory, latency, and the other benches."""
    full = report["fullstack"]
    scale = report["scale"]
    lines = [
        BEGIN,
        "",
        "## Full stack",
        "",
        f"Measured by `{report.get('command', 'make bench')}` on {report['date']}: "
        f"{report['machine']}. "
        f"{report['versions']}. Load average (1 min) {report.get('load_before')} before the "
        f"run and {report.get('load_after')} after it: other processes on the machine take "
        "CPU from the client, which lowers the scale figures.",
        "",
        "One Realtime session streaming 24 kHz PCM16 both ways for "
        f"{full['duration_s']:g} s: the client appends 20 ms of audio every 20 ms and the "
        "server sends a 20 ms `response.output_audio.delta` every 20 ms. The server is a "
        "separate process on its own core; the figure is `time.process_time()` of the client "
        "process per second of conversation (user + system), so it includes the event loop "
        "and the socket system calls every client pays. *Delivery* is the time from the "
        "server writing a frame to the application holding the typed event "
        "(the SDK's time includes the `base64.b64decode` every SDK user must do).",
        "",
        fullstack_bench.format_table(full),
        "",
        "*floor* is not a client: a bare asyncio `Protocol` that frames by hand with a zero "
        "masking key and decodes with msgspec into a one-field struct. It is the least a Python "
        "client on asyncio can spend per message (event loop wake-ups and socket system calls), "
        "so *client − floor* is what the library itself costs. *oairt-core-protocol* is "
        "oairt's sans-IO core driven from a plain asyncio `Protocol` (the embedding pattern, "
        "no adapter): the difference to *oairt-asyncio* is what the anyio adapter's tasks, "
        "locks and bounded buffers cost.",
        "",
        "## Scale, memory and latency under load",
        "",
        "How many concurrent real-time voice sessions one client core sustains: steps of "
        f"{', '.join(map(str, scale['steps']))} sessions, {scale['duration_s']:g} s each "
        "(after a 0.5 s warm-up), a fresh client process per step pinned to one core, "
        "stopping at the first step where audio falls behind real time in two tries "
        "(less than 95 % of the frames sent or delivered, or a p99 delivery or send lag of "
        "100 ms or more). "
        "*Projected sessions per core* is 1 / (CPU seconds per session-second of audio "
        "actually moved), the capacity the CPU cost alone allows; it stays meaningful when "
        "other processes share the machine. Memory is the growth of the client's RSS "
        "divided by the number of sessions, idle (connected, `session.created` received) "
        "and active (streaming).",
        "",
        scale_bench.format_tables(scale),
        "",
        "## Against the goals",
        "",
        *_goal_lines(full, scale),
        "",
    ]
    if report.get("plot"):
        lines += ["![Scale curve](img/scale.png)", ""]
    if report.get("codec_markdown"):
        lines += [
            "## Codec figures from the same run",
            "",
            report["codec_markdown"],
            "",
        ]
    if report.get("adapter_markdown"):
        lines += [
            "## Per-frame cost of the core and the adapters, same run",
            "",
            "From `benchmarks/adapter_profile.py` (client CPU per frame over loopback; see its "
            "docstring for what each column runs).",
            "",
            report["adapter_markdown"],
            "",
        ]
    if report.get("audio_text"):
        lines += [
            "## Audio helpers from the same run",
            "",
            "```text",
            report["audio_text"],
            "```",
            "",
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def _ok(results: list[dict[str, Any]], lib: str) -> dict[str, Any] | None:
    return next((r for r in results if r.get("lib") == lib and "error" not in r), None)


# Issue 14's targets: CPU per session-second at most this many times the floor row's.
_FLOOR_TARGETS = {
    "oairt-asyncio": 2.0,
    "oairt-asyncio-uvloop": 2.0,
    "oairt-trio": 2.3,
    "oairt-trio-native": 2.3,
}
# ...and this many real-time sessions per core.
_SESSION_TARGETS = {"oairt-asyncio": 250, "oairt-asyncio-uvloop": 400}


def _goal_lines(full: dict[str, Any], scale: dict[str, Any]) -> list[str]:
    """The issue's targets, checked against this run's figures (no target gates anything)."""
    lines: list[str] = []
    results = full["results"]
    floor = _ok(results, "floor")
    for lib, target in _FLOOR_TARGETS.items():
        ours = _ok(results, lib)
        if ours is None or floor is None:
            continue
        ratio = ours["cpu_per_s"] / floor["cpu_per_s"]
        verdict = "met" if ratio <= target else f"not met by {ratio / target:.2f}x"
        lines.append(
            f"- Full stack, {lib}: {ratio:.2f}x the floor's CPU for one session (target: at "
            f"most {target:.1f}x, {verdict})."
        )
    libs = scale["libs"]
    for lib in (
        "oairt-asyncio",
        "oairt-asyncio-uvloop",
        "oairt-trio",
        "oairt-trio-native",
        "oairt-core-protocol",
    ):
        entry = libs.get(lib)
        if not entry:
            continue
        n = entry.get("max_realtime", 0)
        proj = scale_bench._projection(entry)
        text = (
            f"- Scale, {lib}: {n} sessions sustained in real time on one core in this run, "
            f"{proj:.0f} projected from its CPU cost"
        )
        wanted = _SESSION_TARGETS.get(lib)
        if wanted is not None:
            text += f" (target: {wanted}, {'met' if max(n, 0) >= wanted else 'not met'})"
        lines.append(text + ".")
    lines.append(
        "- The core alone: at most 4 µs per 20 ms frame received and per frame sent (see the "
        "per-frame table below; `benchmarks.adapter_profile`)."
    )
    return lines


def write_section(page: Path, section: str) -> None:
    """Replace our block in ``page`` (or append it); never touch the rest of the page."""
    text = page.read_text(encoding="utf-8") if page.exists() else "# Benchmarks\n"
    start = text.find(BEGIN)
    end = text.find(END)
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len(END) :].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    if not text.endswith("\n"):
        text += "\n"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer steps")
    parser.add_argument("--smoke", action="store_true", help="tiny run for the test suite")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures here")
    parser.add_argument("--libs", default=None, help="comma-separated client libraries")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    libs = args.libs.split(",") if args.libs else None
    steps: tuple[int, ...]
    if args.smoke:
        # Short enough to finish well inside the test's bound on a busy machine: the
        # figures are not reported, only that every stage runs end to end.
        full_s, steps, step_s, idle_n = 0.2, (1,), 0.2, 1
    elif args.quick:
        full_s, steps, step_s, idle_n = 3.0, (50, 100, 200), 2.0, 50
    else:
        full_s, steps, step_s, idle_n = 10.0, scale_bench.DEFAULT_STEPS, 5.0, 200

    report: dict[str, Any] = {
        "command": "make bench"
        if not (args.quick or args.smoke)
        else f"python -m benchmarks.run {'--quick' if args.quick else '--smoke'}",
        "load_before": _load(),
        "date": datetime.date.today().isoformat(),
        "machine": f"{_cpu_model()}, {fullstack_bench._cpu_count()} cores, "
        f"{platform.system()} {platform.release()}",
        "versions": _versions(),
    }
    if not args.smoke:
        report["codec_markdown"] = _run_module("benchmarks.codec_bench", "--markdown")
        report["audio_text"] = _run_module("benchmarks.audio_bench")
        report["adapter_markdown"] = _run_module("benchmarks.adapter_profile")
    _log("running the full-stack benchmark ...")
    pin = not args.smoke
    report["fullstack"] = fullstack_bench.run(duration=full_s, libs=libs, log=_log, pin=pin)
    _log("running the scale benchmark ...")
    report["scale"] = scale_bench.run(
        steps=steps,
        duration=step_s,
        idle_sessions=idle_n,
        libs=libs,
        log=_log,
        retry=not args.smoke,
        pin=pin,
    )
    report["elapsed_s"] = time.perf_counter() - started
    report["load_after"] = _load()

    if not args.no_write and not args.smoke:
        try:
            from .plot import plot_scale

            plot_scale(report["scale"], PLOT)
            report["plot"] = str(PLOT.relative_to(ROOT))
        except ImportError:
            _log("matplotlib is not installed: no plot")
        write_section(PAGE, render_section(report))
        _log(f"wrote {PAGE.relative_to(ROOT)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(render_section(report))
    _log(f"done in {report['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
