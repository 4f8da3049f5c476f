"""The server's ``session.expires_at`` sets the rollover cap (issue 15, part 1).

``session.created`` carries ``session.expires_at`` (unix seconds), which the session
models leave out on purpose. The sans-IO connection reads it from the raw message
(never raising on an odd value), the async connections expose it, and the rollover
connection compares it with the backend's wall clock: an expiry earlier than the
policy's ``session_limit`` moves the call to a new session before the server's cap.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto import WSConnection
from wsproto.events import TextMessage

from oairt_anyio._backend import BACKEND as ANYIO_BACKEND
from oairt_anyio.testing import run_fake_server
from oairt_core._async.reconnect import ReconnectingConnection
from oairt_core.connection import (
    NEED_DATA,
    MalformedServerEvent,
    RealtimeConnection,
    _session_expires_at,
)
from oairt_core.events import SessionCreatedEvent, SessionUpdatedEvent
from oairt_core.reconnect import Reconnected, ReconnectPolicy, RolloverPolicy, SessionRolledOver
from oairt_core.testing import Script
from oairt_core.testing._defaults import default_session
from oairt_core.testing.script import say
from oairt_core.voice import AudioDelta, RealtimeBuilder, ResponseDone, SessionReady
from oairt_trio._backend import BACKEND as TRIO_BACKEND
from tests.conftest import Adapter
from tests.support.faultproxy import Close, ConnectionPlan, run_fault_proxy
from tests.test_connection import opened
from tests.test_rollover_connection import GUARD as RIG_GUARD
from tests.test_rollover_connection import (
    Rig,
    created_event,
    is_notice,
    response,
)

KEY = "sk-test-expires-0000"
GUARD = 25
EXPIRES = 1_750_003_600
MAX_EPOCH = 253_402_300_799  # 9999-12-31T23:59:59Z


# -- the sans-IO connection ------------------------------------------------------------


def feed(conn: RealtimeConnection, server: WSConnection, message: dict[str, Any]) -> Any:
    """Send one server message; the one event it gives."""
    conn.receive_data(server.send(TextMessage(data=json.dumps(message))))
    event = conn.next_event()
    assert conn.next_event() is NEED_DATA
    return event


def created(**session: Any) -> dict[str, Any]:
    full = default_session("gpt-realtime", "sess_1", EXPIRES)
    full.update(session)
    return {"type": "session.created", "event_id": "evt_1", "session": full}


def created_without_expiry() -> dict[str, Any]:
    message = created()
    del message["session"]["expires_at"]
    return message


def test_session_created_sets_session_expires_at() -> None:
    conn, server = opened()
    assert conn.session_expires_at is None  # before any session.created
    event = feed(conn, server, created())
    assert isinstance(event, SessionCreatedEvent)
    assert conn.session_expires_at == EXPIRES
    # The models stay exact: the wire's extra key is not part of the typed session.
    assert "expires_at" not in type(event.session).__struct_fields__


@pytest.mark.parametrize(
    "value",
    ["1750003600", 1750003600.5, 1750003600.0, -1, 0, 1e30, 10**30, MAX_EPOCH + 1, None, True],
    ids=repr,
)
def test_an_odd_expires_at_is_none_and_never_raises(value: Any) -> None:
    conn, server = opened()
    feed(conn, server, created(expires_at=EXPIRES))
    assert conn.session_expires_at == EXPIRES
    # Each new session.created resets it: an odd value gives None, not the old one.
    event = feed(conn, server, created(expires_at=value))
    assert isinstance(event, SessionCreatedEvent)
    assert conn.session_expires_at is None


def test_a_missing_expires_at_is_none() -> None:
    conn, server = opened()
    feed(conn, server, created())
    event = feed(conn, server, created_without_expiry())
    assert isinstance(event, SessionCreatedEvent)
    assert conn.session_expires_at is None


def test_the_largest_calendar_second_is_kept() -> None:
    conn, server = opened()
    feed(conn, server, created(expires_at=MAX_EPOCH))
    assert conn.session_expires_at == MAX_EPOCH


def test_only_session_created_sets_it() -> None:
    conn, server = opened()
    feed(conn, server, created())
    updated = {"type": "session.updated", "event_id": "e2", "session": created()["session"]}
    updated["session"]["expires_at"] = EXPIRES + 60
    assert isinstance(feed(conn, server, updated), SessionUpdatedEvent)
    assert conn.session_expires_at == EXPIRES


def test_a_session_that_is_not_an_object_is_malformed_and_leaves_it() -> None:
    conn, server = opened()
    feed(conn, server, created())
    event = feed(conn, server, {"type": "session.created", "event_id": "e", "session": 5})
    assert isinstance(event, MalformedServerEvent)
    assert conn.session_expires_at == EXPIRES  # no new session was created


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"session.created","session":5}',
        '{"type":"session.created","session":"x"}',
        '{"type":"session.created","session":[1]}',
        '{"type":"session.created","session":null}',
        '{"type":"session.created"}',
        "[1, 2]",
        '"text"',
        "{not json",
        "",
    ],
)
def test_the_probe_never_raises(text: str) -> None:
    assert _session_expires_at(text) is None


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def expected(value: Any) -> int | None:
    return value if type(value) is int and 0 < value <= MAX_EPOCH else None


@given(value=JSON)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_json_expires_at_through_the_connection(value: Any) -> None:
    conn, server = opened()
    event = feed(conn, server, created(expires_at=value))
    assert isinstance(event, SessionCreatedEvent)
    assert conn.session_expires_at == expected(value)


@given(session=JSON, value=JSON)
@settings(max_examples=300, deadline=None)
def test_any_json_session_in_the_probe(session: Any, value: Any) -> None:
    if isinstance(session, dict):
        session["expires_at"] = value
    got = _session_expires_at(json.dumps({"type": "session.created", "session": session}))
    assert got == (expected(value) if isinstance(session, dict) else None)


# -- the backends' wall clock ------------------------------------------------------------


@pytest.mark.parametrize("backend", [ANYIO_BACKEND, TRIO_BACKEND], ids=["anyio", "trio"])
def test_backends_give_unix_time(backend: Any) -> None:
    before = time.time()
    wall = backend.wall_time()
    assert before <= wall <= time.time()


# -- the rollover connection, with scripted sessions -----------------------------------


def left(rig: Rig) -> float:
    """Seconds from now to the current session's cap, as the rollover state counts it."""
    state = rig.conn.rollover
    assert state is not None and state.deadline is not None
    return state.deadline - anyio.current_time()


