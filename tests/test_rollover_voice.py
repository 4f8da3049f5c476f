"""Session rollover of a live voice session against the fake server (issue 15, part 1), on
anyio-asyncio, anyio-trio and native trio.

The fake server ends each session at ``max_session_seconds`` (``session_expired``, then
close 1001) exactly like GA; the caps here are seconds long. Nothing asserts a duration:
the tests wait for events (with a generous guard) and check what each session received.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import anyio
import msgspec
import pytest

from oairt_anyio.testing import FakeServer, run_fake_server
from oairt_core._async.reconnect import ReconnectingConnection
from oairt_core.reconnect import (
    Reconnected,
    ReconnectPolicy,
    ResponseLost,
    RolloverPolicy,
    SessionRolledOver,
)
from oairt_core.testing import Script
from oairt_core.testing.script import call_function, say
from oairt_core.tools import tool
from oairt_core.voice import (
    AudioDelta,
    Error,
    Interrupted,
    RealtimeBuilder,
    ResponseDone,
    SessionReady,
    ToolResult,
    TranscriptDone,
)
from tests.conftest import Adapter
from tests.support.faultproxy import Close, ConnectionPlan, FaultAction, run_fault_proxy

pytestmark = pytest.mark.anyio

KEY = "sk-test-rollover-0000"
GUARD = 30


class City(msgspec.Struct):
    city: str


@tool
def get_weather(args: City) -> str:
    """The weather in a city."""
    return f"sunny in {args.city}"


def builder() -> RealtimeBuilder:
    return (
        RealtimeBuilder()
        .api_key(KEY)
        .voice_session()
        .voice("marin")
        .push_to_talk()
        .instructions("Be brief.")
    )


async def until(session: Any, stop: Callable[[Any], bool]) -> list[Any]:
    """The session's events up to and including the first ``stop`` matches."""
    out: list[Any] = []
    async for event in session:
        out.append(event)
        if stop(event):
            return out
    raise AssertionError(f"session ended after {[type(e).__name__ for e in out]}")


def rolled(event: Any) -> bool:
    return isinstance(event, SessionRolledOver)


def done(status: str = "completed") -> Callable[[Any], bool]:
    return lambda e: isinstance(e, ResponseDone) and e.status == status


def played_out(session: Any, events: list[Any]) -> None:
    """The app's player has played every audio chunk it was given."""
    heard: dict[str, float] = {}
    for e in events:
        if isinstance(e, AudioDelta):
            heard[e.item_id] = heard.get(e.item_id, 0.0) + e.duration_ms
    for item_id, ms in heard.items():
        session.mark_played(item_id, ms)


def carried(conn: Any, n: int) -> list[tuple[str, str]]:
    """The ``n`` items a new session was given after the configuration: (role or type, text)."""
    out: list[tuple[str, str]] = []
    for e in conn.received_events[1 : n + 1]:
        assert e["type"] == "conversation.item.create"
        item = e["item"]
        if item["type"] == "message":
            out.append((item["role"], item["content"][0]["text"]))
        else:
            out.append((item["type"], item["call_id"]))
    return out


def at_first(event_type: str, action: FaultAction) -> ConnectionPlan:
    """Replace the first server frame of ``event_type`` with ``action``."""

    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        return action if kind == event_type else None

    return ConnectionPlan(on_server_frame=hook)


def first_sent(conn: Any) -> dict[str, Any]:
    event: dict[str, Any] = conn.received_events[0]
    return event


