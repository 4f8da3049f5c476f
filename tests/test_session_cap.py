"""The fake server's session cap: ``session_expired`` error, then close 1001, like GA."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

import oairt_anyio
from oairt_anyio.testing import run_fake_server
from oairt_core.errors import ConnectionClosedError
from oairt_core.events import ErrorEvent, SessionCreatedEvent
from oairt_core.testing import FakeRealtimeService, Script, say
from oairt_core.testing.memory import MemoryClient

GA_MESSAGE = "Your session hit the maximum duration of 60 minutes."


def _expired_error(events: list[dict[str, Any]]) -> dict[str, Any]:
    [err] = [e for e in events if e["type"] == "error"]
    return dict(err["error"])


def test_default_cap_is_sixty_minutes_with_the_ga_error_and_close() -> None:
    service = FakeRealtimeService(clock=lambda: 1_000_000.0)
    client = MemoryClient(service, now=100.0)
    created = client.events()[0]
    assert created["session"]["expires_at"] == 1_000_000 + 3600
    assert client.server.next_deadline() == 100.0 + 3600
    client.advance(100.0 + 3599.9)
    assert client.events() == [] and client.closed_code is None
    client.advance(100.0 + 3600)
    events = client.events()
    assert [e["type"] for e in events] == ["error"]
    assert _expired_error(events) == {
        "type": "invalid_request_error",
        "code": "session_expired",
        "message": GA_MESSAGE,
        "param": None,
        "event_id": None,
    }
    assert client.closed_code == 1001
    assert client.server.close_code == 1001
    assert client.server.closed
    assert not client.server.violations


def test_configurable_cap_ends_a_response_in_progress() -> None:
    service = FakeRealtimeService(
        script=Script(say("x" * 200)), pacing="realtime", max_session_seconds=120
    )
    client = MemoryClient(service, now=0.0)
    assert client.events()[0]["session"]["expires_at"] == int(service.clock()) + 120
    client.send({"type": "response.create"})
    client.advance(119.0)  # the reply is 11 s of audio paced in real time: done by now
    client.events()
    client.send({"type": "response.create"})
    client.advance(119.5)
    assert any(e["type"] == "response.output_audio.delta" for e in client.events())
    client.advance(120.0)
    events = client.events()
    assert [e["type"] for e in events] == ["error"]
    assert (
        _expired_error(events)["message"] == "Your session hit the maximum duration of 2 minutes."
    )
    assert client.closed_code == 1001
    client.advance(121.0)
    assert client.events() == []  # nothing after the close, not even the rest of the reply


def test_cap_message_for_a_limit_under_a_minute() -> None:
    client = MemoryClient(FakeRealtimeService(max_session_seconds=1.5), now=0.0)
    client.events()
    client.advance(1.5)
    assert _expired_error(client.events())["message"] == (
        "Your session hit the maximum duration of 1.5 seconds."
    )


def test_cap_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FakeRealtimeService(max_session_seconds=0)


@pytest.mark.anyio
async def test_cap_over_sockets_reaches_the_client_as_error_then_close_1001() -> None:
    async with run_fake_server(max_session_seconds=0.3) as server:
        seen: list[Any] = []
        async with oairt_anyio.open_realtime(
            api_key=server.api_key, model="gpt-realtime", base_url=server.url
        ) as conn:
            with anyio.fail_after(10), pytest.raises(ConnectionClosedError) as closed:
                async for event in conn:
                    seen.append(event)
        assert closed.value.code == 1001
        assert closed.value.reason == "Your session hit the maximum duration of 0.3 seconds."
        assert isinstance(seen[0], SessionCreatedEvent)
        assert isinstance(seen[-1], ErrorEvent)
        assert seen[-1].error.code == "session_expired"
        assert seen[-1].error.type == "invalid_request_error"
        assert not server.violations


@pytest.mark.anyio
@pytest.mark.realtime_server(max_session_seconds=0.3)
async def test_cap_through_the_fixture_marker(realtime_server: Any) -> None:
    async with oairt_anyio.open_realtime(
        api_key=realtime_server.api_key, model="gpt-realtime", base_url=realtime_server.url
    ) as conn:
        with anyio.fail_after(10), pytest.raises(ConnectionClosedError) as closed:
            async for _event in conn:
                pass
    assert closed.value.code == 1001
