"""Where the voice examples connect: the real API with a key, else a fake server on loopback.

Every example has ``async def main(base_url, api_key)`` (what you would write) and
``run()``, which picks the target: ``$OPENAI_API_KEY`` (and ``$OAIRT_BASE_URL`` if set)
talks to that server; without a key a scripted fake server answers.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from oairt_anyio.testing import run_fake_server
from oairt_core.testing import Script
from oairt_core.testing.server import Pacing

FAKE_KEY = "sk-fake-examples-0000"


@asynccontextmanager
async def endpoint(
    script: Script | None = None, *, pacing: Pacing = "fast"
) -> AsyncIterator[tuple[str | None, str]]:
    """``(base_url, api_key)``: the real API when a key is set, else a fake server."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        yield os.environ.get("OAIRT_BASE_URL"), key
        return
    async with run_fake_server(
        script=script or Script(), api_keys={FAKE_KEY}, pacing=pacing
    ) as server:
        yield server.url, FAKE_KEY
