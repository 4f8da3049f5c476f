"""Scale benchmark: concurrent real-time voice sessions on one client core.

For each client library, run 50, 100, 200, 400, 800... sessions (each streaming 20 ms of
24 kHz audio up and down every 20 ms) in one client process pinned to one core, a fresh
process per step, and stop at the first step where audio falls behind real time: fewer
than 95 % of the frames sent or delivered in the window, or a p99 delivery or send lag of
100 ms or more. Also measures memory per idle and per active session (RSS delta of the
client process) and the delivery latency (server frame sent -> application holds the
typed event) at the largest load the library sustained.

Run ``python -m benchmarks.scale_bench`` (``--steps 50,100 --duration 3`` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from .fullstack_bench import available_libs, bench_server, client_in_subprocess, cpus

__all__ = ["DEFAULT_STEPS", "format_tables", "main", "run"]

DEFAULT_STEPS = (50, 100, 200, 400, 800, 1600)


def run(
    *,
    steps: tuple[int, ...] = DEFAULT_STEPS,
    duration: float = 5.0,
    idle_sessions: int = 200,
    libs: list[str] | None = None,
    log: Callable[[str], None] = print,
    retry: bool = True,
    pin: bool = True,
) -> dict[str, Any]:
    """Step up the session count per library until audio falls behind real time.

    ``pin=False``: no core pinning (the smoke run; see ``fullstack_bench.run``).
    """
    libs = libs or available_libs()
    server_cpu, client_cpu = cpus() if pin else (None, None)
    report: dict[str, Any] = {
        "steps": list(steps),
        "duration_s": duration,
        "idle_sessions": idle_sessions,
        "libs": {},
    }
    with bench_server(server_cpu) as url:
        for lib in libs:
            entry: dict[str, Any] = {"steps": [], "max_realtime": 0, "server_bound": False}
            report["libs"][lib] = entry
            for n in steps:
                log(f"  scale: {lib}, {n} sessions, {duration:g} s ...")
                result = client_in_subprocess(
                    lib, url, sessions=n, duration=duration, cpu=client_cpu
                )
                if "error" not in result and not result["realtime"] and retry:
                    # Shared machines have hiccups: a failing step gets one more try.
                    log("    fell behind; trying this step once more ...")
                    again = client_in_subprocess(
                        lib, url, sessions=n, duration=duration, cpu=client_cpu
                    )
                    if "error" not in again and (
                        again["realtime"] or again["latency_p99_ms"] < result["latency_p99_ms"]
                    ):
                        result = again
                entry["steps"].append(result)
                if "error" in result:
                    log(f"    error: {result['error']}")
                    break
                log(
                    f"    cpu {result['cpu_per_s']:.2f} of a core, delivery p99 "
                    f"{result['latency_p99_ms']:.1f} ms, "
                    f"{'real time' if result['realtime'] else 'FELL BEHIND'}"
                )
                if result.get("server_bound"):
                    entry["server_bound"] = True  # the server, not the client, was late
                    break
                if not result["realtime"]:
                    break
                entry["max_realtime"] = n
                entry["at_max"] = result
            log(f"  memory: {lib}, {idle_sessions} idle sessions ...")
            entry["idle"] = client_in_subprocess(
                lib, url, sessions=idle_sessions, duration=0, idle=True, cpu=client_cpu
            )
    return report


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    if isinstance(value, (int, float)) and value == value:  # not NaN
        return f"{value:{spec}}{unit}"
    return "n/a"


def format_tables(report: dict[str, Any]) -> str:
    libs: dict[str, Any] = report["libs"]
    sdk = libs.get("sdk", {})
    lines = [
        "| client | sessions sustained on one core | vs SDK | projected sessions per core | "
        "CPU per session-second | delivery p50 / p99 at that load | "
        f"idle memory per session ({report.get('idle_sessions', 200)} idle) | "
        f"active memory per session ({report['steps'][0]} streaming) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for lib, entry in libs.items():
        n = entry.get("max_realtime", 0)
        bound = "≥ " if entry.get("server_bound") or _all_passed(entry, report) else ""
        at = entry.get("at_max") or {}
        ratio = (
            f"{n / sdk['max_realtime']:.1f}x"
            if sdk.get("max_realtime") and lib != "sdk"
            else ("1.0x" if lib == "sdk" else "n/a")
        )
        idle = entry.get("idle", {})
        proj = _projection(entry)
        sdk_proj = _projection(sdk) if sdk else float("nan")
        proj_text = _fmt(proj, ".0f")
        if lib != "sdk" and sdk_proj == sdk_proj and sdk_proj > 0 and proj == proj:
            proj_text += f" ({proj / sdk_proj:.1f}x)"
        lines.append(
            f"| {lib} | {bound}{n} | {ratio} | {proj_text} | "
            f"{_fmt(_cost(entry) * 1000, '.2f', ' ms')} | "
            f"{_fmt(at.get('latency_p50_ms'), '.2f')} / "
            f"{_fmt(at.get('latency_p99_ms'), '.1f', ' ms')} | "
            f"{_fmt(idle.get('rss_idle_per_session_kb'), '.0f', ' KiB')} | "
            f"{_fmt(_first(entry).get('rss_active_per_session_kb'), '.0f', ' KiB')} |"
        )
    lines.append("")
    lines.append("Every step (CPU is the fraction of the client core in use):")
    lines.append("")
    lines.append(
        "| client | sessions | CPU of a core | frames sent / delivered | "
        "delivery p50 / p99 | send lag p99 | real time |"
    )
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | :---: |")
    for lib, entry in libs.items():
        for r in entry["steps"]:
            if "error" in r:
                lines.append(f"| {lib} | {r['sessions']} | error: {r['error']} | | | | |")
                continue
            lines.append(
                f"| {lib} | {r['sessions']} | {r['cpu_per_s']:.2f} | "
                f"{r['sent_ratio']:.0%} / {r['recv_ratio']:.0%} | "
                f"{r['latency_p50_ms']:.1f} / {r['latency_p99_ms']:.1f} ms | "
                f"{r['send_lag_p99_ms']:.1f} ms | {'yes' if r['realtime'] else 'no'} |"
            )
    return "\n".join(lines)


def _first(entry: dict[str, Any]) -> dict[str, Any]:
    """The first step (the same load for every library), if it ran."""
    steps = entry.get("steps") or [{}]
    first: dict[str, Any] = steps[0]
    return first if "error" not in first else {}


def _cost(entry: dict[str, Any]) -> float:
    """Median CPU per session-second of audio moved, over the steps that ran."""
    costs = sorted(
        s["cpu_per_audio_s"]
        for s in entry.get("steps", [])
        if "cpu_per_audio_s" in s and s["cpu_per_audio_s"] == s["cpu_per_audio_s"]
    )
    return costs[len(costs) // 2] if costs else float("nan")


def _projection(entry: dict[str, Any]) -> float:
    cost = _cost(entry)
    return 1 / cost if cost == cost and cost > 0 else float("nan")


def _all_passed(entry: dict[str, Any], report: dict[str, Any]) -> bool:
    steps = entry["steps"]
    return (
        bool(steps) and len(steps) == len(report["steps"]) and all(s.get("realtime") for s in steps)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale_bench")
    parser.add_argument("--steps", default=",".join(map(str, DEFAULT_STEPS)))
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--idle-sessions", type=int, default=200)
    parser.add_argument("--libs", default=None, help="comma-separated (default: all installed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    steps = tuple(int(s) for s in args.steps.split(","))
    libs = args.libs.split(",") if args.libs else None
    report = run(steps=steps, duration=args.duration, idle_sessions=args.idle_sessions, libs=libs)
    print(json.dumps(report) if args.json else format_tables(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