@pytest.mark.anyio
async def test_the_first_session_cap_is_its_expires_at_when_earlier() -> None:
    policy = RolloverPolicy(before=5.0, session_limit=3600.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.session_expires_at = int(time.time()) + 600
        rig.first.push(created_event("sess_1"))
        await rig.read_until(lambda e: isinstance(e, SessionReady))
        assert 0 < left(rig) <= 600  # not 3600: the server's expiry is earlier
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_a_later_or_past_expires_at_is_ignored_as_clock_skew() -> None:
    policy = RolloverPolicy(before=5.0, session_limit=60.0)
    for skewed in (int(time.time()) + 7200, int(time.time()) - 10):
        async with anyio.create_task_group() as tg:
            rig = Rig(tg, policy)
            rig.first.session_expires_at = skewed
            rig.first.push(created_event("sess_1"))
            await rig.read_until(lambda e: isinstance(e, SessionReady))
            assert 59 < left(rig) <= 60  # the policy's session_limit
            tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_the_next_session_cap_is_its_own_expires_at() -> None:
    # The first session expires in seconds: its window (before >= what is left) is open at
    # once, so the call moves to the next session at the first quiet moment.
    policy = RolloverPolicy(before=60.0, session_limit=3600.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        original = rig.open_next

        async def with_expiry() -> Any:
            conn = await original()
            conn.session_expires_at = int(time.time()) + 900
            return conn

        rig.conn._open_next = with_expiry
        rig.first.session_expires_at = int(time.time()) + 10
        rig.first.push(created_event("sess_1"))
        notice = (await rig.read_until(is_notice))[-1]
        assert notice.reason == "quiet" and not notice.at_cap
        assert 0 < left(rig) <= 900  # the new session's own expiry, not 3600
        tg.cancel_scope.cancel()


@pytest.mark.anyio
async def test_a_reconnected_session_cap_is_its_expires_at() -> None:
    policy = RolloverPolicy(before=5.0, session_limit=3600.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"))
        await rig.read_until(lambda e: isinstance(e, SessionReady))
        assert left(rig) > 3000  # no expiry: the policy's limit
        # reconnect= replaced the server session: a second session.created, with an expiry.
        rig.first.session_expires_at = int(time.time()) + 500
        rig.first.push(created_event("sess_2"), response("created", "r1"))
        with anyio.fail_after(RIG_GUARD):
            await rig.read_until(lambda e: type(e).__name__ == "ResponseStarted")
        assert 0 < left(rig) <= 500
        tg.cancel_scope.cancel()


# -- end to end, on every adapter ------------------------------------------------------


def builder() -> Any:
    return RealtimeBuilder().api_key(KEY).voice_session().voice("marin").push_to_talk()


async def until(session: Any, stop: Any) -> list[Any]:
    out: list[Any] = []
    async for event in session:
        out.append(event)
        if stop(event):
            return out
    raise AssertionError(f"session ended after {[type(e).__name__ for e in out]}")


def played_out(session: Any, events: list[Any]) -> None:
    heard: dict[str, float] = {}
    for e in events:
        if isinstance(e, AudioDelta):
            heard[e.item_id] = heard.get(e.item_id, 0.0) + e.duration_ms
    for item_id, ms in heard.items():
        session.mark_played(item_id, ms)


def expired_errors(conn: Any) -> list[Any]:
    return [
        e
        for e in conn.sent_events
        if e["type"] == "error" and e["error"].get("code") == "session_expired"
    ]


@pytest.mark.anyio
async def test_async_connection_exposes_expires_at(adapter: Adapter) -> None:
    with anyio.fail_after(GUARD):
        async with (
            run_fake_server(api_keys={KEY}, max_session_seconds=90) as server,
            adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=server.url) as conn,
        ):
            event = await conn.next_event()
            assert isinstance(event, SessionCreatedEvent)
            sent = server.connections[0].sent_events[0]["session"]["expires_at"]
            assert conn.session_expires_at == sent


@pytest.mark.anyio
async def test_a_server_expiry_earlier_than_the_policy_rolls_over_before_the_cap(
    adapter: Adapter,
) -> None:
    # The server caps sessions at 30 s and says so in expires_at; the policy believes in an
    # hour. The window opens when under 28 s are left, by the server's clock: at once.
    script = Script(say("Hi there."), say("Still here."))
    policy = RolloverPolicy(before=28.0, session_limit=3600.0)
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=30.0
        ) as server:
            async with adapter.open_voice(
                builder().build(), base_url=server.url, rollover=policy
            ) as session:
                await session.send_text("hello")
                events = await until(
                    session, lambda e: isinstance(e, (ResponseDone, SessionRolledOver))
                )
                played_out(session, events)
                if not isinstance(events[-1], SessionRolledOver):
                    events += await until(session, lambda e: isinstance(e, SessionRolledOver))
                notice = events[-1]
                assert notice.reason == "quiet" and not notice.at_cap
                state = session.connection.rollover
                assert state is not None and state.deadline is not None
                # The new session's cap is its own expiry too, not the policy's hour.
                assert state.deadline - anyio.current_time() <= 30
                first = server.connections[0]
            # The old session was closed by the client; the server never had to end it.
            assert first.close_code == 1000
            assert expired_errors(first) == []
            assert server.violations == []


@pytest.mark.anyio
async def test_a_reconnected_session_takes_its_cap_from_its_expires_at(adapter: Adapter) -> None:
    script = Script(say("A reply long enough to be cut off."), say("Again."))
    policy = RolloverPolicy(before=1.0, session_limit=3600.0)
    fast = ReconnectPolicy(base_delay=0.001, max_delay=0.002)
    with anyio.fail_after(GUARD):
        async with run_fake_server(
            script=script, api_keys={KEY}, max_session_seconds=600.0
        ) as server:
            # The first connection drops mid-reply; reconnect= opens a new server session.
            plans = [
                ConnectionPlan(
                    on_server_frame=lambda _i, _op, p: (
                        Close(1012) if b"response.output_audio.delta" in p else None
                    )
                )
            ]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                async with adapter.open_voice(
                    builder().build(), base_url=url, reconnect=fast, rollover=policy
                ) as session:
                    await session.send_text("hello")
                    await until(session, lambda e: isinstance(e, Reconnected))
                    await session.send_text("again")
                    await until(session, lambda e: isinstance(e, ResponseDone))
                    rc = session.connection.connection
                    assert isinstance(rc, ReconnectingConnection)
                    second = server.connections[1].sent_events[0]["session"]["expires_at"]
                    assert rc.session_expires_at == second
                    state = session.connection.rollover
                    assert state is not None and state.deadline is not None
                    assert state.deadline - anyio.current_time() <= 600
                assert proxy.connections == 2
