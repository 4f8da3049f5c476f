"""Each seed-section example under docs/examples runs against the fake server (asyncio, trio)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from oairt_anyio.testing import run_fake_server
from oairt_core.testing import Script
from oairt_core.testing.rest_fake import FakeCallState, FakeRestApi
from oairt_core.testing.script import call_function, mcp_approval_request, say
from oairt_core.testing.server import Pacing
from oairt_core.voice import Interrupted

pytestmark = pytest.mark.anyio

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
KEY = "sk-test-examples-0000"


def load(name: str) -> ModuleType:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))  # for the examples' own `run()` helper import
    spec = importlib.util.spec_from_file_location(f"voice_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def run_example(name: str, script: Script, pacing: Pacing = "fast", fn: str = "main") -> Any:
    module = load(name)
    async with run_fake_server(script=script, api_keys={KEY}, pacing=pacing) as server:
        result = await getattr(module, fn)(server.url, KEY)
        assert server.violations == []
    return result


async def test_quickstart() -> None:
    said = await run_example("quickstart", Script().say("Hi there."))
    assert said == ["Hi there."]


async def test_barge_in() -> None:
    script = Script().reply(say("A very long reply indeed.", duration_ms=3000))
    result = await run_example("barge_in", script, pacing="realtime")
    assert isinstance(result, Interrupted)
    assert result.cancelled and result.audio_end_ms == 300


async def test_streams() -> None:
    nbytes, text = await run_example("streams", Script().say("Streaming words."))
    assert nbytes > 0 and text == "Streaming words."


async def test_response_builder() -> None:
    summary = await run_example("response_builder", Script().text("Brief.").text("yes"))
    assert summary == "Brief."


async def test_send_audio() -> None:
    assert await run_example("send_audio", Script().say("Heard.")) == "Heard."


async def test_stream_audio() -> None:
    end_ms = await run_example("stream_audio", Script())
    assert isinstance(end_ms, int) and end_ms > 500


async def test_typed_tools() -> None:
    script = Script().reply(call_function("sum", '{"a": 20, "b": 22}')).say("42.")
    log = await run_example("typed_tools", script)
    assert log == ['tool sum -> {"sum":42}', "assistant: 42."]


async def test_low_level() -> None:
    seen = await run_example("low_level", Script())
    assert seen == ["SessionCreatedEvent", "SessionUpdatedEvent"]


async def test_mcp() -> None:
    seen = await run_example("mcp", Script())
    assert seen[-1] == "McpListToolsCompletedEvent"
    assert load("mcp").voice_config(KEY).tools[0].server_label == "weather"


async def test_mcp_approval() -> None:
    script = Script().reply(mcp_approval_request("weather", "get_forecast", "{}", output="hot"))
    script.say("It is hot.")
    log = await run_example("mcp_approval", script)
    assert log == [
        "approval asked for get_forecast({})",
        "mcp call output: hot",
        "assistant: It is hot.",
    ]


async def test_mcp_approval_low_level() -> None:
    script = Script().reply(mcp_approval_request("weather", "get_forecast", "{}", output="hot"))
    seen = await run_example("mcp_approval", script, fn="low_level")
    assert seen[-1] == "ResponseMcpCallCompletedEvent"


async def test_response_creation() -> None:
    assert await run_example("response_creation", Script().text("Hi!")) == "Hi!"


async def test_rest_helpers() -> None:
    module = load("rest_helpers")
    fake = FakeRestApi({KEY})
    async with run_fake_server(api_keys={KEY}, rest=fake) as server:
        call_id = await module.main(server.url, KEY)
    assert call_id is not None and call_id.startswith("rtc_")
    assert fake.calls[call_id].state is FakeCallState.ENDED


def test_ga_constraints() -> None:
    refused = load("ga_constraints").rejected()
    assert [field for field, _ in refused] == [
        "session.output_modalities",
        "session.audio.input.format.rate",
        "audio",
    ]
    assert "24000" in refused[1][1] and "15 MiB" in refused[2][1]
