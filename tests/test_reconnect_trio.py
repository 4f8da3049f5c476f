"""oairt_trio.resilient.open_resilient end to end (trio only): the fake server behind a
faulty proxy drops the connection mid-response; the wrapper reports the loss, reconnects
and re-applies the session configuration; and it gives up cleanly when it must."""

from __future__ import annotations

import json

import pytest
import trio

from oairt_anyio.testing import run_fake_server
from oairt_core.errors import ConnectionClosedError, HandshakeError
from oairt_core.events import (
    ConversationItemAddedEvent,
    ConversationItemCreateEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from oairt_core.models import MessageItem, RealtimeSessionConfig
from oairt_core.reconnect import (
    Reconnected,
    ReconnectFailed,
    Reconnecting,
    ReconnectPolicy,
    ResponseLost,
)
from oairt_core.testing import Script, say
from oairt_trio.resilient import ResilientEvent, ResilientTrioConnection, open_resilient
from tests.faultproxy import (
    Close,
    ConnectionPlan,
    FaultAction,
    Reset,
    TaskCensus,
    run_fault_proxy,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-resilient-trio-0123456789"
FAST = ReconnectPolicy(base_delay=0.001, max_delay=0.002)


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


def at_first(event_type: str, action: FaultAction) -> ConnectionPlan:
    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        return action if kind == event_type else None

    return ConnectionPlan(on_server_frame=hook)


async def until(
    conn: ResilientTrioConnection, pred: type | tuple[type, ...], seen: list[ResilientEvent]
) -> ResilientEvent:
    async for ev in conn:
        seen.append(ev)
        if isinstance(ev, pred):
            return ev
    raise AssertionError(f"stream ended before {pred}; saw {seen!r}")


@pytest.mark.parametrize(
    ("action", "code"), [(Close(1012), 1012), (Reset(), 1006)], ids=["1012", "reset-1006"]
)
async def test_drop_mid_response_reconnects_and_reapplies(action: FaultAction, code: int) -> None:
    census = TaskCensus()
    script = Script(say("The first answer is long enough to be cut."), say("Second answer."))
    with trio.fail_after(20):
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plans = [at_first("response.output_audio.delta", action)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ResilientEvent] = []
                async with open_resilient(
                    api_key=KEY, model="gpt-realtime", base_url=url, policy=FAST
                ) as conn:
                    config = RealtimeSessionConfig(instructions="Be brief.")
                    await conn.send(SessionUpdateEvent(session=config))
                    await until(conn, SessionUpdatedEvent, seen)
                    await conn.send(ConversationItemCreateEvent(item=MessageItem.user_text("hi")))
                    await until(conn, ConversationItemAddedEvent, seen)
                    await conn.send(ResponseCreateEvent())
                    created = await until(conn, ResponseCreatedEvent, seen)
                    assert isinstance(created, ResponseCreatedEvent)
                    await until(conn, Reconnected, seen)
                    tail = seen[seen.index(created) + 1 :]
                    assert ResponseLost(response_id=created.response.id) in tail
                    reconnecting = [e for e in tail if isinstance(e, Reconnecting)]
                    assert [(r.attempt, r.close_code) for r in reconnecting] == [(1, code)]
                    first = await until(conn, SessionCreatedEvent, seen)
                    assert isinstance(first, SessionCreatedEvent)
                    updated = await until(conn, SessionUpdatedEvent, seen)
                    assert isinstance(updated, SessionUpdatedEvent)
                    assert getattr(updated.session, "instructions", None) == "Be brief."
                    await conn.send(ResponseCreateEvent())
                    done = await until(conn, ResponseDoneEvent, seen)
                    assert isinstance(done, ResponseDoneEvent)
                    assert done.response.status == "completed"
                    assert conn.connections == 2
                replay = json.loads(proxy.records[1].sent_text[0])
                assert replay["type"] == "session.update"
                assert replay["session"]["instructions"] == "Be brief."
    assert census.leaked() == []


async def test_gives_up_after_the_budget_and_raises() -> None:
    census = TaskCensus()
    policy = ReconnectPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002)
    with trio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("response.created", Close(1011))] + [ConnectionPlan(refuse=True)] * 3
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ResilientEvent] = []
                async with open_resilient(
                    api_key=KEY, model="gpt-realtime", base_url=url, policy=policy
                ) as conn:
                    await conn.send(ResponseCreateEvent())
                    with pytest.raises(ConnectionClosedError) as info:
                        async for ev in conn:
                            seen.append(ev)
                    assert info.value.code == 1011
                    with pytest.raises(ConnectionClosedError):
                        await conn.send(ResponseCreateEvent())
                kinds = [
                    type(e).__name__ for e in seen if isinstance(e, Reconnecting | ReconnectFailed)
                ]
                assert kinds == ["Reconnecting", "Reconnecting", "ReconnectFailed"]
                assert proxy.connections == 3
    assert census.leaked() == []


async def test_first_connection_failure_raises_unwrapped() -> None:
    with trio.fail_after(20):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [ConnectionPlan(reply_status=403)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                with pytest.raises(HandshakeError) as info:
                    async with open_resilient(api_key=KEY, model="gpt-realtime", base_url=url):
                        pass
                assert info.value.status_code == 403


async def test_close_during_backoff_returns_promptly() -> None:
    census = TaskCensus()
    slow = ReconnectPolicy(base_delay=60.0, max_delay=60.0)
    with trio.fail_after(20):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}) as server:
            plans = [at_first("response.created", Close(1012))]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                seen: list[ResilientEvent] = []
                async with open_resilient(
                    api_key=KEY, model="gpt-realtime", base_url=url, policy=slow
                ) as conn:
                    await conn.send(ResponseCreateEvent())
                    await until(conn, Reconnecting, seen)
                assert proxy.connections == 1
    assert census.leaked() == []
