"""The typed events a voice session hands to the application.

A :class:`~oairt_core._session.VoiceSession` turns raw server events into these
small frozen objects. Every one keeps the server event it came from in ``.raw``
(``None`` for events produced locally, such as a barge-in), so nothing the server
said is out of reach; server events the session does not map arrive wrapped in
:class:`RawEvent`.

>>> import numpy as np
>>> ev = AudioDelta(pcm=np.zeros(480, dtype=np.int16), sample_rate=24000,
...                 response_id="resp_1", item_id="item_1", content_index=0)
>>> ev.duration_ms
20.0
>>> isinstance(TranscriptDone(text="hi", response_id="r", item_id="i"), Transcript)
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, Union

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .events import ClientEvent, ServerEvent
    from .models import (
        McpApprovalRequestItem,
        RealtimeError,
        RealtimeResponse,
        SessionConfig,
        Usage,
    )

__all__ = [
    "AudioDelta",
    "AudioDone",
    "Error",
    "InputAudioCommitted",
    "InputTranscript",
    "InputTranscriptDelta",
    "InputTranscriptDone",
    "Interrupted",
    "ProtocolViolation",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "RawEvent",
    "ResponseDone",
    "ResponseStarted",
    "SessionReady",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "ToolCall",
    "ToolCallRejected",
    "ToolResult",
    "Transcript",
    "TranscriptDelta",
    "TranscriptDone",
    "VoiceEvent",
]

_Raw = Union["ServerEvent", None]


@dataclass(frozen=True, slots=True)
class SessionReady:
    """``session.created``: the server's effective configuration at the start."""

    session: SessionConfig
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SessionUpdated:
    """``session.updated``: the full effective configuration after a change."""

    session: SessionConfig
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """Server VAD heard the user start speaking (``input_audio_buffer.speech_started``)."""

    item_id: str
    audio_start_ms: int
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """Server VAD heard the user stop (``input_audio_buffer.speech_stopped``)."""

    item_id: str
    audio_end_ms: int
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class InputAudioCommitted:
    """The input buffer became a user item (VAD or :meth:`commit`)."""

    item_id: str
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class InputTranscriptDelta:
    """A piece of the transcription of what the *user* said."""

    item_id: str
    delta: str
    content_index: int = 0
    raw: _Raw = field(default=None, repr=False, compare=False)

    @property
    def role(self) -> Literal["user"]:
        return "user"


@dataclass(frozen=True, slots=True)
class InputTranscriptDone:
    """The final transcription of a user item (``...input_audio_transcription.completed``)."""

    item_id: str
    text: str
    content_index: int = 0
    raw: _Raw = field(default=None, repr=False, compare=False)

    @property
    def transcript(self) -> str:
        return self.text

    @property
    def role(self) -> Literal["user"]:
        return "user"


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    """``response.created``: the model started a response."""

    response_id: str
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True, eq=False)
class AudioDelta:
    """A chunk of the assistant's voice as PCM16 samples (numpy ``int16``).

    ``sample_rate`` is 24000 for ``audio/pcm`` output. For G.711 output
    (``audio/pcmu``/``audio/pcma``) the bytes are decoded to PCM16 at their
    native 8000 Hz; resample with :mod:`oairt_core.audio` if the player needs
    24 kHz. ``audio_start_ms`` is where this chunk starts within its item.
    """

    pcm: npt.NDArray[np.int16]
    sample_rate: int
    response_id: str
    item_id: str
    content_index: int = 0
    audio_start_ms: float = 0.0
    raw: _Raw = field(default=None, repr=False)

    @property
    def duration_ms(self) -> float:
        return 1000.0 * len(self.pcm) / self.sample_rate


@dataclass(frozen=True, slots=True)
class AudioDone:
    """``response.output_audio.done``: no more audio for this content part."""

    response_id: str
    item_id: str
    content_index: int = 0
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """A piece of the assistant's words.

    ``modality`` is ``"audio"`` for the transcript of spoken output and
    ``"text"`` for text output (``response.output_text.delta``).
    """

    delta: str
    response_id: str
    item_id: str
    content_index: int = 0
    modality: Literal["audio", "text"] = "audio"
    raw: _Raw = field(default=None, repr=False, compare=False)

    @property
    def role(self) -> Literal["assistant"]:
        return "assistant"


