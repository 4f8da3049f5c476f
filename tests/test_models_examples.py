"""Hand-written examples of all 57 GA events, and their round trips through the codec.

Other test modules import ``CLIENT_EXAMPLES`` / ``SERVER_EXAMPLES`` from here.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from oairt_core import codec
from oairt_core import events as ev
from oairt_core import models as m

AUDIO = bytes(range(256)) * 4  # 1024 bytes, every byte value

FULL_SESSION = m.RealtimeSessionConfig(
    model="gpt-realtime",
    instructions="Be brief.",
    output_modalities=["audio"],
    max_output_tokens="inf",
    audio=m.AudioConfig(
        input=m.AudioInputConfig(
            format=m.PCMFormat(rate=24000),
            noise_reduction=m.NoiseReduction(type="near_field", strength=0.5),
            transcription=m.InputTranscription(
                model="gpt-4o-transcribe", language="en", prompt="names: Ada"
            ),
            turn_detection=m.ServerVad(
                threshold=0.5,
                prefix_padding_ms=300,
                silence_duration_ms=500,
                idle_timeout_ms=6000,
                create_response=True,
                interrupt_response=True,
            ),
        ),
        output=m.AudioOutputConfig(format=m.PCMUFormat(), voice="marin", speed=1.25),
    ),
    include=["item.input_audio_transcription.logprobs"],
    tools=[
        m.FunctionTool(
            name="get_weather",
            description="Weather for a city",
            parameters={
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        ),
        m.McpTool(
            server_label="deepwiki",
            server_url="https://mcp.deepwiki.com/mcp",
            allowed_tools=m.McpToolFilter(tool_names=["ask"], read_only=True),
            require_approval=m.McpRequireApproval(never=m.McpToolFilter(tool_names=["ask"])),
            headers={"X-Trace": "1"},
            allowed_callers=["direct"],
            defer_loading=False,
        ),
        m.McpTool(server_label="gmail", connector_id="connector_gmail", require_approval="always"),
    ],
    tool_choice=m.ToolChoiceMcp(server_label="deepwiki", name="ask"),
    parallel_tool_calls=False,
    reasoning=m.Reasoning(effort="low"),
    prompt=m.Prompt(
        id="pmpt_1",
        version="2",
        variables={
            "city": "Paris",
            "greeting": m.PromptInputText(text="Hello"),
            "logo": m.PromptInputImage(detail="auto", image_url="data:image/png;base64,AAAA"),
            "doc": m.PromptInputFile(file_id="file_1"),
        },
    ),
    tracing=m.TracingConfig(workflow_name="w", group_id="g", metadata={"k": "v"}),
    truncation=m.TruncationRetentionRatio(
        retention_ratio=0.5, token_limits=m.TokenLimits(post_instructions=1000)
    ),
)

TRANSCRIPTION_SESSION = m.TranscriptionSessionConfig(
    audio=m.TranscriptionAudioConfig(
        input=m.AudioInputConfig(
            format=m.PCMAFormat(),
            noise_reduction=None,
            transcription=m.InputTranscription(model="gpt-realtime-whisper", delay="low"),
            turn_detection=None,
        )
    ),
    include=["item.input_audio_transcription.logprobs"],
)

USER_MSG = m.MessageItem(
    role="user",
    content=[
        m.InputTextContent(text="What is this?"),
        m.InputAudioContent(audio=AUDIO, transcript="what is this"),
        m.InputImageContent(image_url="data:image/png;base64,AAAA", detail="high"),
    ],
    id="item_u1",
    object="realtime.item",
    status="completed",
)
ASSISTANT_MSG = m.MessageItem(
    role="assistant",
    content=[
        m.OutputTextContent(text="A cat."),
        m.OutputAudioContent(audio=AUDIO, transcript="A cat."),
    ],
    id="item_a1",
    status="in_progress",
)
SYSTEM_MSG = m.MessageItem.system_text("The user is now asking about cats.")

ITEMS: list[m.ConversationItem] = [
    USER_MSG,
    ASSISTANT_MSG,
    SYSTEM_MSG,
    m.FunctionCallItem(
        name="get_weather", arguments='{"city":"Paris"}', call_id="call_1", id="item_f1"
    ),
    m.FunctionCallOutputItem(call_id="call_1", output='{"temp":21}', status="completed"),
    m.McpCallItem(
        id="mcp_1",
        server_label="deepwiki",
        name="ask",
        arguments="{}",
        approval_request_id=None,
        output=None,
        error=m.McpHttpError(code=502, message="bad gateway"),
    ),
    m.McpCallItem(
        id="mcp_2",
        server_label="deepwiki",
        name="ask",
        arguments="{}",
        error=m.McpProtocolError(code=-32600, message="invalid"),
    ),
    m.McpCallItem(
        id="mcp_3",
        server_label="deepwiki",
        name="ask",
        arguments="{}",
        error=m.McpToolExecutionError(message="boom"),
    ),
    m.McpListToolsItem(
        server_label="deepwiki",
        tools=[
            m.McpListedTool(
                name="ask",
                input_schema={"type": "object"},
                description="Ask a question",
                annotations={"readOnlyHint": True},
            )
        ],
        id="mcpl_1",
    ),
    m.McpApprovalRequestItem(id="mcpr_1", server_label="deepwiki", name="ask", arguments="{}"),
    m.McpApprovalResponseItem(
        id="mcpa_1", approval_request_id="mcpr_1", approve=False, reason="no"
    ),
]

RESPONSE = m.RealtimeResponse(
    id="resp_1",
    object="realtime.response",
    status="failed",
    status_details=m.ResponseStatusDetails(
        type="failed",
        reason=None,
        error=m.ResponseError(type="server_error", code="oops", message="failed"),
    ),
    output=[ASSISTANT_MSG, ITEMS[3]],
    conversation_id="conv_1",
    output_modalities=["audio"],
    max_output_tokens=4096,
    audio=m.ResponseAudioConfig(
        output=m.ResponseAudioOutput(format=m.PCMFormat(rate=24000), voice="cedar")
    ),
    metadata={"topic": "weather"},
    usage=m.Usage(
        total_tokens=30,
        input_tokens=20,
        output_tokens=10,
        input_token_details=m.InputTokenDetails(
            text_tokens=5,
            audio_tokens=15,
            image_tokens=0,
            cached_tokens=4,
            cached_tokens_details=m.CachedTokensDetails(
                text_tokens=4, audio_tokens=0, image_tokens=0
            ),
        ),
        output_token_details=m.OutputTokenDetails(text_tokens=2, audio_tokens=8),
    ),
)

CLIENT_EXAMPLES: list[ev.ClientEvent] = [
    ev.ConversationItemCreateEvent(item=USER_MSG, previous_item_id="root", event_id="c1"),
    ev.ConversationItemDeleteEvent(item_id="item_u1"),
    ev.ConversationItemRetrieveEvent(item_id="item_u1", event_id="c3"),
    ev.ConversationItemTruncateEvent(item_id="item_a1", content_index=0, audio_end_ms=1500),
    ev.InputAudioBufferAppendEvent(audio=AUDIO),
    ev.InputAudioBufferClearEvent(),
    ev.OutputAudioBufferClearEvent(event_id="c7"),
    ev.InputAudioBufferCommitEvent(),
    ev.ResponseCancelEvent(response_id="resp_1"),
    ev.ResponseCreateEvent(
        response=m.ResponseCreateParams(
            conversation="none",
            input=[m.ItemReference(id="item_u1"), SYSTEM_MSG, ITEMS[4]],
            instructions="Summarise.",
            output_modalities=["text"],
            max_output_tokens=200,
            audio=m.ResponseAudioConfig(
                output=m.ResponseAudioOutput(format=m.PCMFormat(), voice=m.VoiceId(id="voice_1"))
            ),
            tools=[m.FunctionTool(name="f", parameters={"type": "object"})],
            tool_choice="required",
            parallel_tool_calls=True,
            reasoning=m.Reasoning(effort="minimal"),
            prompt=None,
            metadata={"purpose": "summary"},
        )
    ),
    ev.SessionUpdateEvent(session=FULL_SESSION, event_id="c11"),
]

# More client events with interesting shapes (not one per type).
EXTRA_CLIENT_EXAMPLES: list[ev.ClientEvent] = [
    ev.SessionUpdateEvent(session=TRANSCRIPTION_SESSION),
    ev.SessionUpdateEvent(
        session=m.RealtimeSessionConfig(
            tracing=None,
            prompt=None,
            truncation="disabled",
            tool_choice=m.ToolChoiceFunction(name="f"),
            audio=m.AudioConfig(
                input=m.AudioInputConfig(
                    turn_detection=m.SemanticVad(eagerness="high", create_response=False)
                )
            ),
        )
    ),
    ev.SessionUpdateEvent(session=m.RealtimeSessionConfig(tracing="auto", tools=[])),
    ev.ResponseCreateEvent(),
    ev.ResponseCreateEvent(response=m.ResponseCreateParams(input=[])),
    *[ev.ConversationItemCreateEvent(item=item) for item in ITEMS if item is not ASSISTANT_MSG],
]

_RESP: dict[str, Any] = {"response_id": "resp_1", "item_id": "item_a1", "output_index": 0}

SERVER_EXAMPLES: list[ev.KnownServerEvent] = [
    ev.ConversationCreatedEvent(
        event_id="s1", conversation=m.Conversation(id="conv_1", object="realtime.conversation")
    ),
    ev.ConversationItemCreatedEvent(event_id="s2", item=USER_MSG, previous_item_id=None),
    ev.ConversationItemDeletedEvent(event_id="s3", item_id="item_u1"),
    ev.ConversationItemInputAudioTranscriptionCompletedEvent(
        event_id="s4",
        item_id="item_u1",
        content_index=0,
        transcript="hello",
        usage=m.TranscriptionUsageTokens(
            input_tokens=10,
            output_tokens=2,
            total_tokens=12,
            input_token_details=m.TranscriptionTokenDetails(text_tokens=0, audio_tokens=10),
        ),
        languages=[m.TranscriptionLanguage(code="en")],
        logprobs=[m.LogProb(token="hello", bytes=[104, 101, 108, 108, 111], logprob=-0.01)],
    ),
    ev.ConversationItemInputAudioTranscriptionDeltaEvent(
        event_id="s5", item_id="item_u1", content_index=0, delta="hel", logprobs=None
    ),
    ev.ConversationItemInputAudioTranscriptionFailedEvent(
        event_id="s6",
        item_id="item_u1",
        content_index=0,
        error=m.TranscriptionError(type="transcription_error", code="audio_unintelligible"),
    ),
    ev.ConversationItemRetrievedEvent(event_id="s7", item=ASSISTANT_MSG),
    ev.ConversationItemTruncatedEvent(
        event_id="s8", item_id="item_a1", content_index=0, audio_end_ms=1500
    ),
    ev.ErrorEvent(
        event_id="s9",
        error=m.RealtimeError(
            type="invalid_request_error",
            code="invalid_event",
            message="The 'type' field is missing.",
            param=None,
            event_id="c1",
        ),
    ),
    ev.InputAudioBufferClearedEvent(event_id="s10"),
    ev.InputAudioBufferCommittedEvent(
        event_id="s11", item_id="item_u2", previous_item_id="item_u1"
    ),
    ev.InputAudioBufferDtmfEventReceivedEvent(event="5", received_at=1764000000),
    ev.InputAudioBufferSpeechStartedEvent(event_id="s13", item_id="item_u2", audio_start_ms=120),
    ev.InputAudioBufferSpeechStoppedEvent(event_id="s14", item_id="item_u2", audio_end_ms=2200),
    ev.RateLimitsUpdatedEvent(
        event_id="s15",
        rate_limits=[
            m.RateLimit(name="requests", limit=1000, remaining=999, reset_seconds=0.06),
            m.RateLimit(name="tokens", limit=50000, remaining=49000, reset_seconds=1.2),
        ],
    ),
    ev.ResponseOutputAudioDeltaEvent(event_id="s16", content_index=0, delta=AUDIO, **_RESP),
    ev.ResponseOutputAudioDoneEvent(event_id="s17", content_index=0, **_RESP),
    ev.ResponseOutputAudioTranscriptDeltaEvent(
        event_id="s18", content_index=0, delta="A c", **_RESP
    ),
    ev.ResponseOutputAudioTranscriptDoneEvent(
        event_id="s19", content_index=0, transcript="A cat.", **_RESP
    ),
    ev.ResponseContentPartAddedEvent(
        event_id="s20",
        content_index=0,
        part=m.ResponseContentPart(type="audio", transcript=""),
        **_RESP,
    ),
    ev.ResponseContentPartDoneEvent(
        event_id="s21",
        content_index=0,
        part=m.ResponseContentPart(type="text", text="A cat."),
        **_RESP,
    ),
    ev.ResponseCreatedEvent(
        event_id="s22",
        response=m.RealtimeResponse(id="resp_1", status="in_progress", output=[], usage=None),
    ),
    ev.ResponseDoneEvent(event_id="s23", response=RESPONSE),
    ev.ResponseFunctionCallArgumentsDeltaEvent(
        event_id="s24", call_id="call_1", delta='{"ci', **_RESP
    ),
    ev.ResponseFunctionCallArgumentsDoneEvent(
        event_id="s25", call_id="call_1", name="get_weather", arguments='{"city":"Paris"}', **_RESP
    ),
    ev.ResponseOutputItemAddedEvent(
        event_id="s26",
        response_id="resp_1",
        output_index=0,
        item=m.MessageItem(role="assistant", content=[], status="in_progress", id="item_a1"),
    ),
    ev.ResponseOutputItemDoneEvent(
        event_id="s27", response_id="resp_1", output_index=0, item=ASSISTANT_MSG
    ),
    ev.ResponseOutputTextDeltaEvent(event_id="s28", content_index=0, delta="A", **_RESP),
    ev.ResponseOutputTextDoneEvent(event_id="s29", content_index=0, text="A cat.", **_RESP),
    ev.SessionCreatedEvent(event_id="s30", session=FULL_SESSION),
    ev.SessionUpdatedEvent(event_id="s31", session=TRANSCRIPTION_SESSION),
    ev.OutputAudioBufferStartedEvent(event_id="s32", response_id="resp_1"),
    ev.OutputAudioBufferStoppedEvent(event_id="s33", response_id="resp_1"),
    ev.OutputAudioBufferClearedEvent(event_id="s34", response_id="resp_1"),
    ev.ConversationItemAddedEvent(event_id="s35", item=ITEMS[3], previous_item_id="item_u1"),
    ev.ConversationItemDoneEvent(event_id="s36", item=ITEMS[8]),
    ev.InputAudioBufferTimeoutTriggeredEvent(
        event_id="s37", item_id="item_u3", audio_start_ms=0, audio_end_ms=6000
    ),
    ev.ConversationItemInputAudioTranscriptionSegmentEvent(
        event_id="s38",
        item_id="item_u1",
        content_index=0,
        id="seg_1",
        text="hello",
        speaker="A",
        start=0.0,
        end=0.75,
    ),
    ev.McpListToolsInProgressEvent(event_id="s39", item_id="mcpl_1"),
    ev.McpListToolsCompletedEvent(event_id="s40", item_id="mcpl_1"),
    ev.McpListToolsFailedEvent(event_id="s41", item_id="mcpl_1"),
    ev.ResponseMcpCallArgumentsDeltaEvent(
        event_id="s42",
        response_id="resp_1",
        item_id="mcp_1",
        output_index=1,
        delta="{",
        obfuscation="abc",
    ),
    ev.ResponseMcpCallArgumentsDoneEvent(
        event_id="s43", response_id="resp_1", item_id="mcp_1", output_index=1, arguments="{}"
    ),
    ev.ResponseMcpCallInProgressEvent(event_id="s44", item_id="mcp_1", output_index=1),
    ev.ResponseMcpCallCompletedEvent(event_id="s45", item_id="mcp_1", output_index=1),
    ev.ResponseMcpCallFailedEvent(event_id="s46", item_id="mcp_1", output_index=1),
]

EXTRA_SERVER_EXAMPLES: list[ev.KnownServerEvent] = [
    ev.ConversationItemInputAudioTranscriptionCompletedEvent(
        event_id="x1",
        item_id="item_u1",
        content_index=0,
        transcript="hi",
        usage=m.TranscriptionUsageDuration(seconds=1.5),
    ),
    *[ev.ConversationItemAddedEvent(event_id=f"x{i}", item=item) for i, item in enumerate(ITEMS)],
]


def _tag(cls: type) -> str:
    return str(cls.__struct_config__.tag)  # type: ignore[attr-defined]


def test_every_event_type_has_an_example() -> None:
    assert sorted(_tag(type(e)) for e in CLIENT_EXAMPLES) == sorted(ev.CLIENT_EVENT_TYPES)
    assert sorted(_tag(type(e)) for e in SERVER_EXAMPLES) == sorted(ev.SERVER_EVENT_TYPES)
    assert len(ev.CLIENT_EVENT_TYPES) == 11
    assert len(ev.SERVER_EVENT_TYPES) == 46


@pytest.mark.parametrize(
    "event", CLIENT_EXAMPLES + EXTRA_CLIENT_EXAMPLES, ids=lambda e: type(e).__name__
)
def test_client_event_round_trip(event: ev.ClientEvent) -> None:
    data = codec.encode_client_event(event)
    assert codec.decode_client_event(data) == event
    assert msgspec.json.decode(data)["type"] == _tag(type(event))
    # Encoding is deterministic and stable through a second trip.
    assert codec.encode_client_event(codec.decode_client_event(data)) == data


@pytest.mark.parametrize(
    "event", SERVER_EXAMPLES + EXTRA_SERVER_EXAMPLES, ids=lambda e: type(e).__name__
)
def test_server_event_round_trip(event: ev.KnownServerEvent) -> None:
    data = codec.encode_server_event(event)
    decoded = codec.decode_server_event(data)
    assert type(decoded) is type(event)
    assert decoded == event
    assert codec.encode_server_event(decoded) == data
    # The decode also accepts str.
    assert codec.decode_server_event(data.decode()) == event


def test_unset_fields_are_never_emitted() -> None:
    assert codec.encode_client_event(ev.InputAudioBufferCommitEvent()) == (
        b'{"type":"input_audio_buffer.commit"}'
    )
    assert codec.encode_client_event(ev.SessionUpdateEvent(session=m.RealtimeSessionConfig())) == (
        b'{"type":"session.update","session":{"type":"realtime"}}'
    )
    item = msgspec.json.decode(
        codec.encode_client_event(ev.ConversationItemCreateEvent(item=SYSTEM_MSG))
    )["item"]
    assert item == {
        "type": "message",
        "role": "system",
        "content": [{"type": "input_text", "text": "The user is now asking about cats."}],
    }


def test_null_is_sent_and_kept_apart_from_unset() -> None:
    session = m.RealtimeSessionConfig(
        tracing=None,
        audio=m.AudioConfig(input=m.AudioInputConfig(turn_detection=None, noise_reduction=None)),
    )
    data = codec.encode_client_event(ev.SessionUpdateEvent(session=session))
    assert msgspec.json.decode(data)["session"] == {
        "type": "realtime",
        "tracing": None,
        "audio": {"input": {"turn_detection": None, "noise_reduction": None}},
    }
    back = codec.decode_client_event(data)
    assert isinstance(back, ev.SessionUpdateEvent)
    assert isinstance(back.session, m.RealtimeSessionConfig)
    assert back.session.tracing is None
    assert back.session.instructions is msgspec.UNSET


def test_pcm_format_defaults_to_24k() -> None:
    assert msgspec.json.encode(m.PCMFormat()) == b'{"type":"audio/pcm","rate":24000}'


def test_sdk_names_are_aliases() -> None:
    assert m.RealtimeSessionCreateRequest is m.RealtimeSessionConfig
    assert m.RealtimeTranscriptionSessionCreateRequest is m.TranscriptionSessionConfig


def test_message_constructors() -> None:
    assert m.MessageItem.user_text("hi") == m.MessageItem(
        role="user", content=[m.InputTextContent(text="hi")]
    )
    assert m.MessageItem.user_audio(b"\x01").content == [m.InputAudioContent(audio=b"\x01")]
    assert m.MessageItem.assistant_text("ok", id="a").id == "a"
    assert m.MessageItem.system_text("s").role == "system"


def test_mcp_tool_repr_hides_credentials() -> None:
    tool = m.McpTool(
        server_label="x",
        server_url="https://example.com",
        authorization="sk-secret-token-123456",
        headers={"Authorization": "Bearer abcdefgh"},
    )
    text = repr(tool)
    assert "sk-secret" not in text and "abcdefgh" not in text
    assert "https://example.com" in text and "server_label='x'" in text


def test_events_are_frozen() -> None:
    event = ev.InputAudioBufferAppendEvent(audio=b"")
    with pytest.raises(AttributeError):
        event.audio = b"x"  # type: ignore[misc]


def test_events_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        ev.ConversationItemDeleteEvent("item_1")  # type: ignore[call-arg]


def test_audio_reprs_stay_short() -> None:
    delta = SERVER_EXAMPLES[15]
    assert isinstance(delta, ev.ResponseOutputAudioDeltaEvent)
    assert repr(delta) == (
        "ResponseOutputAudioDeltaEvent(event_id='s16', response_id='resp_1', item_id='item_a1', "
        "output_index=0, content_index=0, delta=<1024 bytes>)"
    )
    assert repr(ev.InputAudioBufferAppendEvent(audio=AUDIO)) == (
        "InputAudioBufferAppendEvent(audio=<1024 bytes>)"
    )
    assert repr(ev.InputAudioBufferAppendEvent(audio=b"ab", event_id="e")) == (
        "InputAudioBufferAppendEvent(event_id='e', audio=b'ab')"
    )
    assert "<1024 bytes>" in repr(USER_MSG)
    assert repr(m.ResponseContentPart(type="audio", transcript="")) == (
        "ResponseContentPart(type='audio', transcript='')"
    )


def test_unknown_event_repr_is_short_and_redacted() -> None:
    event = ev.UnknownServerEvent(type="x", raw=b'{"k":"sk-abcdefghijklmnop"' + b" " * 500 + b"}")
    text = repr(event)
    assert "sk-abcdefghijklmnop" not in text
    assert "<527 bytes>" in text and len(text) < 300
