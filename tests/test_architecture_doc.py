"""docs/architecture.md: its picture is the generator's output, and the layers it names exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_drawn_picture_is_up_to_date() -> None:
    path = ROOT / "docs" / "gen_architecture.py"
    spec = importlib.util.spec_from_file_location("gen_architecture", path)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    svg = (ROOT / "docs" / "img" / "architecture.svg").read_text()
    assert svg == gen.render(), "run: python docs/gen_architecture.py"


def test_every_module_the_page_names_exists() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    for path in ("oairt_core/_async/_backend.py", "oairt_core/_async/_sync.py",
                 "oairt_core/_async/connection.py", "oairt_core/_async/reconnect.py",
                 "oairt_core/_async/voice.py", "oairt_core/_async/rest.py",
                 "oairt_core/_async/api.py", "oairt_anyio/_backend.py", "oairt_trio/_backend.py",
                 "oairt_core/_playback.py", "oairt_core/_tool_calls.py", "oairt_core/_mcp.py",
                 "oairt_core/_conversation.py", "oairt_core/_actions.py", "oairt_core/_frames.py"):
        stem = path.rsplit("/", 1)[1].removesuffix(".py")
        assert stem in text, path
        assert (ROOT / path).exists(), path
