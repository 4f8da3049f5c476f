"""open_realtime(reconnect=...) end to end: the fake server behind a faulty proxy, on
anyio-asyncio, anyio-trio and native trio.

The proxy drops the first connection in the middle of a response (close 1012, close
1011, or a TCP reset = 1006); the wrapper reports what was lost, reconnects, re-applies
the session configuration (and optionally the items) and the session goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import anyio
import msgspec
import pytest

from oairt_anyio import ReconnectingEvent
from oairt_anyio.testing import run_fake_server
from oairt_core.errors import ConnectionClosedError, HandshakeError
from oairt_core.events import (
    ConversationItemAddedEvent,
    ConversationItemCreateEvent,
    InputAudioBufferAppendEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from oairt_core.models import AudioConfig, AudioInputConfig, MessageItem, RealtimeSessionConfig
from oairt_core.reconnect import (
    InputAudioLost,
    ItemsLost,
    Reconnected,
    ReconnectFailed,
    Reconnecting,
    ReconnectPolicy,
    ResponseLost,
)
from oairt_core.testing import Script, say
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

KEY = "sk-test-resilient-0123456789"
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


async def until(
    conn: object, pred: Callable[[ReconnectingEvent], bool], seen: list[ReconnectingEvent]
):
    async for ev in conn:  # type: ignore[attr-defined]
        seen.append(ev)
        if pred(ev):
            return ev
    raise AssertionError(f"stream ended before the expected event; saw {seen!r}")


@pytest.mark.parametrize(
    ("action", "code"),
    [(Close(1012, "restart"), 1012), (Close(1011), 1011), (Reset(), 1006)],
    ids=["1012", "1011", "reset-1006"],
)
async def test_drop_mid_response_reconnects_and_reapplies(
    adapter: Adapter, action: FaultAction, code: int
) -> None:
    census = TaskCensus()
    script = Script(say("The first answer is long enough to be cut."), say("Second answer."))
    with anyio.fail_after(20):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", action)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=FAST
                ) as conn:
                    config = RealtimeSessionConfig(
                        instructions="Be brief.", output_modalities=["audio"]
                    )
                    await conn.send(SessionUpdateEvent(session=config))
                    await until(conn, lambda e: isinstance(e, SessionUpdatedEvent), seen)
                    await conn.send(
                        ConversationItemCreateEvent(item=MessageItem.user_text("hello"))
                    )
                    await conn.send(ResponseCreateEvent())
                    created = await until(conn, lambda e: isinstance(e, ResponseCreatedEvent), seen)
                    assert isinstance(created, ResponseCreatedEvent)
                    rid = created.response.id
                    await until(conn, lambda e: isinstance(e, Reconnected), seen)
                    tail = seen[seen.index(created) + 1 :]
                    lost = [e for e in tail if isinstance(e, ResponseLost)]
                    assert lost == [ResponseLost(response_id=rid)]
                    reconnecting = [e for e in tail if isinstance(e, Reconnecting)]
                    assert [(r.attempt, r.close_code) for r in reconnecting] == [(1, code)]
                    # The new session: created, then our configuration applied again.
                    first = await until(conn, lambda e: True, seen)
                    assert isinstance(first, SessionCreatedEvent)
                    updated = await until(conn, lambda e: isinstance(e, SessionUpdatedEvent), seen)
                    assert isinstance(updated, SessionUpdatedEvent)
                    assert getattr(updated.session, "instructions", None) == "Be brief."
                    # ... and it works: a second response completes.
                    await conn.send(ResponseCreateEvent())
                    done = await until(conn, lambda e: isinstance(e, ResponseDoneEvent), seen)
                    assert isinstance(done, ResponseDoneEvent)
                    assert done.response.status == "completed"
                    assert conn.connections == 2
                # What the client saw of connection 1 is exactly what the proxy delivered.
                first_conn = proxy.records[0]
                delivered = [json.loads(p)["type"] for p in first_conn.delivered_text]
                got = []
                for e in seen:
                    if isinstance(e, Reconnecting | ResponseLost | ItemsLost):
                        break
                    got.append(msgspec.json.decode(msgspec.json.encode(e))["type"])
                assert got == delivered
                # The second connection started with the re-applied configuration.
                replay = json.loads(proxy.records[1].sent_text[0])
                assert replay["type"] == "session.update"
                assert replay["session"]["instructions"] == "Be brief."
    assert census.leaked() == []


async def test_replay_items_recreates_the_conversation(adapter: Adapter) -> None:
    census = TaskCensus()
    policy = ReconnectPolicy(base_delay=0.001, max_delay=0.002, replay_items=True)
    with anyio.fail_after(20):
        async with run_fake_server(
            script=Script(say("One."), say("Two.")), api_keys={KEY}
        ) as server:
            plans = [at_first("response.output_audio.delta", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=policy
                ) as conn:
                    item = MessageItem.user_text("remember me", id="item_user_1")
                    await conn.send(ConversationItemCreateEvent(item=item))
                    await until(conn, lambda e: isinstance(e, ConversationItemAddedEvent), seen)
                    await conn.send(ResponseCreateEvent())
                    reconnected = await until(conn, lambda e: isinstance(e, Reconnected), seen)
                    assert reconnected == Reconnected(attempt=1, replayed_items=1)
                    added = await until(
                        conn, lambda e: isinstance(e, ConversationItemAddedEvent), seen
                    )
                    assert isinstance(added, ConversationItemAddedEvent)
                    assert isinstance(added.item, MessageItem)
                    assert (added.item.id, added.item.content) == (item.id, item.content)
                sent = [json.loads(p) for p in proxy.records[1].sent_text]
                assert [m["type"] for m in sent][:1] == ["conversation.item.create"]
                assert sent[0]["item"]["content"][0]["text"] == "remember me"
    assert census.leaked() == []


async def test_gives_up_after_the_budget_and_raises(adapter: Adapter) -> None:
    census = TaskCensus()
    policy = ReconnectPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)
    with anyio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("response.created", Close(1013, "try again later"))] + [
                ConnectionPlan(refuse=True)
            ] * 5
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=policy
                ) as conn:
                    await conn.send(ResponseCreateEvent())
                    with pytest.raises(ConnectionClosedError) as info:
                        async for ev in conn:
                            seen.append(ev)
                    assert info.value.code == 1013
                    with pytest.raises(ConnectionClosedError):
                        await conn.send(ResponseCreateEvent())
                notices = [e for e in seen if isinstance(e, Reconnecting | ReconnectFailed)]
                assert [type(n).__name__ for n in notices] == ["Reconnecting"] * 3 + [
                    "ReconnectFailed"
                ]
                assert notices[-1] == ReconnectFailed(
                    attempts=3,
                    close_code=1013,
                    reason=notices[-1].reason,
                )
                assert proxy.connections == 4
                assert any(isinstance(e, ResponseLost) for e in seen)
    assert census.leaked() == []


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_refused_reconnect_is_final(adapter: Adapter, status: int) -> None:
    with anyio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("response.created", Reset()), ConnectionPlan(reply_status=status)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=FAST
                ) as conn:
                    await conn.send(ResponseCreateEvent())
                    with pytest.raises(ConnectionClosedError):
                        async for ev in conn:
                            seen.append(ev)
                failed = seen[-1]
                assert isinstance(failed, ReconnectFailed)
                assert failed.attempts == 1 and str(status) in failed.reason
                assert KEY not in failed.reason
                assert proxy.connections == 2


async def test_unrecoverable_close_code_is_not_retried(adapter: Adapter) -> None:
    with anyio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("response.created", Close(1008, "policy"))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=FAST
                ) as conn:
                    await conn.send(ResponseCreateEvent())
                    with pytest.raises(ConnectionClosedError) as info:
                        async for ev in conn:
                            seen.append(ev)
                    assert info.value.code == 1008
                assert isinstance(seen[-1], ReconnectFailed) and seen[-1].attempts == 0
                assert proxy.connections == 1


class HookFailed(Exception):
    pass


async def test_a_raising_on_message_hook_is_not_a_drop(adapter: Adapter) -> None:
    """The app's hook failing is the app's error: it comes out of the iteration itself,
    not in an ExceptionGroup, and no reconnection is tried."""

    def hook(direction: str, text: str) -> None:
        if direction == "server" and '"response.created"' in text:
            raise HookFailed("the recorder broke")

    with anyio.fail_after(20):
        async with (
            run_fake_server(script=Script(say("x")), api_keys={KEY}) as server,
            run_fault_proxy(("127.0.0.1", server.port), plans=[]) as proxy,
        ):
            url = f"ws://127.0.0.1:{proxy.port}/v1"
            async with adapter.open_realtime(
                api_key=KEY, model="gpt-realtime", base_url=url, reconnect=FAST, on_message=hook
            ) as conn:
                await conn.send(ResponseCreateEvent())
                with pytest.raises(HookFailed, match="the recorder broke"):
                    async for _ev in conn:
                        pass
                with pytest.raises(ConnectionClosedError, match="on_message hook raised"):
                    await conn.next_event()
            assert proxy.connections == 1


async def test_first_connection_failure_raises_like_connect(adapter: Adapter) -> None:
    census = TaskCensus()
    with anyio.fail_after(20):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [ConnectionPlan(reply_status=401)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                with pytest.raises(HandshakeError) as info:
                    async with adapter.open_realtime(
                        api_key=KEY, model="gpt-realtime", base_url=url, reconnect=ReconnectPolicy()
                    ):
                        pass
                assert info.value.status_code == 401
                assert KEY not in str(info.value)
    assert census.leaked() == []


async def test_close_during_backoff_returns_promptly(adapter: Adapter) -> None:
    census = TaskCensus()
    slow = ReconnectPolicy(base_delay=60.0, max_delay=60.0)
    with anyio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("response.created", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=slow
                ) as conn:
                    await conn.send(ResponseCreateEvent())
                    await until(conn, lambda e: isinstance(e, Reconnecting), seen)
                    # leaving the block now must not wait for the 45-60 s backoff
                assert proxy.connections == 1
    assert census.leaked() == []


async def test_unacknowledged_audio_is_reported_lost(adapter: Adapter) -> None:
    census = TaskCensus()
    manual = RealtimeSessionConfig(audio=AudioConfig(input=AudioInputConfig(turn_detection=None)))
    with anyio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("conversation.item.added", Reset())]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=FAST
                ) as conn:
                    await conn.send(SessionUpdateEvent(session=manual))
                    await until(conn, lambda e: isinstance(e, SessionUpdatedEvent), seen)
                    for _ in range(5):  # 5 x 20 ms of PCM16 at 24 kHz, never committed
                        await conn.send(InputAudioBufferAppendEvent(audio=b"\x01\x00" * 480))
                    await conn.send(ConversationItemCreateEvent(item=MessageItem.user_text("x")))
                    await until(conn, lambda e: isinstance(e, Reconnected), seen)
                    lost = [e for e in seen if isinstance(e, InputAudioLost)]
                    assert lost == [InputAudioLost(bytes=4800, ms=100.0)]
                    # Not committed on the old connection, not sent again on the new one:
                    # the notice is how the application learns it must re-send.
                    updated = await until(conn, lambda e: isinstance(e, SessionUpdatedEvent), seen)
                    assert isinstance(updated, SessionUpdatedEvent)
                    assert conn.reconnect_state.mirror.unacknowledged_audio_bytes == 0
                sent = [json.loads(p)["type"] for p in proxy.records[1].sent_text]
                assert "input_audio_buffer.append" not in sent
                assert sent[0] == "session.update"
    assert census.leaked() == []


def at_nth(event_type: str, n: int, action: FaultAction) -> ConnectionPlan:
    """Replace the ``n``-th (1-based) server frame of ``event_type`` with ``action``."""
    count = 0

    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        nonlocal count
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        if kind != event_type:
            return None
        count += 1
        return action if count == n else None

    return ConnectionPlan(on_server_frame=hook)


async def test_budget_refills_after_each_healthy_reconnect(adapter: Adapter) -> None:
    """A connection that completed a response proved healthy: the budget refills."""
    census = TaskCensus()
    policy = ReconnectPolicy(max_attempts=1, base_delay=0.001, max_delay=0.002)
    script = Script(say("a"), say("b"), say("c"), say("d"), say("e"))
    with anyio.fail_after(20):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            # Each connection completes one response, then drops at the next one.
            plans = [
                at_nth("response.created", 2, Close(1012)),
                at_nth("response.created", 2, Close(1012)),
                ConnectionPlan(),
            ]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=policy
                ) as conn:
                    for _ in range(2):
                        await conn.send(ResponseCreateEvent())
                        await until(conn, lambda e: isinstance(e, ResponseDoneEvent), seen)
                        await conn.send(ResponseCreateEvent())
                        again = await until(conn, lambda e: isinstance(e, Reconnected), seen)
                        assert again == Reconnected(attempt=1)
                    await conn.send(ResponseCreateEvent())
                    done = await until(conn, lambda e: isinstance(e, ResponseDoneEvent), seen)
                    assert isinstance(done, ResponseDoneEvent)
                    assert conn.connections == 3
                assert [type(e).__name__ for e in seen].count("ResponseLost") == 2
                assert not any(isinstance(e, ReconnectFailed) for e in seen)
                assert proxy.connections == 3
    assert census.leaked() == []


async def test_accept_then_drop_storm_ends_in_reconnect_failed(adapter: Adapter) -> None:
    """Issue 13.4: a server that sends session.created and closes 1011 at once is not
    retried forever: session.created is no proof of health, so the budget is spent."""
    census = TaskCensus()
    policy = ReconnectPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)
    with anyio.fail_after(20):
        async with run_fake_server(api_keys={KEY}) as server:
            first = at_nth("response.created", 1, Close(1011, "overloaded"))
            storm = [at_nth("session.updated", 1, Close(1011, "overloaded")) for _ in range(10)]
            plans = [first, *storm]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, reconnect=policy
                ) as conn:
                    await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig()))
                    await conn.send(ResponseCreateEvent())
                    with pytest.raises(ConnectionClosedError) as info:
                        async for ev in conn:
                            seen.append(ev)
                    assert info.value.code == 1011
                reconnected = [e for e in seen if isinstance(e, Reconnected)]
                failed = [e for e in seen if isinstance(e, ReconnectFailed)]
                # Every reconnection was accepted (session.created arrived) and dropped.
                assert len(reconnected) == 3
                assert sum(isinstance(e, SessionCreatedEvent) for e in seen) == 4
                assert failed == [
                    ReconnectFailed(attempts=3, close_code=1011, reason=failed[0].reason)
                ]
                assert proxy.connections == 4
    assert census.leaked() == []


async def test_stalled_peer_write_timeout_then_reconnect(adapter: Adapter) -> None:
    """A server that stops reading: the write times out, the wrapper reconnects and the
    blocked send completes on the new connection; the audio the dead one swallowed is
    reported lost."""
    census = TaskCensus()
    # Small enough that the first appends fit in the kernel's buffers on every adapter
    # (trio writes straight to the socket; asyncio buffers in the transport first), so
    # some audio is surely swallowed by the dead connection before a write stalls.
    chunk = InputAudioBufferAppendEvent(audio=b"\x00" * (16 * 1024))
    with anyio.fail_after(20):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [ConnectionPlan(stop_reading_client=True)]
            async with run_fault_proxy(
                ("127.0.0.1", server.port), plans=plans, rcvbuf=64 * 1024
            ) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                sends = 0
                async with adapter.open_realtime(
                    api_key=KEY,
                    model="gpt-realtime",
                    base_url=url,
                    reconnect=FAST,
                    write_timeout=0.3,
                ) as conn:

                    async def reader() -> None:
                        async for ev in conn:
                            seen.append(ev)

                    async with anyio.create_task_group() as tg:
                        tg.start_soon(reader)
                        while conn.connections == 1:
                            await conn.send(chunk)
                            sends += 1
                        await conn.send(chunk)  # goes out on the new connection
                        sends += 1
                        tg.cancel_scope.cancel()
                assert any(isinstance(e, Reconnected) for e in seen)
                lost = [e for e in seen if isinstance(e, InputAudioLost)]
                assert len(lost) == 1 and lost[0].bytes > 0
                reconnecting = [e for e in seen if isinstance(e, Reconnecting)]
                assert reconnecting[0].close_code == 1006  # the adapter aborted the socket
                on_new = [json.loads(p)["type"] for p in proxy.records[1].sent_text]
                assert on_new.count("input_audio_buffer.append") >= 1
                assert sends < 6400  # backpressure: far less than 140 MB was accepted
    assert census.leaked() == []


async def test_connect_realtime_reconnects_in_your_group(adapter: Adapter) -> None:
    census = TaskCensus()
    script = Script(say("The first answer is long enough to be cut."), say("Second."))
    with anyio.fail_after(20):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ReconnectingEvent] = []
                async with adapter.open_group() as group:
                    conn = await adapter.connect_realtime(
                        group, api_key=KEY, model="gpt-realtime", base_url=url, reconnect=FAST
                    )
                    await conn.send(ResponseCreateEvent())
                    await until(conn, lambda e: isinstance(e, Reconnected), seen)
                    await conn.send(ResponseCreateEvent())
                    done = await until(conn, lambda e: isinstance(e, ResponseDoneEvent), seen)
                    assert isinstance(done, ResponseDoneEvent)
                    assert conn.connections == 2
                    await conn.close()
                assert proxy.connections == 2
    assert census.leaked() == []
