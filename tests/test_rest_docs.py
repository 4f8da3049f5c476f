"""docs/rest.md: every python block runs, in order, in one namespace (a fresh interpreter)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "rest.md"
FENCE = re.compile(r"^```python\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)

RUNNER = r"""
import json, sys
namespace = {"__name__": "__main__"}
for index, code in enumerate(json.load(sys.stdin)):
    exec(compile(code, f"rest.md block {index}", "exec"), namespace)
print("ran", index + 1, "blocks")
"""


def test_every_block_of_the_rest_page_runs(tmp_path: Path) -> None:
    blocks = FENCE.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert f"ran {len(blocks)} blocks" in result.stdout
    # The masked client secret was printed, never the value.
    assert "ClientSecret(value=Secret('ek_..." in result.stdout
