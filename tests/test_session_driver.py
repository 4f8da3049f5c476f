"""What the adapters share, without I/O: the one-call pump (feed/drain) and prepare_connect."""

from __future__ import annotations

import pytest

from oairt_core._async.voice import prepare_connect
from oairt_core._redact import Secret
from oairt_core.errors import InvalidClientEvent, LocalProtocolError
from oairt_core.events import ResponseCancelEvent, SessionUpdateEvent
from oairt_core.voice import (
    Interrupted,
    RealtimeBuilder,
    ResponseStarted,
    ToolCall,
    VoiceActions,
    VoiceConfig,
    VoiceSession,
)

from .test_session_core import args_done, created, tools_session

ENV = {"OPENAI_API_KEY": "sk-test-env-0000000000"}


# ---------------------------------------------------------------- the pump


def test_drain_hands_over_every_output_at_once_and_empties_the_queues() -> None:
    s = VoiceSession(VoiceConfig())
    s.start()
    actions = s.drain()
    assert [type(e) for e in actions.send] == [SessionUpdateEvent]
    assert (actions.deliver, actions.start, actions.cancel, actions.approvals) == ([], [], [], [])
    assert s.drain() == VoiceActions()


def test_feed_returns_tool_runs_then_barge_in_returns_their_cancellation() -> None:
    s = tools_session()
    first = s.feed(created("r1"), now=0.0)
    assert [type(e) for e in first.deliver] == [ResponseStarted] and first.send == []
    call = s.feed(args_done("r1", "c1", "mul", '{"a":2,"b":3}'), now=0.0)
    assert [r.call_id for r in call.start] == ["c1"] and call.start[0].args
    assert [type(e) for e in call.deliver] == [ToolCall]
    interrupted = s.barge_in(now=0.1)
    assert [type(e) for e in interrupted] == [Interrupted]
    after = s.drain()
    assert after.cancel == ["c1"]
    assert [type(e) for e in after.send] == [ResponseCancelEvent]
    assert after.start == [] and after.deliver == []


# ---------------------------------------------------------------- prepare_connect


def test_prepare_connect_takes_key_and_endpoint_from_the_environment() -> None:
    env = {**ENV, "OAIRT_BASE_URL": "https://proxy.example.test/v1/"}
    cfg, kwargs = prepare_connect(
        None, {"voice": "alloy"}, base_url=None, ssl=None, call_id=None, environ=env
    )
    assert cfg.voice == "alloy"
    assert kwargs["base_url"] == "wss://proxy.example.test/v1"
    assert isinstance(kwargs["api_key"], Secret)
    assert kwargs["api_key"].reveal() == ENV["OPENAI_API_KEY"]
    assert kwargs["model"] == cfg.model and "ssl" not in kwargs


def test_prepare_connect_defaults_to_the_public_api() -> None:
    _, kwargs = prepare_connect(None, {}, base_url=None, ssl=None, call_id=None, environ=ENV)
    assert kwargs["base_url"] == "wss://api.openai.com/v1"


def test_prepare_connect_explicit_values_win() -> None:
    env = {"OPENAI_API_KEY": "sk-test-env-0000000000", "OAIRT_BASE_URL": "ws://env.test/v1"}
    builder = RealtimeBuilder().api_key("sk-test-explicit-000000")
    _, kwargs = prepare_connect(
        builder, {}, base_url="ws://127.0.0.1:1234/v1", ssl=False, call_id=None, environ=env
    )
    assert kwargs["api_key"].reveal() == "sk-test-explicit-000000"
    assert kwargs["base_url"] == "ws://127.0.0.1:1234/v1" and kwargs["ssl"] is False


def test_prepare_connect_without_a_key_names_the_variable() -> None:
    with pytest.raises(LocalProtocolError, match="OPENAI_API_KEY"):
        prepare_connect(None, {}, base_url=None, ssl=None, call_id=None, environ={})


def test_prepare_connect_sideband_and_transcription_targets() -> None:
    _, side = prepare_connect(None, {}, base_url=None, ssl=None, call_id="rtc_1", environ=ENV)
    assert side["call_id"] == "rtc_1" and "model" not in side
    tcfg = RealtimeBuilder().transcription_session().transcription("gpt-4o-transcribe").build()
    _, tx = prepare_connect(tcfg, {}, base_url=None, ssl=None, call_id=None, environ=ENV)
    assert tx["intent"] == "transcription" and "model" not in tx


def test_prepare_connect_rejects_an_invalid_configuration() -> None:
    with pytest.raises(InvalidClientEvent, match="speed"):
        prepare_connect(None, {"speed": 99.0}, base_url=None, ssl=None, call_id=None, environ=ENV)