async def test_a_call_runs_through_three_rollovers_with_tools_and_barge_in(
    adapter: Adapter,
) -> None:
    first_ask = iter([True])
    script = Script()
    script.when("hello", say("Hi there."))
    # The first "weather" response calls the tool; the one after its output answers.
    script.when(
        lambda text: "weather" in text and next(first_ask, False),
        call_function("get_weather", '{"city": "Paris"}'),
    )
    script.when("weather", say("It is sunny in Paris."))
    script.when("story", say("Once upon a time there lived a very old king.", duration_ms=2000))
    script.when("bye", say("Goodbye."))
    policy = RolloverPolicy(before=1.5, session_limit=3.0)
    cfg = builder().tool(get_weather).build()
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=3.0
        ) as server:
            async with adapter.open_voice(cfg, base_url=server.url, rollover=policy) as session:
                seen: list[Any] = []
                # Turn 1: text. Then the first rollover, at a quiet moment.
                await session.send_text("hello")
                turn = await until(session, done())
                played_out(session, turn)
                seen += turn
                notice = (await until(session, rolled))[-1]
                assert notice.rollovers == 1 and notice.reason == "quiet"
                assert not notice.at_cap and notice.lost == ()
                assert notice.carried_items == 2
                notices = [notice]
                # Turn 2: a tool call, then the answer; the second rollover.
                await session.send_text("what's the weather?")
                turn = await until(
                    session,
                    lambda e: isinstance(e, TranscriptDone) and "sunny" in e.text.lower(),
                )
                turn += await until(session, done())
                played_out(session, turn)
                seen += turn
                assert any(isinstance(e, ToolResult) for e in turn)
                notices.append((await until(session, rolled))[-1])
                # Turn 3: a long answer the user interrupts half-way; the third rollover.
                await session.send_text("tell me a story")
                turn = await until(session, lambda e: isinstance(e, AudioDelta))
                story_item = turn[-1].item_id
                # The user heard 60% of what had arrived, then spoke over it.
                heard = 0.6 * session.core.received_ms(story_item)
                session.mark_played(story_item, heard)
                interrupted = await session.barge_in()
                assert isinstance(interrupted, Interrupted)
                turn += await until(session, rolled)
                seen += turn[:-1]
                notices.append(turn[-1])
                # Turn 4 in the fourth session: the call goes on.
                await session.send_text("bye")
                turn = await until(session, done())
                seen += turn
                said = [e.text for e in turn if isinstance(e, TranscriptDone)]
                assert said == ["Goodbye."]
            assert [n.rollovers for n in notices] == [1, 2, 3]
            assert all(n.reason == "quiet" and not n.at_cap for n in notices)
            # The app's stream noticed nothing else: one session start, no error.
            assert sum(isinstance(e, SessionReady) for e in seen) <= 1
            assert not any(isinstance(e, Error) for e in seen)
            check_sessions(server, notices)


def check_sessions(server: FakeServer, notices: list[SessionRolledOver]) -> None:
    conns = server.connections
    assert len(conns) == 4
    assert server.violations == []
    for conn in conns[1:]:
        # Every new session got the configuration first.
        update = first_sent(conn)
        assert update["type"] == "session.update"
        assert update["session"]["instructions"] == "Be brief."
        assert [t["name"] for t in update["session"]["tools"]] == ["get_weather"]
    assert carried(conns[1], notices[0].carried_items) == [
        ("user", "hello"),
        ("assistant", "Hi there."),
    ]
    second = carried(conns[2], notices[1].carried_items)
    assert second[:2] == [("user", "hello"), ("assistant", "Hi there.")]
    assert second[2] == ("user", "what's the weather?")
    assert [kind for kind, _ in second[3:5]] == ["function_call", "function_call_output"]
    assert second[5] == ("assistant", "It is sunny in Paris.")
    assert notices[1].carried_items == 6
    third = carried(conns[3], notices[2].carried_items)
    assert third[:6] == second
    assert third[6] == ("user", "tell me a story")
    # The interrupted answer: only what the user heard (60%), marked as cut off.
    assert len(third) == 8 and notices[2].lost == ()
    role, text = third[7]
    story = "Once upon a time there lived a very old king."
    assert role == "assistant" and text.endswith("…") and len(text) > 1
    head = text.removesuffix("…")
    assert story.startswith(head + " ") and len(head) <= 0.6 * len(story)
    # The old sessions were closed by the client, normally, before their cap.
    for conn in conns[:3]:
        assert conn.close_code == 1000
        errors = [e["error"]["code"] for e in conn.sent_events if e["type"] == "error"]
        # (A barge-in's cancel may race the end of a fast reply: a harmless, handled error.)
        assert set(errors) <= {"response_cancel_not_active"}


async def test_at_the_cap_mid_answer_the_call_goes_on_with_least_loss(adapter: Adapter) -> None:
    script = Script(
        say("This answer is far too long to finish before the cap.", duration_ms=6000),
        say("Here is the short version.", duration_ms=300),
    )
    # The standby opens when the window does (2 s in): at the cap it has 2 s left.
    policy = RolloverPolicy(before=1.0, session_limit=3.0)
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=3.0, pacing="realtime"
        ) as server:
            async with adapter.open_voice(
                builder().build(), base_url=server.url, rollover=policy
            ) as session:
                sent: list[bytes] = []
                stop = anyio.Event()

                async def microphone() -> None:
                    # Audio flows all through the switch; none of it may be lost.
                    n = 0
                    while not stop.is_set():
                        chunk = bytes([n % 251 + 1, 0]) * 240  # 10 ms, numbered
                        sent.append(chunk)
                        await session.send_pcm16(chunk)
                        n += 1
                        await anyio.sleep(0.01)

                async with anyio.create_task_group() as tg:
                    tg.start_soon(microphone)
                    await session.send_text("tell me everything")
                    events = await until(session, rolled)
                    notice = events[-1]
                    events += await until(session, done())
                    stop.set()
            assert notice.at_cap and notice.reason == "cap" and notice.rollovers == 1
            cut = [n for n in notice.lost if isinstance(n, ResponseLost)]
            assert len(cut) == 1 and cut[0].response_id is not None
            assert notice.resumed_response
            # The app saw no error and no close; the resumed answer came from the new session.
            assert not any(isinstance(e, Error) for e in events)
            said = [e.text for e in events if isinstance(e, TranscriptDone)]
            assert said == ["Here is the short version."]
            old, new = server.connections[:2]
            assert old.close_code == 1001
            assert [e["error"]["code"] for e in old.sent_events if e["type"] == "error"] == [
                "session_expired"
            ]
            assert [e["type"] for e in new.received_events[:2]] == [
                "session.update",
                "conversation.item.create",
            ]
            assert carried(new, notice.carried_items) == [("user", "tell me everything")]
            assert "response.create" in [e["type"] for e in new.received_events]
            # Every chunk the microphone sent reached one of the two sessions.
            got = b"".join(
                base64.b64decode(e["audio"])
                for conn in (old, new)
                for e in conn.received_events
                if e["type"] == "input_audio_buffer.append"
            )
            assert all(chunk in got for chunk in sent)
            assert server.violations == []


