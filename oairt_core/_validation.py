"""Client-side GA rules, checked before a byte is sent.

:func:`validate_client_event` raises :class:`InvalidClientEvent` naming the dotted
field path and the rule broken. Dispatch is on the event class, so the hot path
(``input_audio_buffer.append`` every 20 ms) costs one dict lookup and one length check.

>>> from oairt_core.events import SessionUpdateEvent
>>> from oairt_core.models import RealtimeSessionConfig
>>> ok = SessionUpdateEvent(session=RealtimeSessionConfig(output_modalities=["text"]))
>>> validate_client_event(ok)
>>> try:
...     validate_client_event(
...         SessionUpdateEvent(session=RealtimeSessionConfig(output_modalities=["text", "audio"]))
...     )
... except InvalidClientEvent as exc:
...     print(exc.field, "|", exc.rule)
session.output_modalities | must be exactly ["audio"] or ["text"]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from .errors import InvalidClientEvent
from .events import (
    ClientEvent,
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from .models import (
    AudioConfig,
    AudioContent,
    AudioInputConfig,
    AudioOutputConfig,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    InputAudioContent,
    InputImageContent,
    InputTextContent,
    InputTranscription,
    ItemReference,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpListToolsItem,
    McpTool,
    MessageItem,
    NoiseReduction,
    OutputAudioContent,
    OutputTextContent,
    PCMAFormat,
    PCMFormat,
    PCMUFormat,
    Prompt,
    RealtimeSessionConfig,
    ResponseAudioConfig,
    ResponseCreateParams,
    SemanticVad,
    ServerVad,
    TextContent,
    ToolChoiceFunction,
    ToolChoiceMcp,
    TracingConfig,
    TranscriptionAudioConfig,
    TranscriptionSessionConfig,
    TruncationRetentionRatio,
)

__all__ = [
    "MAX_APPEND_AUDIO_BYTES",
    "MAX_METADATA_KEY_CHARS",
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE_CHARS",
    "MCP_CONNECTOR_IDS",
    "validate_client_event",
]

MAX_APPEND_AUDIO_BYTES = 15 * 1024 * 1024
"""Audio bytes (base64-decoded) one ``input_audio_buffer.append`` may carry: 15 MiB.

