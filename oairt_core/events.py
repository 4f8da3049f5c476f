"""Every GA Realtime event as a frozen msgspec Struct, tagged by its wire ``type``.

Class names are the wire ``type`` in CamelCase plus ``Event``:
``response.output_audio.delta`` -> :class:`ResponseOutputAudioDeltaEvent`. Client events
(11) form :data:`ClientEvent`; server events (46) plus :class:`UnknownServerEvent`
form :data:`ServerEvent`. Audio payloads are ``bytes``. A client ``event_id`` is
optional (``UNSET`` = not sent).

>>> from oairt_core.codec import encode_client_event
>>> encode_client_event(InputAudioBufferAppendEvent(audio=b"\\x00\\x00"))
b'{"type":"input_audio_buffer.append","audio":"AAA="}'
"""

from __future__ import annotations

from typing import TypeAlias, get_args

from msgspec import UNSET, Struct, UnsetType

from ._redact import redact_text
from .models import (
    Conversation,
    ConversationItem,
    Int64,
    LogProb,
    RateLimit,
    RealtimeError,
    RealtimeResponse,
    ResponseContentPart,
    ResponseCreateParams,
    SessionConfig,
    TranscriptionError,
    TranscriptionLanguage,
    TranscriptionUsage,
    _compact_repr,
    _short,
)

__all__ = [
    "CLIENT_EVENT_TYPES",
    "ClientEvent",
    "ConversationCreatedEvent",
    "ConversationItemAddedEvent",
    "ConversationItemCreateEvent",
    "ConversationItemCreatedEvent",
    "ConversationItemDeleteEvent",
    "ConversationItemDeletedEvent",
    "ConversationItemDoneEvent",
    "ConversationItemInputAudioTranscriptionCompletedEvent",
    "ConversationItemInputAudioTranscriptionDeltaEvent",
    "ConversationItemInputAudioTranscriptionFailedEvent",
    "ConversationItemInputAudioTranscriptionSegmentEvent",
    "ConversationItemRetrieveEvent",
    "ConversationItemRetrievedEvent",
    "ConversationItemTruncateEvent",
    "ConversationItemTruncatedEvent",
    "ErrorEvent",
    "InputAudioBufferAppendEvent",
    "InputAudioBufferClearEvent",
    "InputAudioBufferClearedEvent",
    "InputAudioBufferCommitEvent",
    "InputAudioBufferCommittedEvent",
    "InputAudioBufferDtmfEventReceivedEvent",
    "InputAudioBufferSpeechStartedEvent",
    "InputAudioBufferSpeechStoppedEvent",
    "InputAudioBufferTimeoutTriggeredEvent",
    "KnownServerEvent",
    "McpListToolsCompletedEvent",
    "McpListToolsFailedEvent",
    "McpListToolsInProgressEvent",
    "OutputAudioBufferClearEvent",
    "OutputAudioBufferClearedEvent",
    "OutputAudioBufferStartedEvent",
    "OutputAudioBufferStoppedEvent",
    "RateLimitsUpdatedEvent",
    "ResponseCancelEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreateEvent",
    "ResponseCreatedEvent",
    "ResponseDoneEvent",
    "ResponseFunctionCallArgumentsDeltaEvent",
    "ResponseFunctionCallArgumentsDoneEvent",
    "ResponseMcpCallArgumentsDeltaEvent",
    "ResponseMcpCallArgumentsDoneEvent",
    "ResponseMcpCallCompletedEvent",
    "ResponseMcpCallFailedEvent",
    "ResponseMcpCallInProgressEvent",
    "ResponseOutputAudioDeltaEvent",
    "ResponseOutputAudioDoneEvent",
    "ResponseOutputAudioTranscriptDeltaEvent",
    "ResponseOutputAudioTranscriptDoneEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextDeltaEvent",
    "ResponseOutputTextDoneEvent",
    "SERVER_EVENT_TYPES",
    "ServerEvent",
    "SessionCreatedEvent",
    "SessionUpdateEvent",
    "SessionUpdatedEvent",
    "UnknownServerEvent",
]


# gc=False: events are acyclic trees of immutable data, so the garbage collector never
# needs to track them; that saves time on the audio hot path (50 events a second).
class _ClientEventBase(
    Struct, frozen=True, kw_only=True, tag_field="type", repr_omit_defaults=True, gc=False
):
    """Base of client events: an optional client-generated ``event_id``."""

    event_id: str | None | UnsetType = UNSET

    __repr__ = _compact_repr


class _ServerEventBase(
    Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    omit_defaults=True,
    repr_omit_defaults=True,
    gc=False,
):
    """Base of server events: a required ``event_id``."""

    event_id: str

    __repr__ = _compact_repr