@dataclass(frozen=True, slots=True)
class TranscriptDone:
    """The assistant's full words for one content part (``.text``; ``.transcript`` too)."""

    text: str
    response_id: str
    item_id: str
    content_index: int = 0
    modality: Literal["audio", "text"] = "audio"
    raw: _Raw = field(default=None, repr=False, compare=False)

    @property
    def transcript(self) -> str:
        return self.text

    @property
    def role(self) -> Literal["assistant"]:
        return "assistant"


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model called a function.

    ``arguments`` is the decoded typed value when the function is a registered
    typed tool, else the raw JSON text (which is always in ``raw_arguments``).
    """

    call_id: str
    name: str
    arguments: Any
    raw_arguments: str
    response_id: str
    item_id: str | None = None
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What went back to the model for a call (``function_call_output``).

    ``is_error`` is true when the arguments could not be decoded, the tool is
    unknown, or the function raised; ``output`` is then the error text sent.
    """

    call_id: str
    name: str
    output: str
    is_error: bool = False
    raw: _Raw = field(default=None, repr=False, compare=False)
    #: The exception behind an error output: what the tool raised, or the
    #: :class:`~oairt_core.errors.ToolError` for bad arguments, an unknown tool or
    #: an output that could not be serialised. The model only gets a short message.
    exception: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ToolCallRejected:
    """The model called a tool the session could not run; a ``ToolResult`` error follows.

    ``reason`` is ``"unknown_tool"`` (no typed or raw tool of that name) or
    ``"invalid_arguments"`` (the JSON did not decode into the argument type).
    ``message`` is what the model is told (bounded); ``exception`` the
    :class:`~oairt_core.errors.ToolError`.
    """

    call_id: str
    name: str
    reason: Literal["unknown_tool", "invalid_arguments"]
    message: str
    raw_arguments: str = field(default="", repr=False)
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The server sent a value the session cannot act on; the session skipped that and went on.

    A client event the session would have generated from server values (a
    ``function_call_output`` for ``call_id: ""``, a ``conversation.item.truncate``
    at ``content_index: -1``) is validated first; when it breaks a GA rule it is
    not sent (``event`` holds it) and this event says why. ``exception`` is the
    :class:`~oairt_core.errors.InvalidClientEvent` (or the unexpected error the
    session caught while handling ``raw``). The session never raises from ``feed``.
    """

    message: str
    event: ClientEvent | None = field(default=None, repr=False, compare=False)
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class ResponseDone:
    """``response.done``: ``status`` is completed, cancelled, failed or incomplete."""

    response_id: str
    status: str
    reason: str | None = None
    usage: Usage | None = None
    response: RealtimeResponse | None = field(default=None, repr=False, compare=False)
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The assistant was cut off; the conversation now matches what the user heard.

    ``audio_end_ms`` is the cut point sent in ``conversation.item.truncate``
    (``None`` when nothing was truncated, e.g. no audio had arrived or on a
    sideband connection, where ``output_audio_buffer.clear`` is used).
    ``cancelled`` says whether a ``response.cancel`` was sent. ``reason`` is
    ``"manual"`` (:meth:`barge_in`), ``"speech_started"`` (auto barge-in) or
    ``"server"`` (the server cancelled on its own, e.g. ``turn_detected``).
    """

    response_id: str | None
    item_id: str | None
    audio_end_ms: int | None
    content_index: int = 0
    cancelled: bool = False
    reason: Literal["manual", "speech_started", "server"] = "manual"
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class McpListTools:
    """``mcp_list_tools.in_progress|completed|failed`` for an MCP server."""

    item_id: str
    status: Literal["in_progress", "completed", "failed"]
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class McpCall:
    """Progress of a server-side MCP tool call.

    ``status`` is ``"arguments_done"``, ``"in_progress"``, ``"completed"``,
    ``"failed"`` or ``"done"`` (the final item arrived, with ``output`` or
    ``error`` filled when the server gave them).
    """

    item_id: str
    status: str
    name: str | None = None
    arguments: str | None = None
    output: str | None = None
    error: str | None = None
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class McpApprovalRequest:
    """The model wants to call an MCP tool that needs approval.

    Answer with ``session.approve(request)`` / ``session.deny(request, reason)``
    unless an approval callback was configured (then it is answered for you).
    """

    id: str
    server_label: str
    name: str
    arguments: str
    item: McpApprovalRequestItem | None = field(default=None, repr=False, compare=False)
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Error:
    """A server ``error`` event or a local failure that did not end the session.

    Server errors fill ``type``/``code``/``message``/``param``/``event_id`` (the
    client event that caused it) and ``error``; local failures fill ``exception``.
    """

    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    event_id: str | None = None
    error: RealtimeError | None = field(default=None, repr=False, compare=False)
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    raw: _Raw = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A server event the session does not turn into a richer voice event."""

    event: ServerEvent

    @property
    def raw(self) -> ServerEvent:
        return self.event

    @property
    def type(self) -> str:
        """The wire ``type`` of the event."""
        explicit = getattr(self.event, "type", None)  # UnknownServerEvent carries it
        if isinstance(explicit, str):
            return explicit
        tag = getattr(getattr(type(self.event), "__struct_config__", None), "tag", None)
        return str(tag) if tag is not None else type(self.event).__name__


VoiceEvent: TypeAlias = (
    SessionReady
    | SessionUpdated
    | SpeechStarted
    | SpeechStopped
    | InputAudioCommitted
    | InputTranscriptDelta
    | InputTranscriptDone
    | ResponseStarted
    | AudioDelta
    | AudioDone
    | TranscriptDelta
    | TranscriptDone
    | ToolCall
    | ToolCallRejected
    | ToolResult
    | ResponseDone
    | Interrupted
    | McpListTools
    | McpCall
    | McpApprovalRequest
    | Error
    | ProtocolViolation
    | RawEvent
)
"""Everything :meth:`VoiceSession.next_voice_event` can return."""

InputTranscript: TypeAlias = InputTranscriptDelta | InputTranscriptDone
"""The user's words, delta or done (usable with ``isinstance``)."""

Transcript: TypeAlias = TranscriptDone | InputTranscriptDone
"""What ``next_transcript()`` returns: the final words of either side (``.text``, ``.role``)."""
