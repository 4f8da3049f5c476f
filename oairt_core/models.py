"""The nested objects of the GA Realtime protocol, as msgspec Structs.

Two families of models live here:

* **Shared models**: sent by the client *and* echoed by the server (session config,
  audio config, tools, conversation items, content parts, ``response.create``
  parameters). Every optional field defaults to ``msgspec.UNSET``, which means "not
  sent": the encoder omits it. ``None`` means "sent as JSON null", which the protocol
  uses to clear things (``turn_detection=None`` switches VAD off, ``tracing=None``
  disables tracing). Explicit nulls from the server decode to ``None``.
* **Received models**: only ever sent by the server (the response object, usage,
  errors, rate limits). Optional fields default to ``None``; fields the server always
  sends are required.

Unknown keys are ignored everywhere (the server adds ``object``, ``id``,
``expires_at``, ``obfuscation``...). Audio payloads are ``bytes``: msgspec does the
base64 in C.

>>> import msgspec
>>> cfg = RealtimeSessionConfig(
...     instructions="Be brief.",
...     audio=AudioConfig(input=AudioInputConfig(turn_detection=None)),
... )
>>> msgspec.json.encode(cfg)
b'{"type":"realtime","instructions":"Be brief.","audio":{"input":{"turn_detection":null}}}'
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from msgspec import UNSET, Meta, Struct, UnsetType

from ._redact import REDACTED, redact_text

__all__ = [
    "Int64",
    "AudioConfig",
    "AudioContent",
    "AudioFormat",
    "AudioInputConfig",
    "AudioOutputConfig",
    "CachedTokensDetails",
    "ContentPart",
    "Conversation",
    "ConversationItem",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "FunctionTool",
    "InputAudioContent",
    "InputImageContent",
    "InputTextContent",
    "InputTokenDetails",
    "InputTranscription",
    "ItemStatus",
    "ItemReference",
    "LogProb",
    "McpApprovalRequestItem",
    "McpApprovalResponseItem",
    "McpCallError",
    "McpCallItem",
    "McpHttpError",
    "McpListToolsItem",
    "McpListedTool",
    "McpProtocolError",
    "McpRequireApproval",
    "McpTool",
    "McpToolExecutionError",
    "McpToolFilter",
    "MessageItem",
    "NoiseReduction",
    "OutputAudioContent",
    "OutputTextContent",
    "OutputTokenDetails",
    "PCMAFormat",
    "PCMFormat",
    "PCMUFormat",
    "Prompt",
    "PromptCacheBreakpoint",
    "PromptInputFile",
    "PromptInputImage",
    "PromptInputText",
    "PromptVariable",
    "RateLimit",
    "RealtimeError",
    "RealtimeResponse",
    "RealtimeSessionConfig",
    "RealtimeSessionCreateRequest",
    "RealtimeTranscriptionSessionCreateRequest",
    "Reasoning",
    "ResponseAudioConfig",
    "ResponseAudioOutput",
    "ResponseContentPart",
    "ResponseCreateParams",
    "ResponseError",
    "ResponseInputItem",
    "ResponseStatusDetails",
    "SemanticVad",
    "ServerVad",
    "SessionConfig",
    "TextContent",
    "TokenLimits",
    "Tool",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceMcp",
    "TracingConfig",
    "TranscriptionAudioConfig",
    "TranscriptionError",
    "TranscriptionLanguage",
    "TranscriptionSessionConfig",
    "TranscriptionTokenDetails",
    "TranscriptionUsage",
    "TranscriptionUsageDuration",
    "TranscriptionUsageTokens",
    "Truncation",
    "TruncationRetentionRatio",
    "TurnDetection",
    "UNSET",
    "UnsetType",
    "Usage",
    "VoiceId",
]


# Integers on the wire are bounded to int64: a 400-digit "audio_end_ms" is a protocol
# error, not a number to carry around.
Int64: TypeAlias = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]


_NO_DEFAULT = object()
_REPR_BYTES_MAX = 32
# Per-field caps: a repr is for logs and tracebacks, and a server decides how long its
# strings are (a 50 MB transcript delta once made a 52-million-character repr).
_REPR_STR_MAX = 200
_REPR_ITEMS_MAX = 20
_REPR_DEPTH_MAX = 6


def _short(value: object, depth: int = 0) -> str:
    """``repr(value)``, with long strings, bytes, containers and huge ints cut short."""
    if isinstance(value, str):
        if len(value) > _REPR_STR_MAX:
            return f"{value[:_REPR_STR_MAX]!r}...({len(value)} chars)"
        return repr(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        size = value.nbytes if isinstance(value, memoryview) else len(value)
        return f"<{size} bytes>" if size > _REPR_BYTES_MAX else repr(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        # repr() of an int over 4300 digits raises ValueError.
        return repr(value) if value.bit_length() <= 256 else f"<int of {value.bit_length()} bits>"
    if isinstance(value, (list, tuple, dict, Struct)) and depth >= _REPR_DEPTH_MAX:
        return f"<{type(value).__name__}...>"
    if isinstance(value, (list, tuple)):
        shown = [_short(v, depth + 1) for v in value[:_REPR_ITEMS_MAX]]
        if len(value) > _REPR_ITEMS_MAX:
            shown.append(f"...({len(value)} items)")
        inner = ", ".join(shown)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    if isinstance(value, dict):
        items = []
        for i, (k, v) in enumerate(value.items()):
            if i == _REPR_ITEMS_MAX:
                items.append(f"...({len(value)} items)")
                break
            items.append(f"{_short(k, depth + 1)}: {_short(v, depth + 1)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, Struct) and type(value).__repr__ is _bounded_repr:
        return _struct_repr(value, depth)
    return repr(value)


def _bounded_repr(obj: Struct) -> str:
    """The repr of every event and model: unsent fields left out, each field bounded.

    Long audio shows as ``<N bytes>`` (audio-bearing events are logged a lot), strings
    over 200 characters end in ``...(N chars)``, containers show their first 20 items.

    >>> r = repr(OutputAudioContent(audio=b"\\0" * 4800, transcript="la" * 5_000_000))
    >>> len(r), r[:50], r[-20:]
    (272, 'OutputAudioContent(audio=<4800 bytes>, transcript=', '...(10000000 chars))')
    """
    return _struct_repr(obj, 0)


def _struct_repr(obj: Struct, depth: int) -> str:
    fields = obj.__struct_fields__
    defaults = obj.__struct_defaults__
    first_default = len(fields) - len(defaults)
    parts = []
    for i, name in enumerate(fields):
        value = getattr(obj, name)
        default = defaults[i - first_default] if i >= first_default else _NO_DEFAULT
        if value is UNSET or (default is not _NO_DEFAULT and _same(value, default)):
            continue
        parts.append(f"{name}={_short(value, depth + 1)}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _same(value: object, default: object) -> bool:
    try:
        return bool(value == default)
    except Exception:  # a Factory default, or a value without a plain __eq__
        return False


# Kept for the classes that named it before every Struct shared the bounded repr.
_compact_repr = _bounded_repr


class _Shared(Struct, frozen=True, kw_only=True, repr_omit_defaults=True):
    """Base of models the client sends: UNSET fields are omitted on encode."""

    __repr__ = _bounded_repr


class _Received(Struct, frozen=True, kw_only=True, omit_defaults=True, repr_omit_defaults=True):
    """Base of server-only models: optional fields default to None, omitted on encode."""

    __repr__ = _bounded_repr


# --------------------------------------------------------------------------------------
# Audio formats, turn detection, transcription, noise reduction
# --------------------------------------------------------------------------------------


class PCMFormat(_Shared, frozen=True, kw_only=True, tag_field="type", tag="audio/pcm"):
    """16-bit little-endian mono PCM. Only ``rate=24000`` is supported (the default)."""

    rate: Int64 | None | UnsetType = 24000


class PCMUFormat(_Shared, frozen=True, kw_only=True, tag_field="type", tag="audio/pcmu"):
    """G.711 µ-law, 8 kHz telephony audio."""


class PCMAFormat(_Shared, frozen=True, kw_only=True, tag_field="type", tag="audio/pcma"):
    """G.711 A-law, 8 kHz telephony audio."""


AudioFormat: TypeAlias = PCMFormat | PCMUFormat | PCMAFormat


class NoiseReduction(_Shared, frozen=True, kw_only=True):
    """Input noise reduction; send ``noise_reduction=None`` to turn it off."""

    type: Literal["near_field", "far_field"] | None | UnsetType = UNSET
    strength: float | None | UnsetType = UNSET


class InputTranscription(_Shared, frozen=True, kw_only=True):
    """``audio.input.transcription``: asynchronous transcription of user audio."""

    model: str | None | UnsetType = UNSET
    language: str | None | UnsetType = UNSET
    languages: list[str] | None | UnsetType = UNSET
    keywords: list[str] | None | UnsetType = UNSET
    prompt: str | None | UnsetType = UNSET
    delay: Literal["minimal", "low", "medium", "high", "xhigh"] | None | UnsetType = UNSET


class ServerVad(_Shared, frozen=True, kw_only=True, tag_field="type", tag="server_vad"):
    """Silence-based turn detection."""

    threshold: float | None | UnsetType = UNSET
    prefix_padding_ms: Int64 | None | UnsetType = UNSET
    silence_duration_ms: Int64 | None | UnsetType = UNSET
    idle_timeout_ms: Int64 | None | UnsetType = UNSET
    create_response: bool | None | UnsetType = UNSET
    interrupt_response: bool | None | UnsetType = UNSET


class SemanticVad(_Shared, frozen=True, kw_only=True, tag_field="type", tag="semantic_vad"):
    """Model-based turn detection."""

    eagerness: Literal["low", "medium", "high", "auto"] | None | UnsetType = UNSET
    create_response: bool | None | UnsetType = UNSET
    interrupt_response: bool | None | UnsetType = UNSET


TurnDetection: TypeAlias = ServerVad | SemanticVad


class AudioInputConfig(_Shared, frozen=True, kw_only=True):
    """``audio.input``. ``turn_detection=None`` means manual turns (the client commits)."""

    format: AudioFormat | None | UnsetType = UNSET
    noise_reduction: NoiseReduction | None | UnsetType = UNSET
    transcription: InputTranscription | None | UnsetType = UNSET
    turn_detection: TurnDetection | None | UnsetType = UNSET


class VoiceId(_Shared, frozen=True, kw_only=True):
    """A custom voice reference (``voice_...``)."""

    id: str


class AudioOutputConfig(_Shared, frozen=True, kw_only=True):
    """``audio.output``: format, voice (a builtin name or a :class:`VoiceId`), speed."""

    format: AudioFormat | None | UnsetType = UNSET
    voice: str | VoiceId | None | UnsetType = UNSET
    speed: float | None | UnsetType = UNSET


class AudioConfig(_Shared, frozen=True, kw_only=True):
    """``audio`` of a realtime session."""

    input: AudioInputConfig | None | UnsetType = UNSET
    output: AudioOutputConfig | None | UnsetType = UNSET


class TranscriptionAudioConfig(_Shared, frozen=True, kw_only=True):
    """``audio`` of a transcription session (input only)."""

    input: AudioInputConfig | None | UnsetType = UNSET


# --------------------------------------------------------------------------------------
# Tools, tool choice, tracing, truncation, prompt, reasoning
# --------------------------------------------------------------------------------------


class FunctionTool(_Shared, frozen=True, kw_only=True, tag_field="type", tag="function"):
    """A function the model may call; ``parameters`` is a JSON Schema object."""

    name: str | None | UnsetType = UNSET
    description: str | None | UnsetType = UNSET
    parameters: dict[str, Any] | None | UnsetType = UNSET


class McpToolFilter(_Shared, frozen=True, kw_only=True):
    """Selects MCP tools by name and/or read-only annotation."""

    tool_names: list[str] | None | UnsetType = UNSET
    read_only: bool | None | UnsetType = UNSET


class McpRequireApproval(_Shared, frozen=True, kw_only=True):
    """Which MCP tools always/never need approval."""

    always: McpToolFilter | None | UnsetType = UNSET
    never: McpToolFilter | None | UnsetType = UNSET


class McpTool(_Shared, frozen=True, kw_only=True, tag_field="type", tag="mcp"):
    """A remote MCP server. Exactly one of ``server_url``/``connector_id``/``tunnel_id``.

    ``authorization`` and ``headers`` may hold credentials, so the repr hides them.
    """

    server_label: str
    server_url: str | None | UnsetType = UNSET
    connector_id: str | None | UnsetType = UNSET
    tunnel_id: str | None | UnsetType = UNSET
    server_description: str | None | UnsetType = UNSET
    authorization: str | None | UnsetType = UNSET
    headers: dict[str, str] | None | UnsetType = UNSET
    allowed_tools: list[str] | McpToolFilter | None | UnsetType = UNSET
    require_approval: Literal["always", "never"] | McpRequireApproval | None | UnsetType = UNSET
    allowed_callers: list[Literal["direct", "programmatic"]] | None | UnsetType = UNSET
    defer_loading: bool | None | UnsetType = UNSET

    def __repr__(self) -> str:
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value is UNSET:
                continue
            if name == "authorization" and value is not None:
                shown = REDACTED
            elif name == "headers" and isinstance(value, dict):
                shown = repr({k: REDACTED for k in value})
            else:
                shown = redact_text(_short(value))
            parts.append(f"{name}={shown}")
        return f"McpTool({', '.join(parts)})"


Tool: TypeAlias = FunctionTool | McpTool


class ToolChoiceFunction(_Shared, frozen=True, kw_only=True, tag_field="type", tag="function"):
    """Force a call of the named function."""

    name: str


class ToolChoiceMcp(_Shared, frozen=True, kw_only=True, tag_field="type", tag="mcp"):
    """Force a call of a tool on the MCP server ``server_label``."""

    server_label: str
    name: str | None | UnsetType = UNSET


ToolChoice: TypeAlias = Literal["none", "auto", "required"] | ToolChoiceFunction | ToolChoiceMcp


class TracingConfig(_Shared, frozen=True, kw_only=True):
    """Granular tracing configuration (or use the string ``"auto"``)."""

    workflow_name: str | None | UnsetType = UNSET
    group_id: str | None | UnsetType = UNSET
    metadata: dict[str, Any] | None | UnsetType = UNSET


class TokenLimits(_Shared, frozen=True, kw_only=True):
    """Custom token limits of the retention-ratio truncation."""

    post_instructions: Int64 | None | UnsetType = UNSET


class TruncationRetentionRatio(
    _Shared, frozen=True, kw_only=True, tag_field="type", tag="retention_ratio"
):
    """Keep ``retention_ratio`` of the conversation when it overflows."""

    retention_ratio: float
    token_limits: TokenLimits | None | UnsetType = UNSET


Truncation: TypeAlias = Literal["auto", "disabled"] | TruncationRetentionRatio


class PromptCacheBreakpoint(_Shared, frozen=True, kw_only=True):
    """Marks the end of a reusable prompt prefix."""

    mode: Literal["explicit"]
    ttl: Literal["30m", "12h"] | None | UnsetType = UNSET


class PromptInputText(_Shared, frozen=True, kw_only=True, tag_field="type", tag="input_text"):
    """A text prompt variable."""

    text: str
    prompt_cache_breakpoint: PromptCacheBreakpoint | None | UnsetType = UNSET


class PromptInputImage(_Shared, frozen=True, kw_only=True, tag_field="type", tag="input_image"):
    """An image prompt variable."""

    detail: Literal["low", "high", "auto", "original"]
    file_id: str | None | UnsetType = UNSET
    image_url: str | None | UnsetType = UNSET
    prompt_cache_breakpoint: PromptCacheBreakpoint | None | UnsetType = UNSET


class PromptInputFile(_Shared, frozen=True, kw_only=True, tag_field="type", tag="input_file"):
    """A file prompt variable."""

    detail: Literal["auto", "low", "high"] | None | UnsetType = UNSET
    file_data: str | None | UnsetType = UNSET
    file_id: str | None | UnsetType = UNSET
    file_url: str | None | UnsetType = UNSET
    filename: str | None | UnsetType = UNSET
    prompt_cache_breakpoint: PromptCacheBreakpoint | None | UnsetType = UNSET


PromptVariable: TypeAlias = str | PromptInputText | PromptInputImage | PromptInputFile


class Prompt(_Shared, frozen=True, kw_only=True):
    """A stored prompt template and its variables."""

    id: str
    version: str | None | UnsetType = UNSET
    variables: dict[str, PromptVariable] | None | UnsetType = UNSET


class Reasoning(_Shared, frozen=True, kw_only=True):
    """Reasoning effort for reasoning models (e.g. ``gpt-realtime-2``)."""

    effort: Literal["minimal", "low", "medium", "high", "xhigh"] | None | UnsetType = UNSET


# --------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------


class RealtimeSessionConfig(_Shared, frozen=True, kw_only=True, tag_field="type", tag="realtime"):
    """A speech/text session (``session.type == "realtime"``); every field is optional.

    >>> RealtimeSessionConfig(output_modalities=["text"]).output_modalities
    ['text']
    """

    model: str | None | UnsetType = UNSET
    instructions: str | None | UnsetType = UNSET
    output_modalities: list[Literal["text", "audio"]] | None | UnsetType = UNSET
    max_output_tokens: Int64 | Literal["inf"] | None | UnsetType = UNSET
    audio: AudioConfig | None | UnsetType = UNSET
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None | UnsetType = UNSET
    tools: list[Tool] | None | UnsetType = UNSET
    tool_choice: ToolChoice | None | UnsetType = UNSET
    parallel_tool_calls: bool | None | UnsetType = UNSET
    reasoning: Reasoning | None | UnsetType = UNSET
    prompt: Prompt | None | UnsetType = UNSET
    tracing: Literal["auto"] | TracingConfig | None | UnsetType = UNSET
    truncation: Truncation | None | UnsetType = UNSET


class TranscriptionSessionConfig(
    _Shared, frozen=True, kw_only=True, tag_field="type", tag="transcription"
):
    """A transcription-only session (``session.type == "transcription"``)."""

    audio: TranscriptionAudioConfig | None | UnsetType = UNSET
    include: list[Literal["item.input_audio_transcription.logprobs"]] | None | UnsetType = UNSET


SessionConfig: TypeAlias = RealtimeSessionConfig | TranscriptionSessionConfig

# The SDK's names, for readers coming from `openai.types.realtime`.
RealtimeSessionCreateRequest = RealtimeSessionConfig
RealtimeTranscriptionSessionCreateRequest = TranscriptionSessionConfig


# --------------------------------------------------------------------------------------
# Content parts and conversation items
# --------------------------------------------------------------------------------------


class InputTextContent(_Shared, frozen=True, kw_only=True, tag_field="type", tag="input_text"):
    """Text from the user or system."""

    text: str | None | UnsetType = UNSET


class InputAudioContent(_Shared, frozen=True, kw_only=True, tag_field="type", tag="input_audio"):
    """User audio in the session input format (``bytes``; base64 on the wire)."""

    audio: bytes | None | UnsetType = UNSET
    transcript: str | None | UnsetType = UNSET

    __repr__ = _compact_repr


class InputImageContent(_Shared, frozen=True, kw_only=True, tag_field="type", tag="input_image"):
    """An image as a data URL."""

    image_url: str | None | UnsetType = UNSET
    detail: Literal["auto", "low", "high"] | None | UnsetType = UNSET


class OutputTextContent(_Shared, frozen=True, kw_only=True, tag_field="type", tag="output_text"):
    """Assistant text."""

    text: str | None | UnsetType = UNSET


class OutputAudioContent(_Shared, frozen=True, kw_only=True, tag_field="type", tag="output_audio"):
    """Assistant audio (``bytes``) and its transcript."""

    audio: bytes | None | UnsetType = UNSET
    transcript: str | None | UnsetType = UNSET

    __repr__ = _compact_repr


class TextContent(OutputTextContent, frozen=True, kw_only=True, tag="text"):
    """The older ``"text"`` spelling of :class:`OutputTextContent` (isinstance works)."""


class AudioContent(OutputAudioContent, frozen=True, kw_only=True, tag="audio"):
    """The older ``"audio"`` spelling of :class:`OutputAudioContent` (isinstance works)."""


ContentPart: TypeAlias = (
    InputTextContent
    | InputAudioContent
    | InputImageContent
    | OutputTextContent
    | OutputAudioContent
    | TextContent
    | AudioContent
)

ItemStatus = Literal["completed", "incomplete", "in_progress"]


class MessageItem(_Shared, frozen=True, kw_only=True, tag_field="type", tag="message"):
    """A system, user or assistant message.

    >>> MessageItem.user_text("hi").content
    [InputTextContent(text='hi')]
    """

    role: Literal["system", "user", "assistant"]
    content: list[ContentPart]
    id: str | None | UnsetType = UNSET
    object: str | None | UnsetType = UNSET
    status: ItemStatus | None | UnsetType = UNSET

    @classmethod
    def user_text(cls, text: str, *, id: str | UnsetType = UNSET) -> MessageItem:
        """A user message holding one text part."""
        return cls(role="user", content=[InputTextContent(text=text)], id=id)

    @classmethod
    def user_audio(cls, audio: bytes, *, id: str | UnsetType = UNSET) -> MessageItem:
        """A user message holding one audio part (session input format)."""
        return cls(role="user", content=[InputAudioContent(audio=audio)], id=id)

    @classmethod
    def system_text(cls, text: str, *, id: str | UnsetType = UNSET) -> MessageItem:
        """A system message (system messages hold ``input_text`` only)."""
        return cls(role="system", content=[InputTextContent(text=text)], id=id)

    @classmethod
    def assistant_text(cls, text: str, *, id: str | UnsetType = UNSET) -> MessageItem:
        """An assistant text message (assistant *audio* cannot be created)."""
        return cls(role="assistant", content=[OutputTextContent(text=text)], id=id)


class FunctionCallItem(_Shared, frozen=True, kw_only=True, tag_field="type", tag="function_call"):
    """The model calling a function; ``arguments`` is a JSON string."""

    name: str
    arguments: str
    call_id: str | None | UnsetType = UNSET
    id: str | None | UnsetType = UNSET
    object: str | None | UnsetType = UNSET
    status: ItemStatus | None | UnsetType = UNSET


class FunctionCallOutputItem(
    _Shared, frozen=True, kw_only=True, tag_field="type", tag="function_call_output"
):
    """The result of a function call, sent back by the client."""

    call_id: str
    output: str
    id: str | None | UnsetType = UNSET
    object: str | None | UnsetType = UNSET
    status: ItemStatus | None | UnsetType = UNSET


class McpProtocolError(_Shared, frozen=True, kw_only=True, tag_field="type", tag="protocol_error"):
    """An MCP protocol error."""

    code: Int64
    message: str


class McpToolExecutionError(
    _Shared, frozen=True, kw_only=True, tag_field="type", tag="tool_execution_error"
):
    """An MCP tool failed while running."""

    message: str


class McpHttpError(_Shared, frozen=True, kw_only=True, tag_field="type", tag="http_error"):
    """The MCP server answered with an HTTP error."""

    code: Int64
    message: str


McpCallError: TypeAlias = McpProtocolError | McpToolExecutionError | McpHttpError


class McpCallItem(_Shared, frozen=True, kw_only=True, tag_field="type", tag="mcp_call"):
    """An invocation of a tool on an MCP server."""

    id: str
    server_label: str
    name: str
    arguments: str
    approval_request_id: str | None | UnsetType = UNSET
    output: str | None | UnsetType = UNSET
    error: McpCallError | None | UnsetType = UNSET


class McpListedTool(_Shared, frozen=True, kw_only=True):
    """One tool offered by an MCP server."""

    name: str
    input_schema: dict[str, Any]
    description: str | None | UnsetType = UNSET
    annotations: dict[str, Any] | None | UnsetType = UNSET


class McpListToolsItem(_Shared, frozen=True, kw_only=True, tag_field="type", tag="mcp_list_tools"):
    """The tools an MCP server offers."""

    server_label: str
    tools: list[McpListedTool]
    id: str | None | UnsetType = UNSET


class McpApprovalRequestItem(
    _Shared, frozen=True, kw_only=True, tag_field="type", tag="mcp_approval_request"
):
    """The server asking for approval of an MCP tool call."""

    id: str
    server_label: str
    name: str
    arguments: str


class McpApprovalResponseItem(
    _Shared, frozen=True, kw_only=True, tag_field="type", tag="mcp_approval_response"
):
    """The client approving or denying an MCP tool call."""

    id: str
    approval_request_id: str
    approve: bool
    reason: str | None | UnsetType = UNSET


ConversationItem: TypeAlias = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpCallItem
    | McpListToolsItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem
)


class ItemReference(_Shared, frozen=True, kw_only=True, tag_field="type", tag="item_reference"):
    """A reference to an existing item; valid only in ``ResponseCreateParams.input``."""

    id: str


ResponseInputItem: TypeAlias = (
    MessageItem
    | FunctionCallItem
    | FunctionCallOutputItem
    | McpCallItem
    | McpListToolsItem
    | McpApprovalRequestItem
    | McpApprovalResponseItem
    | ItemReference
)


# --------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------


class ResponseAudioOutput(_Shared, frozen=True, kw_only=True):
    """``response.audio.output``: format and voice for one response."""

    format: AudioFormat | None | UnsetType = UNSET
    voice: str | VoiceId | None | UnsetType = UNSET


class ResponseAudioConfig(_Shared, frozen=True, kw_only=True):
    """``response.audio``."""

    output: ResponseAudioOutput | None | UnsetType = UNSET


class ResponseCreateParams(_Shared, frozen=True, kw_only=True):
    """Per-response overrides in ``response.create`` (all optional).

    ``conversation="none"`` makes an out-of-band response; ``input`` (items or
    :class:`ItemReference`) gives it a fresh context.
    """

    conversation: str | None | UnsetType = UNSET
    input: list[ResponseInputItem] | None | UnsetType = UNSET
    instructions: str | None | UnsetType = UNSET
    output_modalities: list[Literal["text", "audio"]] | None | UnsetType = UNSET
    max_output_tokens: Int64 | Literal["inf"] | None | UnsetType = UNSET
    audio: ResponseAudioConfig | None | UnsetType = UNSET
    tools: list[Tool] | None | UnsetType = UNSET
    tool_choice: ToolChoice | None | UnsetType = UNSET
    parallel_tool_calls: bool | None | UnsetType = UNSET
    reasoning: Reasoning | None | UnsetType = UNSET
    prompt: Prompt | None | UnsetType = UNSET
    metadata: dict[str, str] | None | UnsetType = UNSET


class ResponseError(_Received, frozen=True, kw_only=True):
    """Why a response failed (``status_details.error``)."""

    type: str | None = None
    code: str | None = None
    message: str | None = None


class ResponseStatusDetails(_Received, frozen=True, kw_only=True):
    """``status_details`` of a response."""

    type: str | None = None
    reason: str | None = None
    error: ResponseError | None = None


class CachedTokensDetails(_Received, frozen=True, kw_only=True):
    """Cached input tokens by modality."""

    text_tokens: Int64 | None = None
    audio_tokens: Int64 | None = None
    image_tokens: Int64 | None = None


class InputTokenDetails(_Received, frozen=True, kw_only=True):
    """Input tokens by modality."""

    text_tokens: Int64 | None = None
    audio_tokens: Int64 | None = None
    image_tokens: Int64 | None = None
    cached_tokens: Int64 | None = None
    cached_tokens_details: CachedTokensDetails | None = None


class OutputTokenDetails(_Received, frozen=True, kw_only=True):
    """Output tokens by modality."""

    text_tokens: Int64 | None = None
    audio_tokens: Int64 | None = None


class Usage(_Received, frozen=True, kw_only=True):
    """Token usage of a response (billing)."""

    total_tokens: Int64 | None = None
    input_tokens: Int64 | None = None
    output_tokens: Int64 | None = None
    input_token_details: InputTokenDetails | None = None
    output_token_details: OutputTokenDetails | None = None


class RealtimeResponse(_Received, frozen=True, kw_only=True):
    """The response object of ``response.created`` / ``response.done``."""

    id: str | None = None
    object: str | None = None
    status: Literal["completed", "cancelled", "failed", "incomplete", "in_progress"] | None = None
    status_details: ResponseStatusDetails | None = None
    output: list[ConversationItem] | None = None
    conversation_id: str | None = None
    output_modalities: list[Literal["text", "audio"]] | None = None
    max_output_tokens: Int64 | Literal["inf"] | None = None
    audio: ResponseAudioConfig | None = None
    metadata: dict[str, str] | None = None
    usage: Usage | None = None


# --------------------------------------------------------------------------------------
# Other server-only objects
# --------------------------------------------------------------------------------------


class RealtimeError(_Received, frozen=True, kw_only=True):
    """The ``error`` object of an ``error`` event; ``event_id`` names the client event."""

    type: str
    message: str
    code: str | None = None
    param: str | None = None
    event_id: str | None = None


class RateLimit(_Received, frozen=True, kw_only=True):
    """One entry of ``rate_limits.updated``."""

    name: str | None = None
    limit: Int64 | None = None
    remaining: Int64 | None = None
    reset_seconds: float | None = None


class Conversation(_Received, frozen=True, kw_only=True):
    """The conversation of ``conversation.created``."""

    id: str | None = None
    object: str | None = None


class TranscriptionError(_Received, frozen=True, kw_only=True):
    """Why an input transcription failed."""

    type: str | None = None
    code: str | None = None
    message: str | None = None
    param: str | None = None


class TranscriptionTokenDetails(_Received, frozen=True, kw_only=True):
    """Input tokens of a transcription by modality."""

    text_tokens: Int64 | None = None
    audio_tokens: Int64 | None = None


class TranscriptionUsageTokens(
    _Received, frozen=True, kw_only=True, tag_field="type", tag="tokens"
):
    """Transcription usage billed by tokens."""

    input_tokens: Int64
    output_tokens: Int64
    total_tokens: Int64
    input_token_details: TranscriptionTokenDetails | None = None


class TranscriptionUsageDuration(
    _Received, frozen=True, kw_only=True, tag_field="type", tag="duration"
):
    """Transcription usage billed by audio duration (seconds)."""

    seconds: float


TranscriptionUsage: TypeAlias = TranscriptionUsageTokens | TranscriptionUsageDuration


class TranscriptionLanguage(_Received, frozen=True, kw_only=True):
    """A language detected in transcribed audio."""

    code: str


class LogProb(_Received, frozen=True, kw_only=True):
    """A token log probability of a transcription."""

    token: str
    bytes: list[Int64]
    logprob: float


class ResponseContentPart(_Received, frozen=True, kw_only=True):
    """The ``part`` of ``response.content_part.added/done``.

    ``type`` is ``"text"``/``"audio"`` on the wire (sometimes ``output_*``); it is kept
    as a plain string, so every spelling decodes.
    """

    type: str | None = None
    text: str | None = None
    audio: bytes | None = None
    transcript: str | None = None

    __repr__ = _compact_repr