class _ServerEventNoIdBase(
    Struct,
    frozen=True,
    kw_only=True,
    tag_field="type",
    omit_defaults=True,
    repr_omit_defaults=True,
    gc=False,
):
    """Base of the one server event without ``event_id`` (DTMF)."""

    __repr__ = _compact_repr


# --------------------------------------------------------------------------------------
# Client -> server
# --------------------------------------------------------------------------------------


class ConversationItemCreateEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="conversation.item.create"
):
    """Add an item to the conversation (``previous_item_id`` may be ``"root"``)."""

    item: ConversationItem
    previous_item_id: str | None | UnsetType = UNSET


class ConversationItemDeleteEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="conversation.item.delete"
):
    """Remove an item from the conversation."""

    item_id: str


class ConversationItemRetrieveEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="conversation.item.retrieve"
):
    """Ask for the server's full copy of an item (audio included)."""

    item_id: str


class ConversationItemTruncateEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="conversation.item.truncate"
):
    """Cut an assistant message's audio at ``audio_end_ms`` (after an interruption)."""

    item_id: str
    content_index: Int64
    audio_end_ms: Int64


class InputAudioBufferAppendEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.append"
):
    """Append audio (raw bytes in the input format; base64 on the wire). No reply."""

    audio: bytes

    __repr__ = _compact_repr


class InputAudioBufferClearEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.clear"
):
    """Clear the input audio buffer."""


class OutputAudioBufferClearEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="output_audio_buffer.clear"
):
    """WebRTC/SIP only: cut off the current audio output."""


class InputAudioBufferCommitEvent(
    _ClientEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.commit"
):
    """Commit the input audio buffer as a user message."""


class ResponseCancelEvent(_ClientEventBase, frozen=True, kw_only=True, tag="response.cancel"):
    """Cancel the in-progress response."""

    response_id: str | None | UnsetType = UNSET


class ResponseCreateEvent(_ClientEventBase, frozen=True, kw_only=True, tag="response.create"):
    """Ask the model to respond, optionally with per-response overrides."""

    response: ResponseCreateParams | None | UnsetType = UNSET


class SessionUpdateEvent(_ClientEventBase, frozen=True, kw_only=True, tag="session.update"):
    """Change the session configuration (only the fields sent change)."""

    session: SessionConfig


ClientEvent: TypeAlias = (
    ConversationItemCreateEvent
    | ConversationItemDeleteEvent
    | ConversationItemRetrieveEvent
    | ConversationItemTruncateEvent
    | InputAudioBufferAppendEvent
    | InputAudioBufferClearEvent
    | OutputAudioBufferClearEvent
    | InputAudioBufferCommitEvent
    | ResponseCancelEvent
    | ResponseCreateEvent
    | SessionUpdateEvent
)
"""Any of the 11 client events."""

CLIENT_EVENT_TYPES: dict[str, type[ClientEvent]] = {
    str(cls.__struct_config__.tag): cls for cls in get_args(ClientEvent)
}
"""Wire ``type`` -> client event class."""


# --------------------------------------------------------------------------------------
# Server -> client
# --------------------------------------------------------------------------------------


class ConversationCreatedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.created"
):
    """A conversation was created (right after the session)."""

    conversation: Conversation


class ConversationItemCreatedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.item.created"
):
    """An item was created (GA servers send ``conversation.item.added``)."""

    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemDeletedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.item.deleted"
):
    """An item was deleted."""

    item_id: str


class ConversationItemInputAudioTranscriptionCompletedEvent(
    _ServerEventBase,
    frozen=True,
    kw_only=True,
    tag="conversation.item.input_audio_transcription.completed",
):
    """The transcription of a user audio item."""

    item_id: str
    content_index: Int64
    transcript: str
    usage: TranscriptionUsage
    languages: list[TranscriptionLanguage] | None = None
    logprobs: list[LogProb] | None = None


class ConversationItemInputAudioTranscriptionDeltaEvent(
    _ServerEventBase,
    frozen=True,
    kw_only=True,
    tag="conversation.item.input_audio_transcription.delta",
):
    """Incremental transcription of user audio."""

    item_id: str
    content_index: Int64 | None = None
    delta: str | None = None
    logprobs: list[LogProb] | None = None


class ConversationItemInputAudioTranscriptionFailedEvent(
    _ServerEventBase,
    frozen=True,
    kw_only=True,
    tag="conversation.item.input_audio_transcription.failed",
):
    """Transcription of user audio failed."""

    item_id: str
    content_index: Int64
    error: TranscriptionError


class ConversationItemRetrievedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.item.retrieved"
):
    """The answer to ``conversation.item.retrieve``."""

    item: ConversationItem


class ConversationItemTruncatedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.item.truncated"
):
    """An assistant audio item was truncated."""

    item_id: str
    content_index: Int64
    audio_end_ms: Int64


