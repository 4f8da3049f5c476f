"""VoiceConfig / RealtimeBuilder: one option each, GA mapping, rules, live diffs."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from oairt_core._redact import Secret
from oairt_core.codec import encode_client_event
from oairt_core.errors import InvalidClientEvent
from oairt_core.models import (
    RealtimeSessionConfig,
    ToolChoiceFunction,
    TracingConfig,
    TranscriptionSessionConfig,
    TruncationRetentionRatio,
)
from oairt_core.tools import tool
from oairt_core.voice import (
    Realtime,
    RealtimeBuilder,
    VoiceConfig,
    VoiceSession,
    mcp_tool,
    server_vad,
)


class SumArgs(msgspec.Struct):
    a: int
    b: int


def add(args: SumArgs) -> dict[str, int]:
    """Add two integers."""
    return {"sum": args.a + args.b}


def wire(cfg: VoiceConfig) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(encode_client_event(cfg.session_update()))["session"]
    return out


def test_seed_builder_matches_keyword_form() -> None:
    built = (
        Realtime.builder()
        .api_key("sk-test-abcdefghijkl")
        .model("gpt-realtime")
        .voice_session()
        .voice("alloy")
        .vad_server_default()
        .transcription("gpt-4o-transcribe")
        .auto_barge_in(True)
        .build()
    )
    kw = VoiceConfig(
        api_key="sk-test-abcdefghijkl",  # type: ignore[arg-type]
        model="gpt-realtime",
        output_modality="audio",
        voice="alloy",
        turn_detection=server_vad(),
        transcription="gpt-4o-transcribe",
    )
    assert built == kw
    s = wire(built)
    assert s["type"] == "realtime"
    assert s["model"] == "gpt-realtime"
    assert s["output_modalities"] == ["audio"]
    assert s["audio"]["output"]["voice"] == "alloy"
    assert s["audio"]["input"]["turn_detection"] == {"type": "server_vad"}
    assert s["audio"]["input"]["transcription"] == {"model": "gpt-4o-transcribe"}
    assert s["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}


def test_api_key_never_shown() -> None:
    cfg = VoiceConfig(api_key=Secret("sk-live-supersecretvalue1234"))
    assert "supersecret" not in repr(cfg)
    assert "supersecret" not in json.dumps(wire(cfg))


def test_each_option_maps_to_ga_field() -> None:
    b = (
        RealtimeBuilder()
        .text_session()
        .instructions("Be brief.")
        .vad_server(
            threshold=0.6,
            prefix_padding_ms=200,
            silence_duration_ms=400,
            idle_timeout_ms=5000,
            create_response=True,
            interrupt_response=False,
        )
        .transcription("whisper-1", language="fr", prompt="names")
        .noise_reduction("far_field")
        .input_format("g711_ulaw")
        .output_format("pcma")
        .speed(1.2)
        .max_output_tokens(300)
        .tool_choice("required")
        .tracing(TracingConfig(workflow_name="w"))
        .truncation(TruncationRetentionRatio(retention_ratio=0.5))
    )
    s = wire(b.build())
    assert s["output_modalities"] == ["text"]
    assert s["instructions"] == "Be brief."
    assert s["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.6,
        "prefix_padding_ms": 200,
        "silence_duration_ms": 400,
        "idle_timeout_ms": 5000,
        "create_response": True,
        "interrupt_response": False,
    }
    assert s["audio"]["input"]["transcription"] == {
        "model": "whisper-1",
        "language": "fr",
        "prompt": "names",
    }
    assert s["audio"]["input"]["noise_reduction"] == {"type": "far_field"}
    assert s["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert s["audio"]["output"]["format"] == {"type": "audio/pcma"}
    assert s["audio"]["output"]["speed"] == 1.2
    assert s["max_output_tokens"] == 300
    assert s["tool_choice"] == "required"
    assert s["tracing"] == {"workflow_name": "w"}
    assert s["truncation"] == {"type": "retention_ratio", "retention_ratio": 0.5}


def test_semantic_vad_and_push_to_talk() -> None:
    s = wire(RealtimeBuilder().vad_semantic("high").build())
    assert s["audio"]["input"]["turn_detection"] == {"type": "semantic_vad", "eagerness": "high"}
    s = wire(RealtimeBuilder().push_to_talk().build())
    # null (not absent): the server default is server VAD, so it must be switched off.
    assert s["audio"]["input"]["turn_detection"] is None


def test_tools_typed_and_mcp() -> None:
    cfg = (
        RealtimeBuilder()
        .tool_desc("sum", "Add two integers.", add)
        .mcp("weather", server_url="https://mcp.example.com", require_approval="always")
        .tool_choice(ToolChoiceFunction(name="sum"))
        .build()
    )
    s = wire(cfg)
    assert s["tools"][0]["name"] == "sum"
    assert s["tools"][0]["description"] == "Add two integers."
    assert s["tools"][0]["parameters"]["required"] == ["a", "b"]
    assert s["tools"][1] == {
        "type": "mcp",
        "server_label": "weather",
        "server_url": "https://mcp.example.com",
        "require_approval": "always",
    }
    assert s["tool_choice"] == {"type": "function", "name": "sum"}
    assert "sum" in cfg.registry()


def test_transcription_only_session() -> None:
    cfg = RealtimeBuilder().transcription_session().transcription("gpt-4o-transcribe").build()
    session = cfg.to_session_config()
    assert isinstance(session, TranscriptionSessionConfig)
    s = wire(cfg)
    assert s == {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-transcribe"},
            }
        },
    }


@pytest.mark.parametrize(
    ("builder", "field", "rule_part"),
    [
        (RealtimeBuilder().speed(2.0), "session.audio.output.speed", "between"),
        (RealtimeBuilder().max_output_tokens(5000), "session.max_output_tokens", "4096"),
        (RealtimeBuilder().vad_server(threshold=1.5), "threshold", "between"),
        (
            RealtimeBuilder().transcription_session().transcription("whisper-1").tool(add),
            "tools",
            "transcription-only",
        ),
        (
            RealtimeBuilder().transcription_session().transcription("whisper-1").voice("alloy"),
            "voice",
            "transcription-only",
        ),
        (RealtimeBuilder().transcription_session(), "transcription", "needs"),
        (RealtimeBuilder().tool_choice("sometimes"), "session.tool_choice", "must be"),
    ],
)
def test_invalid_combinations_fail_before_connecting(
    builder: RealtimeBuilder, field: str, rule_part: str
) -> None:
    with pytest.raises(InvalidClientEvent) as info:
        builder.build()
    assert field in info.value.field
    assert rule_part in info.value.rule


def test_invalid_format_and_mcp_rules() -> None:
    with pytest.raises(InvalidClientEvent) as info:
        VoiceConfig(input_format="mp3")  # type: ignore[arg-type]
    assert info.value.field == "input_format"
    with pytest.raises(InvalidClientEvent):
        mcp_tool("x")
    with pytest.raises(InvalidClientEvent):
        mcp_tool("x", server_url="https://a", connector_id="connector_gmail")


def test_text_modality_with_voice_options_is_fine() -> None:
    cfg = RealtimeBuilder().text_session().voice("alloy").speed(1.1).build()
    assert wire(cfg)["output_modalities"] == ["text"]


def test_diff_sends_only_changed_fields() -> None:
    old = RealtimeBuilder().voice("alloy").instructions("A").vad_server_default().build()
    ev = old.diff(old.replace(instructions="B"))
    assert ev is not None
    assert json.loads(encode_client_event(ev))["session"] == {
        "type": "realtime",
        "instructions": "B",
    }
    ev = old.diff(old.replace(turn_detection=None))
    assert ev is not None
    assert json.loads(encode_client_event(ev))["session"] == {
        "type": "realtime",
        "audio": {"input": {"turn_detection": None}},
    }
    ev = old.diff(old.replace(instructions=msgspec.UNSET))
    assert ev is not None
    assert json.loads(encode_client_event(ev))["session"]["instructions"] == ""
    assert old.diff(old.replace(auto_barge_in=False)) is None
    with pytest.raises(InvalidClientEvent) as info:
        old.diff(old.replace(model="gpt-realtime-mini"))
    assert info.value.field == "session.model"
    with pytest.raises(InvalidClientEvent):
        old.diff(old.replace(speed=9.0))


def test_live_update_queues_session_update() -> None:
    s = VoiceSession(RealtimeBuilder().voice("alloy").build())
    s.start()
    s.events_to_send()
    s.update(speed=1.25)
    (ev,) = s.events_to_send()
    assert json.loads(encode_client_event(ev))["session"] == {
        "type": "realtime",
        "audio": {"output": {"speed": 1.25}},
    }
    assert s.config.speed == 1.25
    s.update(auto_tool_response=False)
    assert s.events_to_send() == []
    with pytest.raises(TypeError):
        s.update(colour="blue")


def test_plain_function_becomes_tool_and_session_config_type() -> None:
    t = tool(add)
    cfg = RealtimeBuilder().tool(t).tool(add).build()
    assert len(cfg.tools) == 2
    assert isinstance(cfg.to_session_config(), RealtimeSessionConfig)


# ---------------------------------------------------------------- mistakes fail where made


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"speed": 3}, "speed"),
        ({"output_modality": "both"}, "output_modalities"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
    ],
)
def test_voice_config_is_validated_at_construction(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidClientEvent) as info:
        VoiceConfig(**kwargs)
    assert field in info.value.field
    # The builder applies the same rule (it builds a VoiceConfig).
    with pytest.raises(InvalidClientEvent):
        RealtimeBuilder()._set(**kwargs).build()
    # And so does replace(), which constructs a new config.
    with pytest.raises(InvalidClientEvent):
        VoiceConfig().replace(**kwargs)


@pytest.mark.parametrize("key", [123, b"sk-test-abcdefghijkl", 1.5, ["sk-x"]])
def test_api_key_of_the_wrong_type_is_a_clear_type_error(key: Any) -> None:
    from oairt_core._settings import resolve_api_key
    from oairt_core.errors import InvalidArgumentType, OairtError

    name = type(key).__name__
    for make in (
        lambda: VoiceConfig(api_key=key),
        lambda: RealtimeBuilder().api_key(key),
        lambda: resolve_api_key(key, {}),
        lambda: Secret(key),
    ):
        with pytest.raises(InvalidArgumentType, match=name) as info:
            make()
        assert isinstance(info.value, TypeError) and isinstance(info.value, OairtError)
        assert "sk-test" not in str(info.value)  # the value itself is never echoed
