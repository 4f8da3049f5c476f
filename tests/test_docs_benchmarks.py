"""The benchmark harness: a tiny run still produces numbers, and the page writer is safe.

Timings are never asserted; only that the harness runs end to end and reports figures.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.run import BEGIN, END, render_section, write_section

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "report.json"
    env = dict(os.environ, OAIRT_BENCH_WARMUP_S="0.1")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--smoke",
            "--libs",
            "oairt-asyncio,sdk",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.read_text())
    return report


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def test_smoke_run_produces_numbers(smoke_report: dict[str, Any]) -> None:
    full = {r["lib"]: r for r in smoke_report["fullstack"]["results"]}
    assert set(full) == {"oairt-asyncio", "sdk"}
    for r in full.values():
        assert "error" not in r, r
        for key in ("cpu_per_s", "latency_p50_ms", "latency_p99_ms", "recv_ratio"):
            assert _finite(r[key]), (key, r)
        assert r["cpu_s"] > 0
    scale = smoke_report["scale"]["libs"]
    for lib in ("oairt-asyncio", "sdk"):
        step = scale[lib]["steps"][0]
        assert step["sessions"] == 1 and "error" not in step, step
        assert _finite(step["cpu_per_audio_s"])
        assert _finite(scale[lib]["idle"]["rss_idle_per_session_kb"])


def test_rendered_section_has_every_table(smoke_report: dict[str, Any]) -> None:
    text = render_section(smoke_report)
    assert text.startswith(BEGIN) and text.rstrip().endswith(END)
    assert "## Full stack" in text
    assert "sessions sustained on one core" in text
    assert "| oairt-asyncio |" in text and "| sdk |" in text


def test_write_section_keeps_the_rest_of_the_page(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    codec = "# Benchmarks\n\n## Codec\n\nA's table | stays | exactly\n"
    page.write_text(codec)
    write_section(page, f"{BEGIN}\nfirst\n{END}\n")
    write_section(page, f"{BEGIN}\nsecond\n{END}\n")
    text = page.read_text()
    assert text.startswith(codec)
    assert "second" in text and "first" not in text
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    # Text after our block (a later section) survives too.
    page.write_text(text + "\n## Notes\n\nkept\n")
    write_section(page, f"{BEGIN}\nthird\n{END}\n")
    assert page.read_text().endswith("## Notes\n\nkept\n")


def test_plot_writes_a_png(smoke_report: dict[str, Any], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from benchmarks.plot import plot_scale

    out = plot_scale(smoke_report["scale"], tmp_path / "scale.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_puts_before_and_after_side_by_side(
    smoke_report: dict[str, Any], tmp_path: Path
) -> None:
    from benchmarks import compare

    after = json.loads(json.dumps(smoke_report))
    for r in after["fullstack"]["results"]:
        r["cpu_per_s"] = r["cpu_per_s"] / 2  # a visibly different "after"
    text = compare.render(smoke_report, after)
    assert text.startswith(compare.BEGIN) and text.rstrip().endswith(compare.END)
    row = next(line for line in text.splitlines() if line.startswith("| oairt-asyncio |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    before_ms, after_ms = float(cells[1]), float(cells[2])
    assert after_ms == pytest.approx(before_ms / 2, rel=0.01)
    # The block goes in before the generated section and is replaced, not repeated.
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\n{BEGIN}\ngenerated\n{END}\n")
    compare.write(page, text)
    compare.write(page, text)
    out = page.read_text()
    assert out.count(compare.BEGIN) == 1
    assert out.index(compare.END) < out.index(BEGIN)
    assert "generated" in out