class ErrorEvent(_ServerEventBase, frozen=True, kw_only=True, tag="error"):
    """An error; ``error.event_id`` names the client event that caused it."""

    error: RealtimeError


class InputAudioBufferClearedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.cleared"
):
    """The input audio buffer was cleared."""


class InputAudioBufferCommittedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.committed"
):
    """The input audio buffer was committed as item ``item_id``."""

    item_id: str
    previous_item_id: str | None = None


class InputAudioBufferDtmfEventReceivedEvent(
    _ServerEventNoIdBase, frozen=True, kw_only=True, tag="input_audio_buffer.dtmf_event_received"
):
    """SIP only: a DTMF key was pressed (this event has no ``event_id``)."""

    event: str
    received_at: Int64
    event_id: str | None = None


class InputAudioBufferSpeechStartedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.speech_started"
):
    """VAD detected the start of speech."""

    item_id: str
    audio_start_ms: Int64


class InputAudioBufferSpeechStoppedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.speech_stopped"
):
    """VAD detected the end of speech."""

    item_id: str
    audio_end_ms: Int64


class RateLimitsUpdatedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="rate_limits.updated"
):
    """Rate limits, emitted at the start of a response."""

    rate_limits: list[RateLimit]


class ResponseOutputAudioDeltaEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_audio.delta"
):
    """A chunk of model audio (``delta`` is raw bytes in the output format)."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    delta: bytes

    __repr__ = _compact_repr


class ResponseOutputAudioDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_audio.done"
):
    """Model audio is done."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64


class ResponseOutputAudioTranscriptDeltaEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_audio_transcript.delta"
):
    """A chunk of the transcript of model audio."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    delta: str


class ResponseOutputAudioTranscriptDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_audio_transcript.done"
):
    """The transcript of model audio is done."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    transcript: str


class ResponseContentPartAddedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.content_part.added"
):
    """A content part was added to an assistant item."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    part: ResponseContentPart


class ResponseContentPartDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.content_part.done"
):
    """A content part is done."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    part: ResponseContentPart


class ResponseCreatedEvent(_ServerEventBase, frozen=True, kw_only=True, tag="response.created"):
    """A response started."""

    response: RealtimeResponse


class ResponseDoneEvent(_ServerEventBase, frozen=True, kw_only=True, tag="response.done"):
    """A response ended (see ``response.status``)."""

    response: RealtimeResponse


class ResponseFunctionCallArgumentsDeltaEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.function_call_arguments.delta"
):
    """A chunk of function-call arguments."""

    response_id: str
    item_id: str
    output_index: Int64
    call_id: str
    delta: str


class ResponseFunctionCallArgumentsDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.function_call_arguments.done"
):
    """Function-call arguments are complete."""

    response_id: str
    item_id: str
    output_index: Int64
    call_id: str
    name: str
    arguments: str


class ResponseOutputItemAddedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_item.added"
):
    """A response output item was added."""

    response_id: str
    output_index: Int64
    item: ConversationItem


class ResponseOutputItemDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_item.done"
):
    """A response output item is done."""

    response_id: str
    output_index: Int64
    item: ConversationItem


class ResponseOutputTextDeltaEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_text.delta"
):
    """A chunk of model text."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    delta: str


class ResponseOutputTextDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.output_text.done"
):
    """Model text is done."""

    response_id: str
    item_id: str
    output_index: Int64
    content_index: Int64
    text: str


class SessionCreatedEvent(_ServerEventBase, frozen=True, kw_only=True, tag="session.created"):
    """The first event: the session and its effective config."""

    session: SessionConfig


class SessionUpdatedEvent(_ServerEventBase, frozen=True, kw_only=True, tag="session.updated"):
    """The full effective config after a ``session.update``."""

    session: SessionConfig


class OutputAudioBufferStartedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="output_audio_buffer.started"
):
    """WebRTC/SIP only: the server started streaming audio."""

    response_id: str


class OutputAudioBufferStoppedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="output_audio_buffer.stopped"
):
    """WebRTC/SIP only: the output audio buffer drained."""

    response_id: str


class OutputAudioBufferClearedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="output_audio_buffer.cleared"
):
    """WebRTC/SIP only: the output audio buffer was cleared."""

    response_id: str


class ConversationItemAddedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.item.added"
):
    """An item entered the default conversation."""

    item: ConversationItem
    previous_item_id: str | None = None


class ConversationItemDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="conversation.item.done"
):
    """An item is final."""

    item: ConversationItem
    previous_item_id: str | None = None


class InputAudioBufferTimeoutTriggeredEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="input_audio_buffer.timeout_triggered"
):
    """Server VAD's ``idle_timeout_ms`` fired."""

    item_id: str
    audio_start_ms: Int64
    audio_end_ms: Int64