async def test_the_summary_hook_replaces_the_history(adapter: Adapter) -> None:
    script = Script(say("Hi there."), say("Fine."))
    asked: list[int] = []

    async def summarize(items: Any) -> str:
        asked.append(len(items))
        return "The caller greeted us."

    policy = RolloverPolicy(before=1.0, session_limit=2.0, summarize=summarize)
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=2.0
        ) as server:
            async with adapter.open_voice(
                builder().build(), base_url=server.url, rollover=policy
            ) as session:
                await session.send_text("hello")
                played_out(session, await until(session, done()))
                notice = (await until(session, rolled))[-1]
                await session.send_text("how are you?")
                await until(session, done())
            assert asked == [2]
            assert notice.summarized and notice.carried_items == 1
            assert len(notice.dropped_items) == 2
            new = server.connections[1]
            assert carried(new, 1) == [("system", "The caller greeted us.")]


async def test_rollover_refuses_a_sideband_session(adapter: Adapter) -> None:
    with pytest.raises(ValueError, match="rollover"):
        async with adapter.open_voice(
            builder().build(),
            base_url="ws://127.0.0.1:9/v1",
            call_id="rtc_123",
            rollover=RolloverPolicy(),
        ):
            pass


async def test_rollover_with_reconnect_each_session_reconnects_on_its_own(
    adapter: Adapter,
) -> None:
    script = Script(say("Hi there."), say("A reply long enough to be cut off."), say("Again."))
    policy = RolloverPolicy(before=1.0, session_limit=3.0)
    fast = ReconnectPolicy(base_delay=0.001, max_delay=0.002)
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=3.0
        ) as server:
            # The second connection (the session rolled over to) drops mid-reply.
            plans = [ConnectionPlan(), at_first("response.output_audio.delta", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                async with adapter.open_voice(
                    builder().build(), base_url=url, reconnect=fast, rollover=policy
                ) as session:
                    await session.send_text("hello")
                    played_out(session, await until(session, done()))
                    notice = (await until(session, rolled))[-1]
                    assert notice.carried_items == 2
                    rc = session.connection.connection
                    assert isinstance(rc, ReconnectingConnection)
                    # One conversation tracker for the call, shared by the new session's
                    # reconnection.
                    assert rc.reconnect_state.mirror is session.core.conversation
                    await session.send_text("go on")
                    events = await until(session, lambda e: isinstance(e, Reconnected))
                    assert any(isinstance(e, ResponseLost) for e in events)
                    await session.send_text("again")
                    events = await until(session, done())
                    said = [e.text for e in events if isinstance(e, TranscriptDone)]
                    assert said == ["Again."]
                assert proxy.connections == 3
                third = proxy.records[2]
                sent = [json.loads(p) for p in third.sent_text]
                # The reconnected session got the configuration and the call's conversation.
                assert sent[0]["type"] == "session.update"
                texts = [
                    e["item"]["content"][0]["text"]
                    for e in sent
                    if e["type"] == "conversation.item.create" and e["item"]["type"] == "message"
                ]
                assert texts[:3] == ["hello", "Hi there.", "go on"]


async def test_connect_voice_rolls_over_in_a_group_of_your_own(adapter: Adapter) -> None:
    script = Script(say("Hi there."), say("Still here."))
    policy = RolloverPolicy(before=1.0, session_limit=2.0)
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=2.0
        ) as server:
            async with adapter.open_group() as group:
                session = await adapter.connect_voice(
                    group, builder().build(), base_url=server.url, rollover=policy
                )
                await session.send_text("hello")
                played_out(session, await until(session, done()))
                notice = (await until(session, rolled))[-1]
                await session.send_text("still there?")
                events = await until(session, done())
                await session.aclose()
            assert notice.reason == "quiet" and notice.carried_items == 2
            assert [e.text for e in events if isinstance(e, TranscriptDone)] == ["Still here."]
            assert len(server.connections) == 2
            assert server.connections[0].close_code == 1000
