"""Client-side GA rules: each rejects before a byte is produced, naming field and rule."""

from __future__ import annotations

import pytest

from oairt_core import codec
from oairt_core import events as ev
from oairt_core import models as m
from oairt_core._validation import MAX_APPEND_AUDIO_BYTES, validate_client_event
from oairt_core.errors import InvalidClientEvent, LocalProtocolError
from tests.test_models_examples import CLIENT_EXAMPLES, EXTRA_CLIENT_EXAMPLES


def _session(**kw: object) -> ev.SessionUpdateEvent:
    return ev.SessionUpdateEvent(session=m.RealtimeSessionConfig(**kw))  # type: ignore[arg-type]


def _response(**kw: object) -> ev.ResponseCreateEvent:
    return ev.ResponseCreateEvent(response=m.ResponseCreateParams(**kw))  # type: ignore[arg-type]


def _input(**kw: object) -> ev.SessionUpdateEvent:
    return _session(audio=m.AudioConfig(input=m.AudioInputConfig(**kw)))  # type: ignore[arg-type]


def _vad(**kw: object) -> ev.SessionUpdateEvent:
    return _input(turn_detection=m.ServerVad(**kw))  # type: ignore[arg-type]


def _mcp(**kw: object) -> ev.SessionUpdateEvent:
    return _session(tools=[m.McpTool(server_label="s", **kw)])  # type: ignore[arg-type]


@pytest.mark.parametrize("event", CLIENT_EXAMPLES + EXTRA_CLIENT_EXAMPLES, ids=repr)
def test_valid_examples_pass(event: ev.ClientEvent) -> None:
    validate_client_event(event)


