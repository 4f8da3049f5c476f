"""Cross-check against the official ``openai`` SDK's pydantic models (the test oracle).

* Every client event we encode validates in ``openai.types.realtime.RealtimeClientEvent``
  and the SDK sees the same content (its ``exclude_unset`` dump equals our JSON).
* Server events produced by the SDK's models (``model_dump_json``) decode here to the
  right Struct with the same content.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, get_args

import msgspec
import msgspec.inspect as mi
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.realtime import RealtimeClientEvent, RealtimeServerEvent

from oairt_core import codec
from oairt_core import events as ev
from oairt_core import models as m
from oairt_core.errors import InvalidClientEvent
from tests.test_models_examples import (
    CLIENT_EXAMPLES,
    EXTRA_CLIENT_EXAMPLES,
    EXTRA_SERVER_EXAMPLES,
    SERVER_EXAMPLES,
)
from tests.test_models_hypothesis import SDK_LITERAL_OVERRIDES, struct_strategy

SDK_CLIENT: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeClientEvent)
SDK_SERVER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeServerEvent)


def _strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _has_item_reference(event: ev.ClientEvent) -> bool:
    return (
        isinstance(event, ev.ResponseCreateEvent)
        and isinstance(event.response, m.ResponseCreateParams)
        and isinstance(event.response.input, list)
        and any(isinstance(i, m.ItemReference) for i in event.response.input)
    )


def check_client_event_against_sdk(event: ev.ClientEvent) -> None:
    data = codec.encode_client_event(event)
    ours = json.loads(data)
    if _has_item_reference(event):
        # The SDK's pydantic model cannot express item_reference (only its TypedDict
        # param can): check those entries' shape, validate the rest.
        assert isinstance(event, ev.ResponseCreateEvent)
        assert isinstance(event.response, m.ResponseCreateParams)
        assert isinstance(event.response.input, list)
        refs = [
            (i, x) for i, x in enumerate(event.response.input) if isinstance(x, m.ItemReference)
        ]
        for i, ref in refs:
            assert ours["response"]["input"][i] == {"type": "item_reference", "id": ref.id}
        ours["response"]["input"] = [
            x for x in ours["response"]["input"] if x.get("type") != "item_reference"
        ]
    model = SDK_CLIENT.validate_python(ours)
    assert model.type == ours["type"]
    assert model.model_dump(mode="json", exclude_unset=True) == ours


@pytest.mark.parametrize(
    "event", CLIENT_EXAMPLES + EXTRA_CLIENT_EXAMPLES, ids=lambda e: type(e).__name__
)
def test_client_examples_validate_in_the_sdk(event: ev.ClientEvent) -> None:
    check_client_event_against_sdk(event)


def test_item_reference_is_emitted_even_though_the_sdk_model_cannot_say_it() -> None:
    event = next(e for e in CLIENT_EXAMPLES if _has_item_reference(e))
    with pytest.raises(pydantic.ValidationError):
        SDK_CLIENT.validate_json(codec.encode_client_event(event))
    check_client_event_against_sdk(event)


def check_server_event_from_sdk(event: ev.KnownServerEvent) -> None:
    ours = codec.encode_server_event(event)
    sdk_model = SDK_SERVER.validate_json(ours)
    assert sdk_model.type == json.loads(ours)["type"]
    # exclude_unset keeps explicit nulls: the decode is exactly our event.
    assert codec.decode_server_event(sdk_model.model_dump_json(exclude_unset=True)) == event
    # exclude_none drops them (and pydantic keeps nulls inside free-form dicts): compare
    # both sides with every null removed.
    expected = codec.decode_server_event(msgspec.json.encode(_strip_nulls(json.loads(ours))))
    sdk_no_none = json.loads(sdk_model.model_dump_json(exclude_none=True))
    assert codec.decode_server_event(msgspec.json.encode(_strip_nulls(sdk_no_none))) == expected
    assert type(expected) is type(event)


@pytest.mark.parametrize(
    "event", SERVER_EXAMPLES + EXTRA_SERVER_EXAMPLES, ids=lambda e: type(e).__name__
)
def test_sdk_built_server_events_decode_here(event: ev.KnownServerEvent) -> None:
    check_server_event_from_sdk(event)


def test_sdk_constructed_server_events_decode_here() -> None:
    # Built with the SDK's own constructors rather than from our JSON.
    from openai.types.realtime import (
        ConversationItemAdded,
        RealtimeConversationItemUserMessage,
        ResponseAudioDeltaEvent,
    )
    from openai.types.realtime.realtime_conversation_item_user_message import Content

    delta = ResponseAudioDeltaEvent(
        type="response.output_audio.delta",
        event_id="e1",
        response_id="r",
        item_id="i",
        output_index=0,
        content_index=0,
        delta="AAEC",
    )
    assert codec.decode_server_event(delta.model_dump_json(exclude_unset=True)) == (
        ev.ResponseOutputAudioDeltaEvent(
            event_id="e1",
            response_id="r",
            item_id="i",
            output_index=0,
            content_index=0,
            delta=b"\x00\x01\x02",
        )
    )
    added = ConversationItemAdded(
        type="conversation.item.added",
        event_id="e2",
        previous_item_id=None,
        item=RealtimeConversationItemUserMessage(
            type="message",
            role="user",
            content=[Content(type="input_audio", transcript=None)],
        ),
    )
    assert codec.decode_server_event(added.model_dump_json(exclude_unset=True)) == (
        ev.ConversationItemAddedEvent(
            event_id="e2",
            previous_item_id=None,
            item=m.MessageItem(role="user", content=[m.InputAudioContent(transcript=None)]),
        )
    )


# --------------------------------------------------------------------------------------
# Generated events. Our types are deliberately looser than the SDK's in a few places
# (open strings for enums the server may extend, the text/audio content spellings), so
# the generators are pinned to what the SDK accepts there.
# --------------------------------------------------------------------------------------

_USER_PARTS = st.one_of(
    struct_strategy(m.InputTextContent),
    struct_strategy(m.InputAudioContent),
    struct_strategy(m.InputImageContent),
)
_ASSISTANT_PARTS = struct_strategy(m.OutputTextContent) | struct_strategy(m.OutputAudioContent)
_SYSTEM_PARTS = struct_strategy(m.InputTextContent)


@st.composite
def _message(draw: st.DrawFn) -> m.MessageItem:
    role = draw(st.sampled_from(["system", "user", "assistant"]))
    parts = {"system": _SYSTEM_PARTS, "user": _USER_PARTS, "assistant": _ASSISTANT_PARTS}[role]
    base = draw(struct_strategy(m.MessageItem))
    return m.MessageItem(
        role=role,  # type: ignore[arg-type]
        content=draw(st.lists(parts, max_size=3)),
        id=base.id,
        status=base.status,
        object=draw(st.sampled_from([msgspec.UNSET, None, "realtime.item"])),
    )


def _sdk_overrides() -> dict[tuple[type, str], st.SearchStrategy[Any]]:
    o: dict[tuple[type, str], st.SearchStrategy[Any]] = dict(SDK_LITERAL_OVERRIDES)
    item_object = st.sampled_from([msgspec.UNSET, None, "realtime.item"])
    for cls in (m.FunctionCallItem, m.FunctionCallOutputItem):
        o[(cls, "object")] = item_object
    o[(m.RealtimeResponse, "object")] = st.sampled_from([None, "realtime.response"])
    o[(m.Conversation, "object")] = st.sampled_from([None, "realtime.conversation"])
    o[(m.RateLimit, "name")] = st.sampled_from([None, "requests", "tokens"])
    o[(m.ResponseStatusDetails, "type")] = st.sampled_from(
        [None, "completed", "cancelled", "incomplete", "failed"]
    )
    o[(m.ResponseStatusDetails, "reason")] = st.sampled_from(
        [None, "turn_detected", "client_cancelled", "max_output_tokens", "content_filter"]
    )
    o[(m.ResponseContentPart, "type")] = st.sampled_from([None, "text", "audio"])
    # The SDK's response object has no custom-voice form.
    o[(m.ResponseAudioOutput, "voice")] = st.sampled_from([msgspec.UNSET, None, "marin"])
    return o


_OVERRIDES = _sdk_overrides()
_ITEMS = st.one_of(
    _message(),
    *[
        struct_strategy(c, _OVERRIDES)
        for c in (
            m.FunctionCallItem,
            m.FunctionCallOutputItem,
            m.McpCallItem,
            m.McpListToolsItem,
            m.McpApprovalRequestItem,
            m.McpApprovalResponseItem,
        )
    ],
)
for _cls in ev.SERVER_EVENT_TYPES.values():
    if "item" in _cls.__struct_fields__:
        _OVERRIDES[(_cls, "item")] = _ITEMS
_OVERRIDES[(ev.ConversationItemCreateEvent, "item")] = _ITEMS
_OVERRIDES[(m.RealtimeResponse, "output")] = st.none() | st.lists(_ITEMS, max_size=2)
_OVERRIDES[(m.ResponseCreateParams, "input")] = st.just(msgspec.UNSET) | st.lists(
    _ITEMS | struct_strategy(m.ItemReference), max_size=2
)

_client = st.one_of(
    [
        struct_strategy(c, _OVERRIDES)
        for c in sorted(ev.CLIENT_EVENT_TYPES.values(), key=lambda c: c.__name__)
    ]
)
_server = st.one_of(
    [
        struct_strategy(c, _OVERRIDES)
        for c in sorted(ev.SERVER_EVENT_TYPES.values(), key=lambda c: c.__name__)
    ]
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_client)
def test_generated_client_events_validate_in_the_sdk(event: ev.ClientEvent) -> None:
    try:
        codec.encode_client_event(event)
    except InvalidClientEvent:
        return  # rejected before sending: nothing reaches the SDK oracle
    check_client_event_against_sdk(event)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_server)
def test_generated_server_events_survive_the_sdk(event: ev.KnownServerEvent) -> None:
    check_server_event_from_sdk(event)


# --------------------------------------------------------------------------------------
# Shapes: every event and nested model has the SDK's field names and required fields.
# --------------------------------------------------------------------------------------


def _required(cls: type) -> set[str]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return {f.name for f in info.fields if f.required}


def _sdk_union_members(union: Any) -> tuple[Any, ...]:
    return get_args(get_args(union)[0])  # Annotated[Union[...], PropertyInfo]


@pytest.mark.parametrize(
    ("sdk_union", "ours"),
    [(RealtimeClientEvent, ev.CLIENT_EVENT_TYPES), (RealtimeServerEvent, ev.SERVER_EVENT_TYPES)],
    ids=["client", "server"],
)
def test_event_fields_match_the_sdk(sdk_union: Any, ours: dict[str, type]) -> None:
    members = _sdk_union_members(sdk_union)
    assert len(members) == len(ours)
    for sdk_cls in members:
        wire_type = get_args(sdk_cls.model_fields["type"].annotation)[0]
        cls = ours[wire_type]
        sdk_fields = set(sdk_cls.model_fields) - {"type"}
        sdk_required = {n for n, f in sdk_cls.model_fields.items() if f.is_required()} - {"type"}
        fields = set(cls.__struct_fields__)  # type: ignore[attr-defined]
        if cls is ev.InputAudioBufferDtmfEventReceivedEvent:
            fields.discard("event_id")  # kept in case a server sends one; never required
        assert fields == sdk_fields, wire_type
        assert _required(cls) == sdk_required, wire_type


MODEL_PAIRS = [
    ("realtime_session_create_request:RealtimeSessionCreateRequest", "RealtimeSessionConfig"),
    (
        "realtime_transcription_session_create_request:RealtimeTranscriptionSessionCreateRequest",
        "TranscriptionSessionConfig",
    ),
    ("realtime_audio_config:RealtimeAudioConfig", "AudioConfig"),
    ("realtime_audio_config_input:RealtimeAudioConfigInput", "AudioInputConfig"),
    ("realtime_audio_config_output:RealtimeAudioConfigOutput", "AudioOutputConfig"),
    (
        "realtime_transcription_session_audio:RealtimeTranscriptionSessionAudio",
        "TranscriptionAudioConfig",
    ),
    (
        "realtime_transcription_session_audio_input:RealtimeTranscriptionSessionAudioInput",
        "AudioInputConfig",
    ),
    ("audio_transcription:AudioTranscription", "InputTranscription"),
    ("realtime_audio_config_input:NoiseReduction", "NoiseReduction"),
    ("realtime_audio_input_turn_detection:ServerVad", "ServerVad"),
    ("realtime_audio_input_turn_detection:SemanticVad", "SemanticVad"),
    ("realtime_audio_formats:AudioPCM", "PCMFormat"),
    ("realtime_audio_formats:AudioPCMU", "PCMUFormat"),
    ("realtime_audio_formats:AudioPCMA", "PCMAFormat"),
    ("realtime_audio_config_output:VoiceID", "VoiceId"),
    ("realtime_function_tool:RealtimeFunctionTool", "FunctionTool"),
    ("realtime_tools_config_union:Mcp", "McpTool"),
    ("realtime_response_create_mcp_tool:RealtimeResponseCreateMcpTool", "McpTool"),
    ("realtime_tools_config_union:McpAllowedToolsMcpToolFilter", "McpToolFilter"),
    ("realtime_tools_config_union:McpRequireApprovalMcpToolApprovalFilter", "McpRequireApproval"),
    ("tool_choice_function:ToolChoiceFunction", "ToolChoiceFunction"),
    ("tool_choice_mcp:ToolChoiceMcp", "ToolChoiceMcp"),
    ("realtime_tracing_config:TracingConfiguration", "TracingConfig"),
    (
        "realtime_truncation_retention_ratio:RealtimeTruncationRetentionRatio",
        "TruncationRetentionRatio",
    ),
    ("realtime_truncation_retention_ratio:TokenLimits", "TokenLimits"),
    ("response_prompt:ResponsePrompt", "Prompt"),
    ("realtime_reasoning:RealtimeReasoning", "Reasoning"),
    ("responses.response_input_text:ResponseInputText", "PromptInputText"),
    ("responses.response_input_image:ResponseInputImage", "PromptInputImage"),
    ("responses.response_input_file:ResponseInputFile", "PromptInputFile"),
    ("responses.response_input_text:PromptCacheBreakpoint", "PromptCacheBreakpoint"),
    ("realtime_conversation_item_user_message:RealtimeConversationItemUserMessage", "MessageItem"),
    (
        "realtime_conversation_item_assistant_message:RealtimeConversationItemAssistantMessage",
        "MessageItem",
    ),
    (
        "realtime_conversation_item_system_message:RealtimeConversationItemSystemMessage",
        "MessageItem",
    ),
    (
        "realtime_conversation_item_function_call:RealtimeConversationItemFunctionCall",
        "FunctionCallItem",
    ),
    (
        "realtime_conversation_item_function_call_output:RealtimeConversationItemFunctionCallOutput",
        "FunctionCallOutputItem",
    ),
    ("realtime_mcp_tool_call:RealtimeMcpToolCall", "McpCallItem"),
    ("realtime_mcp_list_tools:RealtimeMcpListTools", "McpListToolsItem"),
    ("realtime_mcp_list_tools:Tool", "McpListedTool"),
    ("realtime_mcp_approval_request:RealtimeMcpApprovalRequest", "McpApprovalRequestItem"),
    ("realtime_mcp_approval_response:RealtimeMcpApprovalResponse", "McpApprovalResponseItem"),
    ("realtime_mcp_protocol_error:RealtimeMcpProtocolError", "McpProtocolError"),
    ("realtime_mcp_tool_execution_error:RealtimeMcpToolExecutionError", "McpToolExecutionError"),
    ("realtime_mcphttp_error:RealtimeMcphttpError", "McpHttpError"),
    ("realtime_response_create_params:RealtimeResponseCreateParams", "ResponseCreateParams"),
    (
        "realtime_response_create_audio_output:RealtimeResponseCreateAudioOutput",
        "ResponseAudioConfig",
    ),
    ("realtime_response_create_audio_output:Output", "ResponseAudioOutput"),
    ("realtime_response:RealtimeResponse", "RealtimeResponse"),
    ("realtime_response:Audio", "ResponseAudioConfig"),
    ("realtime_response:AudioOutput", "ResponseAudioOutput"),
    ("realtime_response_status:RealtimeResponseStatus", "ResponseStatusDetails"),
    ("realtime_response_status:Error", "ResponseError"),
    ("realtime_response_usage:RealtimeResponseUsage", "Usage"),
    (
        "realtime_response_usage_input_token_details:RealtimeResponseUsageInputTokenDetails",
        "InputTokenDetails",
    ),
    ("realtime_response_usage_input_token_details:CachedTokensDetails", "CachedTokensDetails"),
    (
        "realtime_response_usage_output_token_details:RealtimeResponseUsageOutputTokenDetails",
        "OutputTokenDetails",
    ),
    ("realtime_error:RealtimeError", "RealtimeError"),
    ("rate_limits_updated_event:RateLimit", "RateLimit"),
    ("conversation_created_event:Conversation", "Conversation"),
    ("conversation_item_input_audio_transcription_failed_event:Error", "TranscriptionError"),
    (
        "conversation_item_input_audio_transcription_completed_event:UsageTranscriptTextUsageTokens",
        "TranscriptionUsageTokens",
    ),
    (
        "conversation_item_input_audio_transcription_completed_event:UsageTranscriptTextUsageDuration",
        "TranscriptionUsageDuration",
    ),
    (
        "conversation_item_input_audio_transcription_completed_event:UsageTranscriptTextUsageTokensInputTokenDetails",
        "TranscriptionTokenDetails",
    ),
    ("audio.transcription_language:TranscriptionLanguage", "TranscriptionLanguage"),
    ("log_prob_properties:LogProbProperties", "LogProb"),
    ("response_content_part_added_event:Part", "ResponseContentPart"),
    ("response_content_part_done_event:Part", "ResponseContentPart"),
]


def _sdk_class(path: str) -> Any:
    module, name = path.split(":")
    module = module.removeprefix("responses.")
    candidates = (
        [f"openai.types.{module}"]
        if module.startswith("audio.")
        else [f"openai.types.realtime.{module}", f"openai.types.responses.{module}"]
    )
    for candidate in candidates:
        try:
            return getattr(importlib.import_module(candidate), name)
        except ModuleNotFoundError:
            continue
    raise LookupError(path)


@pytest.mark.parametrize(("sdk_path", "ours"), MODEL_PAIRS, ids=[p[0] for p in MODEL_PAIRS])
def test_model_fields_match_the_sdk(sdk_path: str, ours: str) -> None:
    sdk_cls = _sdk_class(sdk_path)
    cls = getattr(m, ours)
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    # A tagged Struct carries `type` as its tag, not as a field.
    skip = {"type"} if info.tag_field else set()
    assert {f.name for f in info.fields} == set(sdk_cls.model_fields) - skip
    sdk_required = {n for n, f in sdk_cls.model_fields.items() if f.is_required()}
    assert _required(cls) == sdk_required - skip