The seed's rule: "chunks must be <= 15 MB (base64-decoded)". The JSON frame is a third
bigger (base64), about 20 MiB at the limit, well under the connection's frame cap.
"""

MAX_METADATA_PAIRS = 16
MAX_METADATA_KEY_CHARS = 64
MAX_METADATA_VALUE_CHARS = 512


# The connectors GA accepts for an MCP tool's ``connector_id``.
MCP_CONNECTOR_IDS = frozenset(
    {
        "connector_dropbox",
        "connector_gmail",
        "connector_googlecalendar",
        "connector_googledrive",
        "connector_microsoftteams",
        "connector_outlookcalendar",
        "connector_outlookemail",
        "connector_sharepoint",
    }
)


def _fail(field: str, rule: str) -> InvalidClientEvent:
    return InvalidClientEvent(field, rule)


def _set(value: object) -> bool:
    """A field that will be sent with a real value (neither UNSET nor null)."""
    return value is not UNSET and value is not None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --------------------------------------------------------------------------------------
# Nested objects
# --------------------------------------------------------------------------------------


def _check_modalities(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if value != ["audio"] and value != ["text"]:
        raise _fail(path, 'must be exactly ["audio"] or ["text"]')


def _check_max_output_tokens(value: object, path: str) -> None:
    if value is UNSET or value is None or value == "inf" and isinstance(value, str):
        return
    if not _is_int(value) or not 1 <= value <= 4096:  # type: ignore[operator]
        raise _fail(path, 'must be an integer 1..4096 or "inf"')


def _check_format(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if isinstance(value, PCMFormat):
        if value.rate is not UNSET and (not _is_int(value.rate) or value.rate != 24000):
            raise _fail(path + ".rate", "audio/pcm supports only rate 24000")
    elif not isinstance(value, (PCMUFormat, PCMAFormat)):
        raise _fail(path, "must be PCMFormat, PCMUFormat or PCMAFormat")


def _check_nonneg_int(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if not _is_int(value) or value < 0:  # type: ignore[operator]
        raise _fail(path, "must be a non-negative integer")


def _check_range(value: object, path: str, lo: float, hi: float) -> None:
    if value is UNSET or value is None:
        return
    if not _is_number(value) or not lo <= value <= hi:  # type: ignore[operator]
        raise _fail(path, f"must be between {lo:g} and {hi:g}")


def _check_audio_input(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if not isinstance(value, AudioInputConfig):
        raise _fail(path, "must be an AudioInputConfig")
    _check_format(value.format, path + ".format")
    nr = value.noise_reduction
    if _set(nr):
        if not isinstance(nr, NoiseReduction):
            raise _fail(path + ".noise_reduction", "must be a NoiseReduction or None")
        _check_range(nr.strength, path + ".noise_reduction.strength", 0.0, 1.0)
    td = value.turn_detection
    tpath = path + ".turn_detection"
    if isinstance(td, ServerVad):
        _check_range(td.threshold, tpath + ".threshold", 0.0, 1.0)
        _check_nonneg_int(td.prefix_padding_ms, tpath + ".prefix_padding_ms")
        _check_nonneg_int(td.silence_duration_ms, tpath + ".silence_duration_ms")
        _check_nonneg_int(td.idle_timeout_ms, tpath + ".idle_timeout_ms")
    elif td is not UNSET and td is not None and not isinstance(td, SemanticVad):
        raise _fail(tpath, "must be ServerVad, SemanticVad or None")


def _check_audio_output(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if not isinstance(value, AudioOutputConfig):
        raise _fail(path, "must be an AudioOutputConfig")
    _check_format(value.format, path + ".format")
    _check_range(value.speed, path + ".speed", 0.25, 1.5)


def _check_metadata(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if not isinstance(value, dict):
        raise _fail(path, "must be a dict of strings")
    if len(value) > MAX_METADATA_PAIRS:
        raise _fail(path, f"at most {MAX_METADATA_PAIRS} key/value pairs")
    for key, val in value.items():
        if not isinstance(key, str) or not isinstance(val, str):
            raise _fail(path, "keys and values must be strings")
        if len(key) > MAX_METADATA_KEY_CHARS:
            raise _fail(f"{path}.{key[:20]}", f"key longer than {MAX_METADATA_KEY_CHARS} chars")
        if len(val) > MAX_METADATA_VALUE_CHARS:
            raise _fail(f"{path}.{key}", f"value longer than {MAX_METADATA_VALUE_CHARS} chars")


def _check_tools(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if not isinstance(value, list):
        raise _fail(path, "must be a list of FunctionTool/McpTool")
    for i, tool in enumerate(value):
        tpath = f"{path}[{i}]"
        if isinstance(tool, McpTool):
            chosen = [
                name
                for name in ("server_url", "connector_id", "tunnel_id")
                if _set(getattr(tool, name))
            ]
            if len(chosen) != 1:
                raise _fail(tpath, "exactly one of server_url, connector_id, tunnel_id is required")
            if chosen == ["connector_id"] and tool.connector_id not in MCP_CONNECTOR_IDS:
                known = ", ".join(sorted(MCP_CONNECTOR_IDS))
                raise _fail(tpath + ".connector_id", "must be one of " + known)
            if not tool.server_label:
                raise _fail(tpath + ".server_label", "must not be empty")
        elif isinstance(tool, FunctionTool):
            if _set(tool.parameters) and not isinstance(tool.parameters, dict):
                raise _fail(tpath + ".parameters", "must be a JSON Schema object (dict)")
        else:
            raise _fail(tpath, "must be a FunctionTool or McpTool")


def _check_tool_choice(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if isinstance(value, str):
        if value not in ("none", "auto", "required"):
            raise _fail(path, 'must be "none", "auto", "required" or a ToolChoice object')
    elif not isinstance(value, (ToolChoiceFunction, ToolChoiceMcp)):
        raise _fail(path, 'must be "none", "auto", "required" or a ToolChoice object')


def _check_prompt(value: object, path: str) -> None:
    if value is UNSET or value is None:
        return
    if not isinstance(value, Prompt):
        raise _fail(path, "must be a Prompt")
    if not value.id:
        raise _fail(path + ".id", "must not be empty")


def _check_content(item: MessageItem, path: str) -> None:
    if not isinstance(item.content, list):
        raise _fail(path + ".content", "must be a list of content parts")
    if item.role == "system":
        allowed: tuple[type, ...] = (InputTextContent,)
        rule = "system messages hold only input_text parts"
    elif item.role == "user":
        allowed = (InputTextContent, InputAudioContent, InputImageContent)
        rule = "user messages hold only input_text, input_audio or input_image parts"
    elif item.role == "assistant":
        allowed = (OutputTextContent,)
        rule = "assistant messages may be created with output_text parts only"
    else:
        raise _fail(path + ".role", 'must be "system", "user" or "assistant"')
    for i, part in enumerate(item.content):
        # OutputAudioContent/AudioContent are server-made.
        if not isinstance(part, allowed) or isinstance(part, (OutputAudioContent, AudioContent)):
            raise _fail(f"{path}.content[{i}]", rule)
        # TextContent decodes the server's older "text" spelling; the GA server refuses it from
        # clients, so it is never sent back as it came.
        if isinstance(part, TextContent):
            raise _fail(
                f"{path}.content[{i}]",
                'the "text" spelling is receive-only; send OutputTextContent ("output_text")',
            )


_ITEM_CLASSES = (
    MessageItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    McpCallItem,
    McpListToolsItem,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
)


def _check_item(item: object, path: str, *, allow_reference: bool = False) -> None:
    # The server accepts only this value; the models stay lenient so decoding never fails on it.
    if getattr(item, "object", None) not in (UNSET, None, "realtime.item"):
        raise _fail(path + ".object", 'must be "realtime.item" when set')
    if isinstance(item, MessageItem):
        _check_content(item, path)
    elif isinstance(item, ItemReference):
        if not allow_reference:
            raise _fail(path, "item_reference is valid only in response.input")
        if not item.id:
            raise _fail(path + ".id", "must not be empty")
    elif isinstance(item, FunctionCallOutputItem):
        if not item.call_id:
            raise _fail(path + ".call_id", "must not be empty")
    elif not isinstance(item, _ITEM_CLASSES):
        raise _fail(path, "must be a conversation item")


def _check_realtime_session(s: RealtimeSessionConfig, path: str) -> None:
    _check_modalities(s.output_modalities, path + ".output_modalities")
    _check_max_output_tokens(s.max_output_tokens, path + ".max_output_tokens")
    audio = s.audio
    if _set(audio):
        if not isinstance(audio, AudioConfig):
            raise _fail(path + ".audio", "must be an AudioConfig")
        _check_audio_input(audio.input, path + ".audio.input")
        _check_audio_output(audio.output, path + ".audio.output")
    _check_tools(s.tools, path + ".tools")
    _check_tool_choice(s.tool_choice, path + ".tool_choice")
    _check_prompt(s.prompt, path + ".prompt")
    tracing = s.tracing
    if _set(tracing) and tracing != "auto" and not isinstance(tracing, TracingConfig):
        raise _fail(path + ".tracing", 'must be "auto", a TracingConfig or None')
    trunc = s.truncation
    if isinstance(trunc, TruncationRetentionRatio):
        _check_range(trunc.retention_ratio, path + ".truncation.retention_ratio", 0.0, 1.0)
        if _set(trunc.token_limits):
            _check_nonneg_int(
                trunc.token_limits.post_instructions,  # type: ignore[union-attr]
                path + ".truncation.token_limits.post_instructions",
            )
    elif _set(trunc) and trunc not in ("auto", "disabled"):
        raise _fail(path + ".truncation", 'must be "auto", "disabled" or a retention ratio')


def _check_transcription_session(s: TranscriptionSessionConfig, path: str) -> None:
    audio = s.audio
    if _set(audio):
        if not isinstance(audio, TranscriptionAudioConfig):
            raise _fail(path + ".audio", "must be a TranscriptionAudioConfig")
        _check_audio_input(audio.input, path + ".audio.input")
        inp = audio.input
        if (
            isinstance(inp, AudioInputConfig)
            and isinstance(inp.transcription, InputTranscription)
            and inp.transcription.model == "gpt-realtime-whisper"
            and _set(inp.turn_detection)
        ):
            raise _fail(
                path + ".audio.input.turn_detection",
                "must be None (manual turns) with gpt-realtime-whisper transcription",
            )


def _check_response_params(r: object, path: str) -> None:
    if r is UNSET or r is None:
        return
    if not isinstance(r, ResponseCreateParams):
        raise _fail(path, "must be a ResponseCreateParams")
    _check_modalities(r.output_modalities, path + ".output_modalities")
    _check_max_output_tokens(r.max_output_tokens, path + ".max_output_tokens")
    _check_metadata(r.metadata, path + ".metadata")
    _check_tools(r.tools, path + ".tools")
    _check_tool_choice(r.tool_choice, path + ".tool_choice")
    _check_prompt(r.prompt, path + ".prompt")
    audio = r.audio
    if _set(audio):
        if not isinstance(audio, ResponseAudioConfig):
            raise _fail(path + ".audio", "must be a ResponseAudioConfig")
        out = audio.output
        if _set(out):
            _check_format(out.format, path + ".audio.output.format")  # type: ignore[union-attr]
    if _set(r.input):
        if not isinstance(r.input, list):
            raise _fail(path + ".input", "must be a list of items")
        for i, item in enumerate(r.input):
            _check_item(item, f"{path}.input[{i}]", allow_reference=True)


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


def _v_append(ev: Any) -> None:
    audio = ev.audio
    if not isinstance(audio, (bytes, bytearray, memoryview)):
        raise _fail("audio", "must be bytes (raw audio; the codec does the base64)")
    if len(audio) > MAX_APPEND_AUDIO_BYTES:
        raise _fail("audio", _append_too_big(len(audio)))


def _append_too_big(size: int) -> str:
    return f"at most 15 MiB ({MAX_APPEND_AUDIO_BYTES} bytes) of audio per append, got {size}"


def _v_session_update(ev: Any) -> None:
    s = ev.session
    if isinstance(s, RealtimeSessionConfig):
        _check_realtime_session(s, "session")
    elif isinstance(s, TranscriptionSessionConfig):
        _check_transcription_session(s, "session")
    else:
        raise _fail("session.type", 'must be "realtime" or "transcription"')


def _v_response_create(ev: Any) -> None:
    _check_response_params(ev.response, "response")


def _v_item_create(ev: Any) -> None:
    _check_item(ev.item, "item")


def _v_truncate(ev: Any) -> None:
    if not ev.item_id:
        raise _fail("item_id", "must not be empty")
    _check_nonneg_int(ev.content_index, "content_index")
    _check_nonneg_int(ev.audio_end_ms, "audio_end_ms")


def _v_item_id(ev: Any) -> None:
    if not ev.item_id:
        raise _fail("item_id", "must not be empty")


def _v_nothing(ev: Any) -> None:
    return None


_VALIDATORS: dict[type, Callable[[Any], None]] = {
    InputAudioBufferAppendEvent: _v_append,
    SessionUpdateEvent: _v_session_update,
    ResponseCreateEvent: _v_response_create,
    ConversationItemCreateEvent: _v_item_create,
    ConversationItemTruncateEvent: _v_truncate,
    ConversationItemDeleteEvent: _v_item_id,
    ConversationItemRetrieveEvent: _v_item_id,
    InputAudioBufferClearEvent: _v_nothing,
    InputAudioBufferCommitEvent: _v_nothing,
    OutputAudioBufferClearEvent: _v_nothing,
    ResponseCancelEvent: _v_nothing,
}


def validate_client_event(event: ClientEvent) -> None:
    """Raise :class:`InvalidClientEvent` if ``event`` breaks a GA rule; else return None."""
    check = _VALIDATORS.get(type(event))
    if check is None:
        for cls, fn in _VALIDATORS.items():
            if isinstance(event, cls):
                check = fn
                break
        else:
            raise _fail("type", f"{type(event).__name__} is not a client event")
    check(event)
