"""A close at every step of start-up (issue 13, item 2), on every entry point and on
anyio-asyncio, anyio-trio and native trio.

Whatever moment the close hits, the caller gets the documented typed error, never an
ExceptionGroup: before the configuration went out, the entry point itself raises
(``HandshakeError`` for a refused upgrade, ``ConnectionClosedError`` with the close
code otherwise); once the session runs, the stream reports an ``Error`` event carrying
the code and ends.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import pytest

from oairt_anyio.testing import run_fake_server
from oairt_core.errors import ConnectionClosedError, HandshakeError, OairtError
from oairt_core.voice import Error, RealtimeBuilder
from tests.conftest import Adapter
from tests.support.faultproxy import Close, ConnectionPlan, FaultAction, TaskCensus, run_fault_proxy

pytestmark = pytest.mark.anyio

KEY = "sk-test-startup-0000000000"
GUARD = 20


def at_first(event_type: str, action: FaultAction) -> ConnectionPlan:
    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        return action if kind == event_type else None

    return ConnectionPlan(on_server_frame=hook)


# Each step of start-up, and what a close there must give: (plan, exact error type, code).
STEPS: dict[str, tuple[Callable[[], ConnectionPlan], type[OairtError], int | None]] = {
    "tcp-accepted": (lambda: ConnectionPlan(refuse=True), ConnectionClosedError, 1006),
    "upgrade-refused": (lambda: ConnectionPlan(reply_status=503), HandshakeError, None),
    "before-session-created": (
        lambda: at_first("session.created", Close(1011, "boom")),
        ConnectionClosedError,
        1011,
    ),
    "before-session-updated": (
        lambda: at_first("session.updated", Close(1013, "later")),
        ConnectionClosedError,
        1013,
    ),
}

ENTRY_POINTS = ["open_voice", "connect_voice", "connect_ws", "open_realtime", "connect_realtime"]


def builder() -> RealtimeBuilder:
    return RealtimeBuilder().api_key(KEY).voice_session().voice("marin").push_to_talk()


def entry(adapter: Adapter, name: str, url: str) -> AbstractAsyncContextManager[Any]:
    """Each entry point as an async context manager yielding its connection or session."""
    if name == "open_voice":
        cm: AbstractAsyncContextManager[Any] = adapter.open_voice(builder(), base_url=url)
        return cm
    if name == "connect_ws":
        cm = adapter.Realtime.builder().api_key(KEY).voice_session().connect_ws(base_url=url)
        return cm
    if name == "open_realtime":
        cm = adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=url)
        return cm

    @asynccontextmanager
    async def in_group() -> AsyncIterator[Any]:
        # The caller's own group would wrap anything raised in its body (trio's strict
        # groups): take the entry point's error out of it, as an application would.
        error: OairtError | None = None
        async with adapter.open_group() as group:
            try:
                if name == "connect_voice":
                    thing = await adapter.connect_voice(group, builder(), base_url=url)
                else:
                    thing = await adapter.connect_realtime(
                        group, api_key=KEY, model="gpt-realtime", base_url=url
                    )
            except OairtError as exc:
                error = exc
            else:
                try:
                    yield thing
                finally:
                    await thing.aclose()
        if error is not None:
            raise error

    return in_group()


async def drive(thing: Any) -> list[Any]:
    """Read to the end; a realtime connection also sends its configuration first."""
    if hasattr(thing, "next_voice_event"):
        return [e async for e in thing]
    out: list[Any] = []
    try:
        from oairt_core.events import SessionUpdateEvent
        from oairt_core.models import RealtimeSessionConfig

        await thing.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="x")))
        async for event in thing:
            out.append(event)
    except ConnectionClosedError as exc:
        out.append(exc)
    return out


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("name", ENTRY_POINTS)
async def test_a_close_at_each_startup_step_is_typed_and_unwrapped(
    adapter: Adapter, name: str, step: str
) -> None:
    census = TaskCensus()
    make_plan, expected, code = STEPS[step]
    outcome: BaseException | list[Any]
    with anyio.fail_after(GUARD):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [make_plan()]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                try:
                    async with entry(adapter, name, url) as thing:
                        outcome = await drive(thing)
                except BaseException as exc:  # noqa: BLE001 - the point: what comes out
                    outcome = exc
    # Never an exception group (the builtin on 3.11+, the backport before).
    assert not hasattr(outcome, "exceptions"), repr(outcome)
    if isinstance(outcome, BaseException):
        # Raised by the entry point itself: exactly the documented type and code.
        assert type(outcome) is expected, repr(outcome)
        if code is not None:
            assert getattr(outcome, "code", None) == code
        return
    # The session was running: the close is reported in the stream, typed, then it ends.
    assert step not in ("tcp-accepted", "upgrade-refused")
    last = outcome[-1]
    if isinstance(last, Error):
        assert isinstance(last.exception, expected) and str(code) in last.message
    else:
        assert isinstance(last, ConnectionClosedError) and type(last) is expected
        assert last.code == code
    assert census.leaked() == []