class ConversationItemInputAudioTranscriptionSegmentEvent(
    _ServerEventBase,
    frozen=True,
    kw_only=True,
    tag="conversation.item.input_audio_transcription.segment",
):
    """A diarized transcription segment."""

    item_id: str
    content_index: Int64
    id: str
    text: str
    speaker: str
    start: float
    end: float


class McpListToolsInProgressEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="mcp_list_tools.in_progress"
):
    """Listing MCP tools started."""

    item_id: str


class McpListToolsCompletedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="mcp_list_tools.completed"
):
    """Listing MCP tools completed."""

    item_id: str


class McpListToolsFailedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="mcp_list_tools.failed"
):
    """Listing MCP tools failed."""

    item_id: str


class ResponseMcpCallArgumentsDeltaEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.mcp_call_arguments.delta"
):
    """A chunk of MCP call arguments."""

    response_id: str
    item_id: str
    output_index: Int64
    delta: str
    obfuscation: str | None = None


class ResponseMcpCallArgumentsDoneEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.mcp_call_arguments.done"
):
    """MCP call arguments are complete."""

    response_id: str
    item_id: str
    output_index: Int64
    arguments: str


class ResponseMcpCallInProgressEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.mcp_call.in_progress"
):
    """An MCP tool call started."""

    item_id: str
    output_index: Int64


class ResponseMcpCallCompletedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.mcp_call.completed"
):
    """An MCP tool call completed."""

    item_id: str
    output_index: Int64


class ResponseMcpCallFailedEvent(
    _ServerEventBase, frozen=True, kw_only=True, tag="response.mcp_call.failed"
):
    """An MCP tool call failed."""

    item_id: str
    output_index: Int64


class UnknownServerEvent(Struct, frozen=True, kw_only=True):
    """A server event whose ``type`` this library does not know; ``raw`` is its JSON.

    Decoding never fails on a new event type: it lands here so the session goes on.
    The repr shows at most 200 bytes of ``raw``, with anything credential-like redacted.
    """

    type: str
    raw: bytes

    def __repr__(self) -> str:
        head = redact_text(self.raw[:200].decode("utf-8", "replace"))
        more = f" ... <{len(self.raw)} bytes>" if len(self.raw) > 200 else ""
        return f"UnknownServerEvent(type={redact_text(_short(self.type))}, raw={head!r}{more})"


KnownServerEvent: TypeAlias = (
    ConversationCreatedEvent
    | ConversationItemCreatedEvent
    | ConversationItemDeletedEvent
    | ConversationItemInputAudioTranscriptionCompletedEvent
    | ConversationItemInputAudioTranscriptionDeltaEvent
    | ConversationItemInputAudioTranscriptionFailedEvent
    | ConversationItemRetrievedEvent
    | ConversationItemTruncatedEvent
    | ErrorEvent
    | InputAudioBufferClearedEvent
    | InputAudioBufferCommittedEvent
    | InputAudioBufferDtmfEventReceivedEvent
    | InputAudioBufferSpeechStartedEvent
    | InputAudioBufferSpeechStoppedEvent
    | RateLimitsUpdatedEvent
    | ResponseOutputAudioDeltaEvent
    | ResponseOutputAudioDoneEvent
    | ResponseOutputAudioTranscriptDeltaEvent
    | ResponseOutputAudioTranscriptDoneEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseCreatedEvent
    | ResponseDoneEvent
    | ResponseFunctionCallArgumentsDeltaEvent
    | ResponseFunctionCallArgumentsDoneEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ResponseOutputTextDeltaEvent
    | ResponseOutputTextDoneEvent
    | SessionCreatedEvent
    | SessionUpdatedEvent
    | OutputAudioBufferStartedEvent
    | OutputAudioBufferStoppedEvent
    | OutputAudioBufferClearedEvent
    | ConversationItemAddedEvent
    | ConversationItemDoneEvent
    | InputAudioBufferTimeoutTriggeredEvent
    | ConversationItemInputAudioTranscriptionSegmentEvent
    | McpListToolsInProgressEvent
    | McpListToolsCompletedEvent
    | McpListToolsFailedEvent
    | ResponseMcpCallArgumentsDeltaEvent
    | ResponseMcpCallArgumentsDoneEvent
    | ResponseMcpCallInProgressEvent
    | ResponseMcpCallCompletedEvent
    | ResponseMcpCallFailedEvent
)
"""Any of the 46 GA server events."""

ServerEvent: TypeAlias = KnownServerEvent | UnknownServerEvent
"""What :func:`oairt_core.decode_server_event` returns."""

SERVER_EVENT_TYPES: dict[str, type[KnownServerEvent]] = {
    str(cls.__struct_config__.tag): cls for cls in get_args(KnownServerEvent)
}
"""Wire ``type`` -> server event class."""
