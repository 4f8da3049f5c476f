"""Before/after: two ``benchmarks.run --json`` reports side by side, against issue 14's targets.

Run both checkouts' harness in one session, then render::

    (cd /tmp/bench-before && .venv/bin/python -m benchmarks.run --quick --no-write \\
        --json /tmp/bench-before.json)
    .venv/bin/python -m benchmarks.run --quick --no-write --json /tmp/bench-after.json
    .venv/bin/python -m benchmarks.compare /tmp/bench-before.json /tmp/bench-after.json --write

``--write`` replaces the block between ``<!-- compare:begin -->`` and ``<!-- compare:end -->``
in docs/benchmarks.md (and nothing else); without it the Markdown is printed.

>>> _ratio(2.0, 1.0)
'2.00x'
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path
from typing import Any

from . import scale_bench

__all__ = ["main", "render"]

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- compare:begin (written by `python -m benchmarks.compare`) -->"
END = "<!-- compare:end -->"

# Issue 14's targets: CPU per session-second against the floor row of the same run.
FLOOR_TARGET = {
    "oairt-asyncio": 2.0,
    "oairt-asyncio-uvloop": 2.0,
    "oairt-trio": 2.3,
    "oairt-trio-native": 2.3,
}
SESSIONS_TARGET = {"oairt-asyncio": 250, "oairt-asyncio-uvloop": 400}
CORE_TARGET_US = 4.0


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 and math.isfinite(a) else "n/a"


def _ok(report: dict[str, Any], lib: str) -> dict[str, Any] | None:
    return next(
        (r for r in report["fullstack"]["results"] if r["lib"] == lib and "error" not in r),
        None,
    )


def _ms(x: dict[str, Any] | None) -> str:
    return f"{x['cpu_per_s'] * 1000:.2f}" if x else "—"


def _core_us(report: dict[str, Any]) -> dict[str, float]:
    """The core's recv/send µs per frame from the adapter profile's table."""
    text = report.get("adapter_markdown") or ""
    found = dict(re.findall(r"^\| (recv|send) \| ([0-9.]+) \|$", text, re.M))
    return {k: float(v) for k, v in found.items()}


def _adapter_rows(report: dict[str, Any]) -> dict[str, list[str]]:
    text = report.get("adapter_markdown") or ""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 4 and "/" in cells[1] and cells[0] != "adapter":
            rows[cells[0]] = [c.split("/")[0].strip() for c in cells[1:]]
    return rows


def render(before: dict[str, Any], after: dict[str, Any]) -> str:
    libs = [r["lib"] for r in after["fullstack"]["results"]]
    for r in before["fullstack"]["results"]:
        if r["lib"] not in libs:
            libs.append(r["lib"])
    fb, fa = _ok(before, "floor"), _ok(after, "floor")
    lines = [
        BEGIN,
        "",
        "## Before and after the adapter work (one session)",
        "",
        f"*Before* is commit eea2292 (before the one async layer), *after* is this branch; both "
        f"with `benchmarks.run --quick` ({after['fullstack']['duration_s']:g} s full-stack runs, "
        f"scale steps {', '.join(map(str, after['scale']['steps']))} of "
        f"{after['scale']['duration_s']:g} s), one after the other in the same session on "
        f"{after['machine']}. Load average (1 min): before {before.get('load_before')} → "
        f"{before.get('load_after')}, after {after.get('load_before')} → "
        f"{after.get('load_after')}. The machine is shared with other jobs: compare the rows "
        "of one run (the *vs floor* columns), not absolute figures across runs. "
        "eea2292 had no uvloop extra, so its uvloop rows are empty.",
        "",
        "CPU ms per second of conversation (client process, user + system):",
        "",
        "| client | before ms | after ms | before vs floor | after vs floor | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for lib in libs:
        b, a = _ok(before, lib), _ok(after, lib)
        target = FLOOR_TARGET.get(lib)
        met = ""
        if target is not None and a and fa:
            ok = a["cpu_per_s"] <= target * fa["cpu_per_s"]
            met = f"≤ {target:.1f}x ({'met' if ok else 'not met'})"
        lines.append(
            f"| {lib} | {_ms(b)} | {_ms(a)} | "
            f"{_ratio(b['cpu_per_s'], fb['cpu_per_s']) if b and fb else '—'} | "
            f"{_ratio(a['cpu_per_s'], fa['cpu_per_s']) if a and fa else '—'} | {met} |"
        )
    lines += [
        "",
        "## Before and after: many sessions on one core",
        "",
        "| client | before: sustained / projected per core | after: sustained / projected per "
        "core | before CPU per session-second | after | after vs floor | target |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sb, sa = before["scale"]["libs"], after["scale"]["libs"]
    floor_cost = scale_bench._cost(sa["floor"]) if "floor" in sa else float("nan")
    for lib in libs:
        eb, ea = sb.get(lib), sa.get(lib)

        def cell(e: dict[str, Any] | None) -> str:
            if not e:
                return "—"
            return f"{e.get('max_realtime', 0)} / {scale_bench._projection(e):.0f}"

        def cost(e: dict[str, Any] | None) -> str:
            return f"{scale_bench._cost(e) * 1000:.2f} ms" if e else "—"

        target = SESSIONS_TARGET.get(lib)
        met = ""
        if target is not None and ea:
            proj = scale_bench._projection(ea)
            met = (
                f"≥ {target} ({'met' if ea.get('max_realtime', 0) >= target else 'not met'} "
                f"sustained, {'met' if proj >= target else 'not met'} projected)"
            )
        vs = _ratio(scale_bench._cost(ea), floor_cost) if ea else "—"
        lines.append(
            f"| {lib} | {cell(eb)} | {cell(ea)} | {cost(eb)} | {cost(ea)} | {vs} | {met} |"
        )
    cb, ca = _core_us(before), _core_us(after)
    ab, aa = _adapter_rows(before), _adapter_rows(after)
    lines += [
        "",
        "## Before and after: per frame (`benchmarks.adapter_profile`, client CPU µs)",
        "",
        "| case | before µs | after µs | target |",
        "| --- | ---: | ---: | ---: |",
    ]
    for part in ("recv", "send"):
        a_us = ca.get(part, float("nan"))
        lines.append(
            f"| core {part} | {cb.get(part, float('nan')):.2f} | {a_us:.2f} | "
            f"≤ {CORE_TARGET_US:g} ({'met' if a_us <= CORE_TARGET_US else 'not met'}) |"
        )
    for name in dict.fromkeys([*aa, *ab]):
        for i, mode in enumerate(("rtt", "recv", "send")):
            before_cell = ab[name][i] if name in ab else "—"
            after_cell = aa[name][i] if name in aa else "—"
            lines.append(f"| {name} {mode} | {before_cell} | {after_cell} | |")
    lines += [
        "",
        "Commands (the before checkout with its own venv, then this checkout, back to back):",
        "",
        "```sh",
        "git worktree add /tmp/bench-before eea2292 && (cd /tmp/bench-before && "
        "make .venv/.installed-dev)",
        "(cd /tmp/bench-before && .venv/bin/python -m benchmarks.run --quick --no-write "
        "--json /tmp/bench-before.json)",
        ".venv/bin/python -m benchmarks.run --quick --no-write --json /tmp/bench-after.json",
        ".venv/bin/python -m benchmarks.compare /tmp/bench-before.json /tmp/bench-after.json "
        "--write",
        "```",
        "",
        END,
        "",
    ]
    return "\n".join(lines)


def write(page: Path, section: str) -> None:
    """Replace the compare block in ``page`` (or insert it before the generated block)."""
    text = page.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len(END) :].lstrip("\n")
    else:
        from .run import BEGIN as RUN_BEGIN

        at = text.find(RUN_BEGIN)
        at = at if at >= 0 else len(text)
        text = text[:at] + section + "\n" + text[at:]
    page.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare")
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    section = render(
        json.loads(Path(args.before).read_text()), json.loads(Path(args.after).read_text())
    )
    if args.write:
        write(PAGE, section)
    print(section)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
