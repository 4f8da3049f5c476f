"""Voice sessions that reconnect (issue 11, point 5), through the fault proxy, on
anyio-asyncio, anyio-trio and native trio.

``open_voice(..., reconnect=ReconnectPolicy(...))``: a drop is followed by a new
connection; the configuration is re-applied, the conversation replayed, the lost
parts reported with typed notices in the voice event stream, and ``async for`` goes on.
A tool running at the drop finishes and its output goes to the new session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from oairt_anyio.testing import run_fake_server
from oairt_core.reconnect import (
    Reconnected,
    ReconnectFailed,
    Reconnecting,
    ReconnectPolicy,
    ResponseLost,
)
from oairt_core.testing import Script
from oairt_core.testing.script import call_function, say
from oairt_core.voice import (
    AudioDelta,
    Error,
    RealtimeBuilder,
    ResponseDone,
    ToolResult,
    TranscriptDone,
)
from tests.conftest import Adapter
from tests.support.faultproxy import (
    Close,
    ConnectionPlan,
    FaultAction,
    Reset,
    TaskCensus,
    run_fault_proxy,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-voice-reconnect-0000"
GUARD = 20
FAST = ReconnectPolicy(base_delay=0.001, max_delay=0.002)


def at_first(event_type: str, action: FaultAction) -> ConnectionPlan:
    """Replace the first server frame of ``event_type`` with ``action``."""

    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        return action if kind == event_type else None

    return ConnectionPlan(on_server_frame=hook)


def builder() -> RealtimeBuilder:
    return RealtimeBuilder().api_key(KEY).voice_session().voice("marin").push_to_talk()


async def collect_until(session: Any, stop: Callable[[Any], bool]) -> list[Any]:
    out: list[Any] = []
    async for event in session:
        out.append(event)
        if stop(event):
            return out
    raise AssertionError(f"session ended early after {[type(e).__name__ for e in out]}")


def sent_types(record: Any) -> list[str]:
    return [json.loads(p)["type"] for p in record.sent_text]


@pytest.mark.parametrize(
    ("action", "code"),
    [(Close(1012, "restart"), 1012), (Close(1011), 1011), (Reset(), 1006)],
    ids=["1012", "1011", "reset-1006"],
)
async def test_voice_session_reconnects_mid_response_and_goes_on(
    adapter: Adapter, action: FaultAction, code: int
) -> None:
    census = TaskCensus()
    script = Script(say("The first answer is long enough to be cut."), say("Second answer."))
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", action)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                cfg = builder().instructions("Be brief.").build()
                async with adapter.open_voice(cfg, base_url=url, reconnect=FAST) as session:
                    await session.send_text("hello")
                    events = await collect_until(session, lambda e: isinstance(e, Reconnected))
                    # What was lost, then the reconnection, in the voice event stream.
                    lost = [e for e in events if isinstance(e, ResponseLost)]
                    assert len(lost) == 1 and lost[0].response_id is not None
                    reconnecting = [e for e in events if isinstance(e, Reconnecting)]
                    assert [(r.attempt, r.close_code) for r in reconnecting] == [(1, code)]
                    assert events[-1] == Reconnected(attempt=1, replayed_items=1)
                    # The same ``async for`` goes on: a new turn completes.
                    await session.send_text("again")
                    more = await collect_until(session, lambda e: isinstance(e, ResponseDone))
                    assert more[-1].status == "completed"
                    said = [e.text for e in more if isinstance(e, TranscriptDone)]
                    assert said == ["Second answer."]
                    assert any(isinstance(e, AudioDelta) for e in more)
                    assert not any(isinstance(e, Error) for e in events + more)
                assert proxy.connections == 2
                second = proxy.records[1]
                # The new session got the configuration first, then the replayed user item.
                first_sent = json.loads(second.sent_text[0])
                assert first_sent["type"] == "session.update"
                assert first_sent["session"]["instructions"] == "Be brief."
                replayed = json.loads(second.sent_text[1])
                assert replayed["type"] == "conversation.item.create"
                assert replayed["item"]["content"][0]["text"] == "hello"
    assert census.leaked() == []


async def test_replay_can_be_switched_off(adapter: Adapter) -> None:
    script = Script(say("The first answer is long enough to be cut."), say("Second."))
    policy = ReconnectPolicy(base_delay=0.001, max_delay=0.002, replay_items=False)
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                async with adapter.open_voice(
                    builder().build(), base_url=url, reconnect=policy
                ) as s:
                    await s.send_text("hello")
                    events = await collect_until(s, lambda e: isinstance(e, Reconnected))
                    assert events[-1] == Reconnected(attempt=1, replayed_items=0)
                    await s.send_text("again")
                    await collect_until(s, lambda e: isinstance(e, ResponseDone))
                assert "conversation.item.create" in sent_types(proxy.records[1])
                items = [json.loads(p) for p in proxy.records[1].sent_text]
                texts = [
                    i["item"]["content"][0]["text"]
                    for i in items
                    if i["type"] == "conversation.item.create"
                ]
                assert texts == ["again"]  # "hello" was not replayed


async def test_tool_running_at_the_drop_finishes_into_the_new_session(adapter: Adapter) -> None:
    """The chosen rule: a tool running when the connection drops is not cancelled; its
    output is sent on the new connection (where the replayed call item is), and the
    automatic response.create follows."""
    census = TaskCensus()
    release = anyio.Event()
    started = anyio.Event()

    async def lookup() -> str:
        """Look something up slowly."""
        started.set()
        await release.wait()
        return "found it"

    script = Script().reply(call_function("lookup", "{}", call_id="call_1")).say("Here it is.")
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.done", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                cfg = builder().tool_desc("lookup", "Look something up.", lookup).build()
                async with adapter.open_voice(cfg, base_url=url, reconnect=FAST) as session:
                    await session.send_text("find it")
                    events = await collect_until(session, lambda e: isinstance(e, Reconnected))
                    assert started.is_set()
                    release.set()  # the tool finishes after the reconnection
                    events += await collect_until(session, lambda e: isinstance(e, TranscriptDone))
                    (result,) = [e for e in events if isinstance(e, ToolResult)]
                    assert result.output == "found it" and not result.is_error
                    assert events[-1].text == "Here it is."
                    assert not any(isinstance(e, Error) for e in events)
                second = [json.loads(p) for p in proxy.records[1].sent_text]
                outputs = [
                    e["item"]
                    for e in second
                    if e["type"] == "conversation.item.create"
                    and e["item"]["type"] == "function_call_output"
                ]
                assert [(o["call_id"], o["output"]) for o in outputs] == [("call_1", "found it")]
                kinds = [e["type"] for e in second]
                # the call item was replayed before its output, and a reply was asked for
                call_at = next(
                    i
                    for i, e in enumerate(second)
                    if e["type"] == "conversation.item.create"
                    and e["item"]["type"] == "function_call"
                )
                output_at = kinds.index("conversation.item.create", call_at + 1)
                assert "response.create" in kinds[output_at:]
    assert census.leaked() == []


async def test_without_reconnect_a_drop_still_ends_the_session(adapter: Adapter) -> None:
    script = Script(say("The first answer is long enough to be cut."))
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", Close(1011))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                async with adapter.open_voice(builder().build(), base_url=url) as session:
                    await session.send_text("hello")
                    events = [e async for e in session]
                errors = [e for e in events if isinstance(e, Error)]
                assert len(errors) == 1 and "1011" in errors[0].message
                assert proxy.connections == 1


async def test_gives_up_with_reconnect_failed_then_error(adapter: Adapter) -> None:
    script = Script(say("The first answer is long enough to be cut."))
    policy = ReconnectPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002)
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", Close(1013))] + [
                ConnectionPlan(refuse=True) for _ in range(3)
            ]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                async with adapter.open_voice(
                    builder().build(), base_url=url, reconnect=policy
                ) as s:
                    await s.send_text("hello")
                    events = [e async for e in s]
                kinds = [type(e).__name__ for e in events if not isinstance(e, AudioDelta)]
                assert kinds.count("Reconnecting") == 2
                failed = [e for e in events if isinstance(e, ReconnectFailed)]
                assert len(failed) == 1
                assert kinds.index("ReconnectFailed") < kinds.index("Error")
                assert proxy.connections == 3