REJECTED: list[tuple[ev.ClientEvent, str, str]] = [
    # output_modalities exactly ["audio"] or ["text"]
    (_session(output_modalities=["audio", "text"]), "session.output_modalities", "exactly"),
    (_session(output_modalities=[]), "session.output_modalities", "exactly"),
    (_response(output_modalities=["text", "text"]), "response.output_modalities", "exactly"),
    # audio/pcm rate 24000 only
    (_input(format=m.PCMFormat(rate=16000)), "session.audio.input.format.rate", "24000"),
    (_input(format=m.PCMFormat(rate=None)), "session.audio.input.format.rate", "24000"),
    (
        _session(audio=m.AudioConfig(output=m.AudioOutputConfig(format=m.PCMFormat(rate=8000)))),
        "session.audio.output.format.rate",
        "24000",
    ),
    (
        _response(
            audio=m.ResponseAudioConfig(
                output=m.ResponseAudioOutput(format=m.PCMFormat(rate=48000))
            )
        ),
        "response.audio.output.format.rate",
        "24000",
    ),
    (
        ev.SessionUpdateEvent(
            session=m.TranscriptionSessionConfig(
                audio=m.TranscriptionAudioConfig(
                    input=m.AudioInputConfig(format=m.PCMFormat(rate=44100))
                )
            )
        ),
        "session.audio.input.format.rate",
        "24000",
    ),
    # max_output_tokens 1..4096 or "inf"
    (_session(max_output_tokens=0), "session.max_output_tokens", "1..4096"),
    (_session(max_output_tokens=4097), "session.max_output_tokens", "1..4096"),
    (_session(max_output_tokens="infinite"), "session.max_output_tokens", "1..4096"),
    (_response(max_output_tokens=True), "response.max_output_tokens", "1..4096"),
    (_response(max_output_tokens=-1), "response.max_output_tokens", "1..4096"),
    # speed 0.25..1.5
    (
        _session(audio=m.AudioConfig(output=m.AudioOutputConfig(speed=0.2))),
        "session.audio.output.speed",
        "0.25 and 1.5",
    ),
    (
        _session(audio=m.AudioConfig(output=m.AudioOutputConfig(speed=1.51))),
        "session.audio.output.speed",
        "0.25 and 1.5",
    ),
    # VAD threshold 0..1, ms fields non-negative
    (_vad(threshold=1.01), "session.audio.input.turn_detection.threshold", "between 0 and 1"),
    (_vad(threshold=-0.1), "session.audio.input.turn_detection.threshold", "between 0 and 1"),
    (_vad(prefix_padding_ms=-1), "session.audio.input.turn_detection.prefix_padding_ms", "non-"),
    (
        _vad(silence_duration_ms=-5),
        "session.audio.input.turn_detection.silence_duration_ms",
        "non-negative",
    ),
    (_vad(idle_timeout_ms=-1), "session.audio.input.turn_detection.idle_timeout_ms", "non-"),
    (
        _input(noise_reduction=m.NoiseReduction(strength=2.0)),
        "session.audio.input.noise_reduction.strength",
        "between",
    ),
    # metadata: 16 pairs, key <= 64, value <= 512
    (_response(metadata={str(i): "v" for i in range(17)}), "response.metadata", "16"),
    (_response(metadata={"k" * 65: "v"}), "response.metadata." + "k" * 20, "64"),
    (_response(metadata={"k": "v" * 513}), "response.metadata.k", "512"),
    (_response(metadata={"k": 1}), "response.metadata", "strings"),
    # MCP: exactly one of server_url / connector_id / tunnel_id
    (_mcp(), "session.tools[0]", "exactly one of server_url, connector_id, tunnel_id"),
    (_mcp(server_url="https://x", connector_id="connector_gmail"), "session.tools[0]", "exactly"),
    (_mcp(server_url="https://x", tunnel_id="t"), "session.tools[0]", "exactly"),
    (
        _response(tools=[m.FunctionTool(name="f"), m.McpTool(server_label="s")]),
        "response.tools[1]",
        "exactly one",
    ),
    # session.type present (a non-session object in its place)
    (
        ev.SessionUpdateEvent(session=m.AudioConfig()),  # type: ignore[arg-type]
        "session.type",
        "realtime",
    ),
    # truncate: audio_end_ms >= 0, content_index >= 0
    (
        ev.ConversationItemTruncateEvent(item_id="i", content_index=0, audio_end_ms=-1),
        "audio_end_ms",
        "non-negative",
    ),
    (
        ev.ConversationItemTruncateEvent(item_id="i", content_index=-1, audio_end_ms=0),
        "content_index",
        "non-negative",
    ),
    (
        ev.ConversationItemTruncateEvent(item_id="", content_index=0, audio_end_ms=0),
        "item_id",
        "empty",
    ),
    (ev.ConversationItemDeleteEvent(item_id=""), "item_id", "empty"),
    (ev.ConversationItemRetrieveEvent(item_id=""), "item_id", "empty"),
    # message content by role
    (
        ev.ConversationItemCreateEvent(
            item=m.MessageItem(role="system", content=[m.InputAudioContent(audio=b"")])
        ),
        "item.content[0]",
        "input_text",
    ),
    (
        ev.ConversationItemCreateEvent(
            item=m.MessageItem(role="user", content=[m.OutputTextContent(text="x")])
        ),
        "item.content[0]",
        "input_",
    ),
    (
        ev.ConversationItemCreateEvent(
            item=m.MessageItem(role="assistant", content=[m.OutputAudioContent(audio=b"")])
        ),
        "item.content[0]",
        "output_text",
    ),
    (
        ev.ConversationItemCreateEvent(
            item=m.MessageItem(role="assistant", content=[m.InputTextContent(text="x")])
        ),
        "item.content[0]",
        "output_text",
    ),
    (
        ev.ConversationItemCreateEvent(item=m.ItemReference(id="x")),  # type: ignore[arg-type]
        "item",
        "only in response.input",
    ),
    (
        ev.ConversationItemCreateEvent(item=m.FunctionCallOutputItem(call_id="", output="x")),
        "item.call_id",
        "empty",
    ),
    (
        _response(input=[m.MessageItem(role="system", content=[m.OutputTextContent(text="x")])]),
        "response.input[0].content[0]",
        "input_text",
    ),
    (_response(input=[m.ItemReference(id="")]), "response.input[0].id", "empty"),
    # tool choice, tracing, truncation, prompt
    (_session(tool_choice="sometimes"), "session.tool_choice", "none"),
    (_session(tracing="manual"), "session.tracing", "auto"),
    (_session(truncation="sometimes"), "session.truncation", "auto"),
    (
        _session(truncation=m.TruncationRetentionRatio(retention_ratio=1.5)),
        "session.truncation.retention_ratio",
        "between 0 and 1",
    ),
    (_session(prompt=m.Prompt(id="")), "session.prompt.id", "empty"),
    (
        _session(tools=[m.FunctionTool(parameters=["not", "a", "dict"])]),  # type: ignore[arg-type]
        "session.tools[0].parameters",
        "JSON Schema",
    ),
    (_session(tools=[m.Reasoning()]), "session.tools[0]", "FunctionTool or McpTool"),
    # gpt-realtime-whisper transcription sessions need manual turns
    (
        ev.SessionUpdateEvent(
            session=m.TranscriptionSessionConfig(
                audio=m.TranscriptionAudioConfig(
                    input=m.AudioInputConfig(
                        transcription=m.InputTranscription(model="gpt-realtime-whisper"),
                        turn_detection=m.ServerVad(),
                    )
                )
            )
        ),
        "session.audio.input.turn_detection",
        "gpt-realtime-whisper",
    ),
    # append: audio must be raw bytes, frame at most 15 MiB
    (ev.InputAudioBufferAppendEvent(audio="AAAA"), "audio", "bytes"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("event", "field", "rule_part"), REJECTED, ids=[r[1] for r in REJECTED])
def test_rule_rejects_before_sending(event: ev.ClientEvent, field: str, rule_part: str) -> None:
    with pytest.raises(InvalidClientEvent) as info:
        validate_client_event(event)
    assert info.value.field == field
    assert rule_part in info.value.rule
    assert isinstance(info.value, LocalProtocolError)
    # encode_client_event validates first and produces nothing.
    with pytest.raises(InvalidClientEvent) as info2:
        codec.encode_client_event(event)
    assert info2.value.field == field


ACCEPTED: list[ev.ClientEvent] = [
    _session(output_modalities=["audio"]),
    _session(output_modalities=["text"]),
    _session(output_modalities=None),
    _session(max_output_tokens=1),
    _session(max_output_tokens=4096),
    _session(max_output_tokens="inf"),
    _session(audio=m.AudioConfig(output=m.AudioOutputConfig(speed=0.25))),
    _session(audio=m.AudioConfig(output=m.AudioOutputConfig(speed=1.5))),
    _vad(threshold=0.0, prefix_padding_ms=0, silence_duration_ms=0),
    _vad(threshold=1),
    _input(turn_detection=None, noise_reduction=None, transcription=None, format=None),
    _input(format=m.PCMFormat(rate=24000)),
    _response(metadata={"k" * 64: "v" * 512}),
    _response(metadata={str(i): "v" for i in range(16)}),
    _response(metadata=None),
    _mcp(server_url="https://x"),
    _mcp(connector_id="connector_gmail", server_url=None),
    _mcp(tunnel_id="tun_1"),
    _session(tracing=None, truncation="auto", tool_choice="none"),
    ev.ConversationItemTruncateEvent(item_id="i", content_index=0, audio_end_ms=0),
    ev.ConversationItemCreateEvent(
        item=m.MessageItem(role="assistant", content=[m.OutputTextContent(text="earlier")])
    ),
]


@pytest.mark.parametrize("event", ACCEPTED, ids=range(len(ACCEPTED)))
def test_boundaries_are_accepted(event: ev.ClientEvent) -> None:
    validate_client_event(event)
    codec.encode_client_event(event)


def test_append_limit_is_15_mib_of_decoded_audio() -> None:
    # The seed's rule: "input_audio_buffer.append chunks must be <= 15 MB (base64-decoded)".
    # The audio is measured, not the JSON frame (a third bigger with the base64).
    assert MAX_APPEND_AUDIO_BYTES == 15 * 1024 * 1024
    mib = 1024 * 1024
    for size in (12 * mib, MAX_APPEND_AUDIO_BYTES):
        ok = ev.InputAudioBufferAppendEvent(audio=bytes(size))
        validate_client_event(ok)
        frame = codec.encode_client_event(ok)
        assert len(frame) > size * 4 // 3  # the frame itself is far over 15 MiB
    # An event_id does not eat into the audio budget.
    named = ev.InputAudioBufferAppendEvent(audio=bytes(MAX_APPEND_AUDIO_BYTES), event_id="e" * 999)
    validate_client_event(named)
    codec.encode_client_event(named)
    for audio in (bytes(MAX_APPEND_AUDIO_BYTES + 1), bytearray(MAX_APPEND_AUDIO_BYTES + 1)):
        too_big = ev.InputAudioBufferAppendEvent(audio=audio)  # type: ignore[arg-type]
        for check in (validate_client_event, codec.encode_client_event):
            with pytest.raises(InvalidClientEvent) as info:
                check(too_big)
            assert info.value.field == "audio" and "15 MiB" in info.value.rule
            assert str(MAX_APPEND_AUDIO_BYTES + 1) in info.value.rule


def test_not_a_client_event() -> None:
    with pytest.raises(InvalidClientEvent) as info:
        validate_client_event(m.Reasoning())  # type: ignore[arg-type]
    assert info.value.field == "type"


def test_subclass_of_a_client_event_is_validated() -> None:
    class MyUpdate(ev.SessionUpdateEvent, frozen=True, kw_only=True, tag="session.update"):
        pass

    with pytest.raises(InvalidClientEvent):
        validate_client_event(
            MyUpdate(session=m.RealtimeSessionConfig(output_modalities=["audio", "text"]))
        )


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (
            ev.ConversationItemCreateEvent(
                item=m.MessageItem(
                    role="user", content=[m.InputTextContent(text="hi")], object="realtime.items"
                )
            ),
            "item.object",
        ),
        (
            ev.ResponseCreateEvent(
                response=m.ResponseCreateParams(
                    input=[m.MessageItem(role="assistant", content=[], object="")]
                )
            ),
            "response.input[0].object",
        ),
        (
            ev.SessionUpdateEvent(
                session=m.RealtimeSessionConfig(
                    tools=[m.McpTool(server_label="x", connector_id="connector_myspace")]
                )
            ),
            "session.tools[0].connector_id",
        ),
    ],
)
def test_values_the_server_would_refuse_are_rejected(event: ev.ClientEvent, field: str) -> None:
    with pytest.raises(InvalidClientEvent) as info:
        codec.encode_client_event(event)
    assert info.value.field == field


def test_known_connector_and_item_object_are_accepted() -> None:
    validate_client_event(
        ev.SessionUpdateEvent(
            session=m.RealtimeSessionConfig(
                tools=[m.McpTool(server_label="x", connector_id="connector_gmail")]
            )
        )
    )
    validate_client_event(
        ev.ConversationItemCreateEvent(
            item=m.MessageItem(
                role="user", content=[m.InputTextContent(text="hi")], object="realtime.item"
            )
        )
    )


def test_receive_only_text_spelling_is_not_sent() -> None:
    event = ev.ConversationItemCreateEvent(
        item=m.MessageItem(role="assistant", content=[m.TextContent(text="Earlier answer.")])
    )
    with pytest.raises(InvalidClientEvent) as info:
        codec.encode_client_event(event)
    assert info.value.field == "item.content[0]"
    assert "output_text" in info.value.rule
    ok = ev.ConversationItemCreateEvent(
        item=m.MessageItem(role="assistant", content=[m.OutputTextContent(text="Earlier answer.")])
    )
    assert b'"output_text"' in codec.encode_client_event(ok)
