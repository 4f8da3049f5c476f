"""The voice session: a sans-IO state machine over the Realtime protocol.

:class:`VoiceSession` is fed server events (with the current time as a float,
since the core never reads a clock) and produces two streams: client events to
send (:meth:`VoiceSession.events_to_send`) and typed voice events for the app
(:meth:`VoiceSession.next_voice_event`). It does barge-in (cancel + truncate at
what the user heard), the typed-tool round trip, and MCP approvals. The
``oairt_anyio.voice`` and ``oairt_trio.voice`` adapters only move bytes and run
tools; all decisions are made here.

>>> import numpy as np
>>> from oairt_core import codec
>>> s = VoiceSession(VoiceConfig(voice="alloy"))
>>> s.start()
>>> [type(e).__name__ for e in s.events_to_send()]
['SessionUpdateEvent']
>>> ev = codec.decode_server_event(b'{"type":"response.created","event_id":"e1",'
...     b'"response":{"id":"resp_1","status":"in_progress","output":[]}}')
>>> s.handle_event(ev, now=0.0)
[ResponseStarted(response_id='resp_1')]
>>> s.barge_in(now=0.5)
[Interrupted(response_id='resp_1', item_id=None, audio_end_ms=None, content_index=0, \
cancelled=True, reason='manual')]
>>> [type(e).__name__ for e in s.events_to_send()]
['ResponseCancelEvent']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import msgspec
import numpy as np
import numpy.typing as npt

from . import audio as _audio
from .config import (
    ApprovalCallback,
    AudioFormatName,
    Realtime,
    RealtimeBuilder,
    VoiceConfig,
    mcp_tool,
    semantic_vad,
    server_vad,
)
from .connection import IncomingEvent, MalformedServerEvent
from .errors import LocalProtocolError, ToolError
from .events import (
    ClientEvent,
    ConversationItemAddedEvent,
    ConversationItemCreateEvent,
    ConversationItemDoneEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ConversationItemTruncateEvent,
    ErrorEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    McpListToolsInProgressEvent,
    OutputAudioBufferClearedEvent,
    OutputAudioBufferClearEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    ResponseCancelEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    ResponseFunctionCallArgumentsDoneEvent,
    ResponseMcpCallArgumentsDoneEvent,
    ResponseMcpCallCompletedEvent,
    ResponseMcpCallFailedEvent,
    ResponseMcpCallInProgressEvent,
    ResponseOutputAudioDeltaEvent,
    ResponseOutputAudioDoneEvent,
    ResponseOutputAudioTranscriptDeltaEvent,
    ResponseOutputAudioTranscriptDoneEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    ResponseOutputTextDoneEvent,
    ServerEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from .models import (
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    FunctionTool,
    InputTextContent,
    ItemReference,
    McpApprovalRequestItem,
    McpApprovalResponseItem,
    McpCallItem,
    McpTool,
    MessageItem,
    RealtimeSessionConfig,
    ResponseAudioConfig,
    ResponseAudioOutput,
    ResponseCreateParams,
)
from .redact import redact_text
from .tools import (
    ToolRegistry,
    TypedTool,
    error_output,
    exception_output,
    serialize_output,
)
from .tools import tool as _make_tool
from .validation import validate_client_event
from .voice_events import (
    AudioDelta,
    AudioDone,
    Error,
    InputAudioCommitted,
    InputTranscript,
    InputTranscriptDelta,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    RawEvent,
    ResponseDone,
    ResponseStarted,
    SessionReady,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    ToolResult,
    Transcript,
    TranscriptDelta,
    TranscriptDone,
    VoiceEvent,
)

__all__ = [
    # this module
    "ApprovalJob",
    "DEFAULT_MAX_APPEND_BYTES",
    "MIN_COMMIT_MS",
    "ResponseBuilder",
    "ToolRun",
    "VoiceSession",
    "bytes_per_ms",
    # re-exported so `from oairt_core.session import ...` finds the whole voice API
    "ApprovalCallback",
    "AudioFormatName",
    "Realtime",
    "RealtimeBuilder",
    "VoiceConfig",
    "mcp_tool",
    "semantic_vad",
    "server_vad",
    "AudioDelta",
    "AudioDone",
    "Error",
    "InputAudioCommitted",
    "InputTranscript",
    "InputTranscriptDelta",
    "InputTranscriptDone",
    "Interrupted",
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
    "ToolResult",
    "Transcript",
    "TranscriptDelta",
    "TranscriptDone",
    "VoiceEvent",
]

MIN_COMMIT_MS = 100
"""The server refuses to commit less input audio than this."""

DEFAULT_MAX_APPEND_BYTES = 1 << 20
"""Raw audio bytes per ``input_audio_buffer.append`` (1 MiB; far under the 15 MiB cap)."""

# Remember this many of our own response.cancel event ids, to recognise the
# server's "no active response" error when a cancel raced a response.done.
_CANCEL_MEMORY = 64
# Per-item and per-response memory is bounded: a session may run for hours.
_RECENT = 64


def _remember(ordered: dict[str, Any], key: str, value: Any = None) -> None:
    """Insert into an insertion-ordered dict, forgetting the oldest beyond ``_RECENT``."""
    ordered[key] = value
    while len(ordered) > _RECENT:
        del ordered[next(iter(ordered))]


def bytes_per_ms(fmt: AudioFormatName) -> int:
    """Bytes of one millisecond of audio in a session format.

    >>> bytes_per_ms("pcm"), bytes_per_ms("pcmu")
    (48, 8)
    """
    return 48 if fmt == "pcm" else 8


def _native_rate(fmt: AudioFormatName) -> int:
    return 24000 if fmt == "pcm" else 8000


def _opt(value: Any) -> Any:
    return None if value is msgspec.UNSET else value


@dataclass(frozen=True)
class ToolRun:
    """A typed tool the adapter must run: ``run.func(*run.args)``.

    Async functions are awaited, sync ones run in a worker thread; when the call
    ends the adapter reports :meth:`VoiceSession.tool_finished`.
    """

    call_id: str
    name: str
    tool: TypedTool[Any, Any]
    args: tuple[Any, ...]
    response_id: str

    @property
    def func(self) -> Callable[..., Any]:
        return self.tool.fn

    @property
    def is_async(self) -> bool:
        return self.tool.is_async


@dataclass(frozen=True)
class ApprovalJob:
    """An MCP approval request for the configured approval callback."""

    request: McpApprovalRequest
    callback: ApprovalCallback


@dataclass
class _Call:
    call_id: str
    name: str
    response_id: str
    order: int
    output: str | None = None
    finished: bool = False
    skipped: bool = False


@dataclass
class _AudioItem:
    item_id: str
    response_id: str
    content_index: int
    fmt: AudioFormatName
    received_bytes: int = 0
    first_at: float | None = None
    carry: bytes = b""
    truncated: bool = False

    @property
    def received_ms(self) -> float:
        return self.received_bytes / bytes_per_ms(self.fmt)


@dataclass
class _Response:
    response_id: str
    in_progress: bool = True
    calls: list[str] = field(default_factory=list)
    interrupted: bool = False


class _CreatesResponses(Protocol):
    async def create_response(
        self, response: ResponseBuilder | ResponseCreateParams | None
    ) -> Any: ...


class VoiceSession:
    """The voice state machine (h11 style: no I/O, time passed in).

    Inputs: :meth:`handle_event` / :meth:`receive_event` with server events,
    and the app's actions (:meth:`send_pcm16`, :meth:`commit`, :meth:`barge_in`,
    :meth:`mark_played`, :meth:`create_response`, :meth:`update`,
    :meth:`approve`/:meth:`deny`, :meth:`tool_finished`).

    Outputs: :meth:`events_to_send` (client events, in order),
    :meth:`next_voice_event` (typed events for the app), :meth:`tool_runs` and
    :meth:`tools_to_cancel` (work for the adapter's task group),
    :meth:`approval_jobs` (calls of the approval callback).

    ``sideband=True`` is for a connection joined with ``call_id`` (WebRTC/SIP):
    barge-in then clears the server's output buffer instead of truncating.
    """

    def __init__(self, config: VoiceConfig | RealtimeBuilder, *, sideband: bool = False) -> None:
        if isinstance(config, RealtimeBuilder):
            config = config.build()
        config.to_session_config()  # fail before connecting, with the rule named
        self.config: VoiceConfig = config
        self.sideband = sideband
        self._registry: ToolRegistry = config.registry()
        self._manual = config.manual_function_names()
        self._outbox: deque[ClientEvent] = deque()
        self._voice: deque[VoiceEvent] = deque()
        self._runs: deque[ToolRun] = deque()
        self._cancels: deque[str] = deque()
        self._approvals: deque[ApprovalJob] = deque()
        self._responses: dict[str, _Response] = {}
        self._in_progress: list[str] = []  # response ids, oldest first
        self._dropped: dict[str, None] = {}  # interrupted response ids (ordered set)
        self._cancel_ids: deque[str] = deque(maxlen=_CANCEL_MEMORY)
        self._audio: dict[str, _AudioItem] = {}
        self._played: dict[str, float] = {}
        self._current_audio: str | None = None
        self._calls: dict[str, _Call] = {}
        self._approval_seen: dict[str, None] = {}
        self._want_response = False
        self._input_bytes = 0
        self._counter = 0
        self._sideband_playing = False
        self.last_raw: IncomingEvent | None = None

    # ------------------------------------------------------------------ outputs

    def events_to_send(self) -> list[ClientEvent]:
        """Client events produced so far, oldest first; the caller sends them in order."""
        out = list(self._outbox)
        self._outbox.clear()
        return out

    def next_voice_event(self) -> VoiceEvent | None:
        """The next voice event for the app, or ``None`` when there is none yet."""
        return self._voice.popleft() if self._voice else None

    def voice_events(self) -> list[VoiceEvent]:
        """All pending voice events at once."""
        out = list(self._voice)
        self._voice.clear()
        return out

    def tool_runs(self) -> list[ToolRun]:
        """Typed tools to start now (each in its own task)."""
        out = list(self._runs)
        self._runs.clear()
        return out

    def tools_to_cancel(self) -> list[str]:
        """``call_id``\\ s of running tools to cancel (their response was interrupted)."""
        out = list(self._cancels)
        self._cancels.clear()
        return out

    def approval_jobs(self) -> list[ApprovalJob]:
        """MCP approval requests to hand to the configured approval callback."""
        out = list(self._approvals)
        self._approvals.clear()
        return out

    def is_discarded(self, event: VoiceEvent) -> bool:
        """True for audio/transcript events of a response that was interrupted.

        Adapters check this when handing out buffered events so that audio queued
        before a barge-in is dropped instead of played.
        """
        if isinstance(event, (AudioDelta, AudioDone, TranscriptDelta, TranscriptDone)):
            return event.response_id in self._dropped
        return False

    @property
    def active_response_id(self) -> str | None:
        """The response a barge-in would cancel (``None`` when none is in progress).

        The one whose audio is playing if it is still in progress, else the newest.
        """
        item = self._audio.get(self._current_audio) if self._current_audio else None
        if item is not None and item.response_id in self._in_progress:
            return item.response_id
        return self._in_progress[-1] if self._in_progress else None

    # ------------------------------------------------------------------ inputs

    def start(self) -> None:
        """Queue the ``session.update`` that applies the configuration."""
        event = self.config.session_update()
        if self.sideband and isinstance(event.session, RealtimeSessionConfig):
            # The call was set up (and its model chosen) when it was accepted.
            session = msgspec.structs.replace(event.session, model=msgspec.UNSET)
            event = SessionUpdateEvent(session=session)
        self._outbox.append(event)

    def handle_event(self, event: IncomingEvent, now: float) -> list[VoiceEvent]:
        """Feed one server event; returns the voice events it produced."""
        self.receive_event(event, now)
        return self.voice_events()

    def receive_event(self, event: IncomingEvent, now: float) -> None:
        """Feed one server event; read the results with :meth:`next_voice_event`."""
        self.last_raw = event
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event, now)
        elif not isinstance(event, MalformedServerEvent):
            self._emit(RawEvent(event))

    # -- audio in

    def send_pcm16(
        self,
        samples: npt.NDArray[Any] | bytes | bytearray | memoryview,
        *,
        sample_rate: int | None = None,
        max_chunk_bytes: int = DEFAULT_MAX_APPEND_BYTES,
    ) -> list[InputAudioBufferAppendEvent]:
        """``input_audio_buffer.append`` events carrying ``samples``.

        ``samples`` is a numpy ``int16`` array, a ``float32``/``float64`` array in
        [-1, 1], or PCM16 little-endian bytes; mono. ``sample_rate`` defaults to
        the input format's rate (24 kHz for ``pcm``, 8 kHz for G.711) and other
        rates are resampled. G.711 input formats are encoded here. Chunks hold at
        most ``max_chunk_bytes`` of audio. The events are returned (not queued)
        so that large audio never sits in the outbox.
        """
        fmt = self.config.input_format
        pcm = _to_int16(samples)
        rate = sample_rate or _native_rate(fmt)
        if rate != _native_rate(fmt):
            pcm = np.asarray(_audio.resample(pcm, rate, _native_rate(fmt)), dtype=np.int16)
        if fmt == "pcm":
            data = pcm.astype("<i2", copy=False).tobytes()
        elif fmt == "pcmu":
            data = _audio.ulaw_encode(pcm)
        else:
            data = _audio.alaw_encode(pcm)
        return self.send_encoded(data, max_chunk_bytes=max_chunk_bytes)

    def send_encoded(
        self, data: bytes, *, max_chunk_bytes: int = DEFAULT_MAX_APPEND_BYTES
    ) -> list[InputAudioBufferAppendEvent]:
        """Append events for audio already in the session's input format."""
        if max_chunk_bytes <= 0:
            raise ValueError("max_chunk_bytes must be positive")
        step = max_chunk_bytes - (max_chunk_bytes % 2 or 0) or 2
        events = [
            InputAudioBufferAppendEvent(audio=bytes(data[i : i + step]))
            for i in range(0, len(data), step)
        ]
        self._input_bytes += len(data)
        return events

    def commit(self, *, respond: bool = True) -> None:
        """Push-to-talk: commit the input buffer (and ask for a reply if ``respond``).

        Raises :class:`LocalProtocolError` in a session without VAD when less
        than 100 ms was appended since the last commit (the server would refuse).
        """
        if self.config.turn_detection is None:
            # Without VAD we know the whole buffer; the server rejects under 100 ms.
            ms = self._input_bytes / bytes_per_ms(self.config.input_format)
            if ms < MIN_COMMIT_MS:
                raise LocalProtocolError(
                    f"input_audio_buffer.commit: at least {MIN_COMMIT_MS} ms of audio is "
                    f"needed, the buffer holds {ms:.1f} ms"
                )
        self._outbox.append(InputAudioBufferCommitEvent())
        self._input_bytes = 0
        if respond and self.config.kind == "realtime":
            self._outbox.append(ResponseCreateEvent())

    def clear_input(self) -> None:
        """Drop the audio appended since the last commit."""
        self._outbox.append(InputAudioBufferClearEvent())
        self._input_bytes = 0

    # -- playback reports and barge-in

    def mark_played(self, item_id: str, ms: float) -> None:
        """The app has played ``ms`` milliseconds of ``item_id``'s audio to the user."""
        if ms < 0:
            raise ValueError("played milliseconds cannot be negative")
        _remember(self._played, item_id, float(ms))

    def played_until(self, ms: float) -> None:
        """:meth:`mark_played` for the item currently receiving audio."""
        if self._current_audio is not None:
            self.mark_played(self._current_audio, ms)

    def received_ms(self, item_id: str) -> float:
        """Milliseconds of audio received so far for ``item_id``."""
        item = self._audio.get(item_id)
        return item.received_ms if item else 0.0

    def heard_ms(self, item_id: str, now: float) -> float:
        """What the user has heard of ``item_id``: never more than was received.

        The app's :meth:`mark_played` report wins; without one the session
        assumes real-time playback since the item's first audio delta.
        """
        item = self._audio.get(item_id)
        if item is None:
            return 0.0
        if item_id in self._played:
            heard = self._played[item_id]
        elif item.first_at is not None:
            heard = (now - item.first_at) * 1000.0
        else:
            heard = 0.0
        return max(0.0, min(heard, item.received_ms))

    def barge_in(self, now: float) -> list[VoiceEvent]:
        """Interrupt the assistant now (the user started talking).

        Cancels the response if still in progress, truncates the audio item at
        what the user heard (or clears the server's output buffer on a sideband
        connection), drops later audio of that response, cancels its running
        tools. Returns the ``Interrupted`` event (empty when nothing was
        playing or in progress).
        """
        self._interrupt(now, "manual", None)
        return self.voice_events()

    # -- responses, configuration, tools, MCP

    def create_response(
        self, response: ResponseBuilder | ResponseCreateParams | None = None
    ) -> None:
        """Queue a ``response.create`` (validated; raises ``InvalidClientEvent``)."""
        if isinstance(response, ResponseBuilder):
            event = response.build()
        else:
            event = ResponseCreateEvent(response=msgspec.UNSET if response is None else response)
            validate_client_event(event)
        self._outbox.append(event)

    def update(self, **changes: Any) -> SessionUpdateEvent | None:
        """Re-configure the live session; queues a ``session.update`` of the changed fields.

        Accepts the :class:`VoiceConfig` keywords. Local options
        (``auto_barge_in``, ``auto_tool_response``, ``mcp_approval``) change
        without sending anything.
        """
        new = self.config.replace(**changes)
        event = self.config.diff(new)
        self.config = new
        self._registry = new.registry()
        self._manual = new.manual_function_names()
        if event is not None:
            self._outbox.append(event)
        return event

    def send_item(self, item: ConversationItem, *, previous_item_id: str | None = None) -> None:
        """Queue a ``conversation.item.create``."""
        event = ConversationItemCreateEvent(
            item=item,
            previous_item_id=msgspec.UNSET if previous_item_id is None else previous_item_id,
        )
        validate_client_event(event)
        self._outbox.append(event)

    def send_text(self, text: str, *, respond: bool = True) -> None:
        """Add a user text message (and ask for a reply if ``respond``)."""
        self.send_item(MessageItem(role="user", content=[InputTextContent(text=text)]))
        if respond:
            self._outbox.append(ResponseCreateEvent())

    def tool_finished(
        self, call_id: str, output: Any = None, *, error: BaseException | None = None
    ) -> None:
        """Report the end of a tool call (result ``output`` or the ``error`` raised).

        Unknown or already-answered ``call_id``\\ s are ignored (a tool cancelled
        by a barge-in may still report).
        """
        call = self._calls.get(call_id)
        if call is None or call.finished:
            return
        if error is not None:
            self._finish_call(call, exception_output(error, call.name), is_error=True)
            return
        try:
            text = serialize_output(output)
        except ToolError as exc:  # a result we cannot serialise goes back as an error
            self._finish_call(call, error_output(f"tool {call.name!r} failed: {exc}"), True)
            return
        self._finish_call(call, text, is_error=False)

    def approval_failed(self, request: McpApprovalRequest, error: BaseException) -> None:
        """The approval callback raised: deny (fail closed) and report an ``Error``."""
        self._emit(
            Error(message=redact_text(f"MCP approval callback failed: {error!r}"), exception=error)
        )
        self.deny(request, reason="the approval check failed")

    def connection_lost(self, error: BaseException) -> None:
        """The connection ended abnormally: report it as an ``Error`` event."""
        self._emit(Error(message=redact_text(str(error)), exception=error))

    def approve(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Approve an MCP tool call (``mcp_approval_response`` with ``approve: true``)."""
        self._answer_approval(request, True, reason)

    def deny(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Refuse an MCP tool call."""
        self._answer_approval(request, False, reason)

    # ------------------------------------------------------------------ internals

    def _emit(self, event: VoiceEvent) -> None:
        self._voice.append(event)

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_oairt_{self._counter}"

    def _request_response(self) -> None:
        if self.config.auto_tool_response:
            self._want_response = True
        self._flush_response_request()

    def _flush_response_request(self) -> None:
        if not self._want_response or self._in_progress:
            return
        # Wait until every tool batch is answered: one response.create covers all.
        if any(not c.finished for c in self._calls.values()):
            return
        self._want_response = False
        self._outbox.append(ResponseCreateEvent())

    def _interrupt(
        self,
        now: float,
        reason: Literal["manual", "speech_started", "server"],
        raw: ServerEvent | None,
        server_cancelled: str | None = None,
    ) -> None:
        resp_id = server_cancelled if server_cancelled is not None else self.active_response_id
        cancelled = False
        if resp_id is not None and server_cancelled is None:
            resp = self._responses.get(resp_id)
            if resp is not None and resp.in_progress and not resp.interrupted:
                event_id = self._next_id("evt_cancel")
                self._cancel_ids.append(event_id)
                self._outbox.append(ResponseCancelEvent(event_id=event_id, response_id=resp_id))
                cancelled = True
        if resp_id is not None:
            self._abandon_response(resp_id)

        item_id: str | None = None
        audio_end: int | None = None
        content_index = 0
        item = self._audio.get(self._current_audio) if self._current_audio else None
        if item is not None and server_cancelled is not None and item.response_id != resp_id:
            item = None  # the server cancelled another response than the one playing
        if item is not None and not item.truncated:
            heard = self.heard_ms(item.item_id, now)
            # More audio may still come for a response we are cancelling now.
            still_coming = item.response_id == resp_id and server_cancelled is None
            if still_coming or heard < item.received_ms:
                item.truncated = True
                item_id, content_index = item.item_id, item.content_index
                self._abandon_response(item.response_id)
                if not self.sideband:
                    audio_end = int(heard)  # floor: never past what was received
                    self._outbox.append(
                        ConversationItemTruncateEvent(
                            item_id=item.item_id,
                            content_index=item.content_index,
                            audio_end_ms=audio_end,
                        )
                    )
        clear = cancelled or self._sideband_playing or item_id is not None
        if self.sideband and server_cancelled is None and clear:
            # WebRTC/SIP: the server plays the audio; clear its buffer (after the cancel).
            # (When the server cancels on its own it clears the buffer itself.)
            self._outbox.append(OutputAudioBufferClearEvent())
            self._sideband_playing = False
        elif not cancelled and item_id is None:
            return
        if resp_id is None and item is not None:
            resp_id = item.response_id
        self._emit(
            Interrupted(
                response_id=resp_id,
                item_id=item_id,
                audio_end_ms=audio_end,
                content_index=content_index,
                cancelled=cancelled,
                reason=reason,
                raw=raw,
            )
        )

    def _abandon_response(self, response_id: str) -> None:
        _remember(self._dropped, response_id)
        resp = self._responses.get(response_id)
        if resp is None or resp.interrupted:
            return
        resp.interrupted = True
        for call_id in resp.calls:
            call = self._calls[call_id]
            if not call.finished:
                call.finished = True
                call.skipped = True
                self._cancels.append(call_id)
        self._maybe_flush_calls(response_id)

    # -- tools

    def _on_function_call(
        self,
        call_id: str,
        name: str,
        arguments: str,
        response_id: str,
        item_id: str | None,
        raw: ServerEvent,
    ) -> None:
        if call_id in self._calls:
            return  # arguments.done and output_item.done both announce the call
        resp = self._responses.setdefault(response_id, _Response(response_id, in_progress=False))
        call = _Call(call_id, name, response_id, order=len(self._calls))
        self._calls[call_id] = call
        resp.calls.append(call_id)
        if resp.interrupted:
            call.finished = call.skipped = True
            return
        tool = self._registry.get(name)
        if tool is None:
            if name in self._manual:
                self._emit(ToolCall(call_id, name, arguments, arguments, response_id, item_id, raw))
                return
            self._finish_call(call, self._registry.unknown_tool_output(name), True)
            return
        try:
            args = tool.prepare_call(arguments)
        except ToolError as exc:
            self._finish_call(call, error_output(str(exc)), True)
            return
        value = args[0] if args else None
        self._emit(ToolCall(call_id, name, value, arguments, response_id, item_id, raw))
        self._runs.append(ToolRun(call_id, name, tool, args, response_id))

    def _finish_call(self, call: _Call, output: str, is_error: bool) -> None:
        call.finished = True
        call.output = output
        self._emit(ToolResult(call.call_id, call.name, output, is_error))
        self._maybe_flush_calls(call.response_id)

    def _maybe_flush_calls(self, response_id: str) -> None:
        resp = self._responses.get(response_id)
        if resp is None or resp.in_progress or not resp.calls:
            return
        calls = [self._calls[c] for c in resp.calls]
        if not all(c.finished for c in calls):
            return
        answered = False
        if not resp.interrupted:
            for c in sorted(calls, key=lambda c: c.order):
                if c.output is not None and not c.skipped:
                    self._outbox.append(
                        ConversationItemCreateEvent(
                            item=FunctionCallOutputItem(call_id=c.call_id, output=c.output)
                        )
                    )
                    answered = True
        for c in calls:
            del self._calls[c.call_id]
        resp.calls.clear()
        self._responses.pop(response_id, None)
        if answered:
            self._request_response()
        else:
            self._flush_response_request()

    # -- MCP

    def _on_approval_request(self, item: McpApprovalRequestItem, raw: ServerEvent) -> None:
        if item.id in self._approval_seen:
            return
        _remember(self._approval_seen, item.id)
        request = McpApprovalRequest(
            id=item.id,
            server_label=item.server_label,
            name=item.name,
            arguments=item.arguments,
            item=item,
            raw=raw,
        )
        self._emit(request)
        if self.config.mcp_approval is not None:
            self._approvals.append(ApprovalJob(request, self.config.mcp_approval))

    def _answer_approval(
        self, request: McpApprovalRequest | str, approve: bool, reason: str | None
    ) -> None:
        request_id = request.id if isinstance(request, McpApprovalRequest) else request
        item = McpApprovalResponseItem(
            id=self._next_id("mcpr"),
            approval_request_id=request_id,
            approve=approve,
            reason=msgspec.UNSET if reason is None else reason,
        )
        self.send_item(item)
        self._request_response()

    # -- per-event handlers

    def _on_session_created(self, ev: SessionCreatedEvent, now: float) -> None:
        self._emit(SessionReady(ev.session, ev))

    def _on_session_updated(self, ev: SessionUpdatedEvent, now: float) -> None:
        self._emit(SessionUpdated(ev.session, ev))

    def _on_speech_started(self, ev: InputAudioBufferSpeechStartedEvent, now: float) -> None:
        self._emit(SpeechStarted(ev.item_id, ev.audio_start_ms, ev))
        if self.config.auto_barge_in:
            self._interrupt(now, "speech_started", ev)

    def _on_speech_stopped(self, ev: InputAudioBufferSpeechStoppedEvent, now: float) -> None:
        self._emit(SpeechStopped(ev.item_id, ev.audio_end_ms, ev))

    def _on_committed(self, ev: InputAudioBufferCommittedEvent, now: float) -> None:
        self._input_bytes = 0
        self._emit(InputAudioCommitted(ev.item_id, ev))

    def _on_input_delta(
        self, ev: ConversationItemInputAudioTranscriptionDeltaEvent, now: float
    ) -> None:
        delta = _opt(ev.delta) or ""
        self._emit(InputTranscriptDelta(ev.item_id, delta, _opt(ev.content_index) or 0, ev))

    def _on_input_done(
        self, ev: ConversationItemInputAudioTranscriptionCompletedEvent, now: float
    ) -> None:
        self._emit(InputTranscriptDone(ev.item_id, ev.transcript, ev.content_index, ev))

    def _on_input_failed(
        self, ev: ConversationItemInputAudioTranscriptionFailedEvent, now: float
    ) -> None:
        err = ev.error
        self._emit(
            Error(
                message=_opt(getattr(err, "message", None)) or "input transcription failed",
                type=_opt(getattr(err, "type", None)),
                code=_opt(getattr(err, "code", None)),
                param=_opt(getattr(err, "param", None)),
                raw=ev,
            )
        )

    def _on_response_created(self, ev: ResponseCreatedEvent, now: float) -> None:
        rid = _opt(ev.response.id)
        if rid is None:
            self._emit(RawEvent(ev))
            return
        self._responses.setdefault(rid, _Response(rid)).in_progress = True
        if rid not in self._in_progress:
            self._in_progress.append(rid)
        self._emit(ResponseStarted(rid, ev))

    def _on_audio_delta(self, ev: ResponseOutputAudioDeltaEvent, now: float) -> None:
        if ev.response_id in self._dropped:
            return  # audio of an interrupted response: the user must not hear it
        item = self._audio.get(ev.item_id)
        if item is None:
            item = _AudioItem(
                ev.item_id, ev.response_id, ev.content_index, self.config.output_format
            )
            _remember(self._audio, ev.item_id, item)
        self._current_audio = ev.item_id
        if item.first_at is None:
            item.first_at = now
        start_ms = item.received_ms
        item.received_bytes += len(ev.delta)
        data = item.carry + ev.delta
        if item.fmt == "pcm":
            usable = len(data) - (len(data) % 2)  # a sample may straddle two deltas
            item.carry = data[usable:]
            pcm = np.frombuffer(data[:usable], dtype="<i2").astype(np.int16)
        elif item.fmt == "pcmu":
            pcm = _audio.ulaw_decode(data)
        else:
            pcm = _audio.alaw_decode(data)
        self._emit(
            AudioDelta(
                pcm=pcm,
                sample_rate=_native_rate(item.fmt),
                response_id=ev.response_id,
                item_id=ev.item_id,
                content_index=ev.content_index,
                audio_start_ms=start_ms,
                raw=ev,
            )
        )

    def _on_audio_done(self, ev: ResponseOutputAudioDoneEvent, now: float) -> None:
        if ev.response_id not in self._dropped:
            self._emit(AudioDone(ev.response_id, ev.item_id, ev.content_index, ev))

    def _on_transcript_delta(
        self, ev: ResponseOutputAudioTranscriptDeltaEvent | ResponseOutputTextDeltaEvent, now: float
    ) -> None:
        if ev.response_id in self._dropped:
            return
        modality: Literal["audio", "text"] = (
            "text" if isinstance(ev, ResponseOutputTextDeltaEvent) else "audio"
        )
        self._emit(
            TranscriptDelta(ev.delta, ev.response_id, ev.item_id, ev.content_index, modality, ev)
        )

    def _on_transcript_done(
        self, ev: ResponseOutputAudioTranscriptDoneEvent | ResponseOutputTextDoneEvent, now: float
    ) -> None:
        if ev.response_id in self._dropped:
            return
        modality: Literal["audio", "text"]
        if isinstance(ev, ResponseOutputTextDoneEvent):
            text, modality = ev.text, "text"
        else:
            text, modality = ev.transcript, "audio"
        self._emit(TranscriptDone(text, ev.response_id, ev.item_id, ev.content_index, modality, ev))

    def _on_args_done(self, ev: ResponseFunctionCallArgumentsDoneEvent, now: float) -> None:
        self._on_function_call(ev.call_id, ev.name, ev.arguments, ev.response_id, ev.item_id, ev)

    def _on_output_item_done(self, ev: ResponseOutputItemDoneEvent, now: float) -> None:
        item = ev.item
        if isinstance(item, FunctionCallItem):
            call_id = _opt(item.call_id) or _opt(item.id)
            if call_id is not None:
                self._on_function_call(
                    call_id, item.name, item.arguments, ev.response_id, _opt(item.id), ev
                )
                return
        elif isinstance(item, McpCallItem):
            err = _opt(item.error)
            self._emit(
                McpCall(
                    item.id,
                    "done",
                    name=item.name,
                    arguments=item.arguments,
                    output=_opt(item.output),
                    error=None if err is None else str(_opt(getattr(err, "message", None)) or err),
                    raw=ev,
                )
            )
            return
        elif isinstance(item, McpApprovalRequestItem):
            self._on_approval_request(item, ev)
            return
        self._emit(RawEvent(ev))

    def _on_item_added_or_done(
        self, ev: ConversationItemAddedEvent | ConversationItemDoneEvent, now: float
    ) -> None:
        if isinstance(ev.item, McpApprovalRequestItem):
            self._on_approval_request(ev.item, ev)
        else:
            self._emit(RawEvent(ev))

    def _on_response_done(self, ev: ResponseDoneEvent, now: float) -> None:
        r = ev.response
        rid = _opt(r.id) or ""
        status = _opt(r.status) or "completed"
        details = _opt(r.status_details)
        reason = _opt(getattr(details, "reason", None)) if details is not None else None
        resp = self._responses.setdefault(rid, _Response(rid))
        resp.in_progress = False
        if rid in self._in_progress:
            self._in_progress.remove(rid)
        if status == "cancelled" and not resp.interrupted:
            # The server cancelled on its own (interrupt_response / turn_detected):
            # the model's memory must still match what the user heard.
            self._interrupt(now, "server", ev, server_cancelled=rid)
        self._emit(ResponseDone(rid, status, reason, _opt(r.usage), r, ev))
        self._maybe_flush_calls(rid)
        self._flush_response_request()
        if not resp.calls:
            self._responses.pop(rid, None)

    def _on_error(self, ev: ErrorEvent, now: float) -> None:
        err = ev.error
        event_id = _opt(err.event_id)
        code = _opt(err.code)
        if event_id is not None and event_id in self._cancel_ids:
            # Our response.cancel lost a race with response.done: harmless.
            self._cancel_ids.remove(event_id)
            return
        if event_id is None and code == "response_cancel_not_active" and self._cancel_ids:
            self._cancel_ids.popleft()
            return
        self._emit(
            Error(
                message=err.message,
                type=_opt(err.type),
                code=code,
                param=_opt(err.param),
                event_id=event_id,
                error=err,
                raw=ev,
            )
        )

    def _on_mcp_list(
        self,
        ev: McpListToolsInProgressEvent | McpListToolsCompletedEvent | McpListToolsFailedEvent,
        now: float,
    ) -> None:
        status: Literal["in_progress", "completed", "failed"]
        if isinstance(ev, McpListToolsInProgressEvent):
            status = "in_progress"
        elif isinstance(ev, McpListToolsCompletedEvent):
            status = "completed"
        else:
            status = "failed"
        self._emit(McpListTools(ev.item_id, status, ev))

    def _on_mcp_call(
        self,
        ev: ResponseMcpCallArgumentsDoneEvent
        | ResponseMcpCallInProgressEvent
        | ResponseMcpCallCompletedEvent
        | ResponseMcpCallFailedEvent,
        now: float,
    ) -> None:
        if isinstance(ev, ResponseMcpCallArgumentsDoneEvent):
            self._emit(McpCall(ev.item_id, "arguments_done", arguments=ev.arguments, raw=ev))
            return
        status = {
            ResponseMcpCallInProgressEvent: "in_progress",
            ResponseMcpCallCompletedEvent: "completed",
            ResponseMcpCallFailedEvent: "failed",
        }[type(ev)]
        self._emit(McpCall(ev.item_id, status, raw=ev))

    def _on_malformed(self, ev: MalformedServerEvent, now: float) -> None:
        # A message the codec rejected: report it, keep the session going.
        self._emit(Error(message=str(ev.error), exception=ev.error))

    def _on_output_buffer(
        self,
        ev: OutputAudioBufferStartedEvent
        | OutputAudioBufferStoppedEvent
        | OutputAudioBufferClearedEvent,
        now: float,
    ) -> None:
        self._sideband_playing = isinstance(ev, OutputAudioBufferStartedEvent)
        self._emit(RawEvent(ev))


_HANDLERS: dict[type[Any], Callable[[VoiceSession, Any, float], None]] = {
    SessionCreatedEvent: VoiceSession._on_session_created,
    SessionUpdatedEvent: VoiceSession._on_session_updated,
    InputAudioBufferSpeechStartedEvent: VoiceSession._on_speech_started,
    InputAudioBufferSpeechStoppedEvent: VoiceSession._on_speech_stopped,
    InputAudioBufferCommittedEvent: VoiceSession._on_committed,
    ConversationItemInputAudioTranscriptionDeltaEvent: VoiceSession._on_input_delta,
    ConversationItemInputAudioTranscriptionCompletedEvent: VoiceSession._on_input_done,
    ConversationItemInputAudioTranscriptionFailedEvent: VoiceSession._on_input_failed,
    ResponseCreatedEvent: VoiceSession._on_response_created,
    ResponseOutputAudioDeltaEvent: VoiceSession._on_audio_delta,
    ResponseOutputAudioDoneEvent: VoiceSession._on_audio_done,
    ResponseOutputAudioTranscriptDeltaEvent: VoiceSession._on_transcript_delta,
    ResponseOutputTextDeltaEvent: VoiceSession._on_transcript_delta,
    ResponseOutputAudioTranscriptDoneEvent: VoiceSession._on_transcript_done,
    ResponseOutputTextDoneEvent: VoiceSession._on_transcript_done,
    ResponseFunctionCallArgumentsDoneEvent: VoiceSession._on_args_done,
    ResponseOutputItemDoneEvent: VoiceSession._on_output_item_done,
    ConversationItemAddedEvent: VoiceSession._on_item_added_or_done,
    ConversationItemDoneEvent: VoiceSession._on_item_added_or_done,
    ResponseDoneEvent: VoiceSession._on_response_done,
    ErrorEvent: VoiceSession._on_error,
    McpListToolsInProgressEvent: VoiceSession._on_mcp_list,
    McpListToolsCompletedEvent: VoiceSession._on_mcp_list,
    McpListToolsFailedEvent: VoiceSession._on_mcp_list,
    ResponseMcpCallArgumentsDoneEvent: VoiceSession._on_mcp_call,
    ResponseMcpCallInProgressEvent: VoiceSession._on_mcp_call,
    ResponseMcpCallCompletedEvent: VoiceSession._on_mcp_call,
    ResponseMcpCallFailedEvent: VoiceSession._on_mcp_call,
    OutputAudioBufferStartedEvent: VoiceSession._on_output_buffer,
    OutputAudioBufferStoppedEvent: VoiceSession._on_output_buffer,
    OutputAudioBufferClearedEvent: VoiceSession._on_output_buffer,
    MalformedServerEvent: VoiceSession._on_malformed,
}


def _to_int16(samples: npt.NDArray[Any] | bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    if isinstance(samples, (bytes, bytearray, memoryview)):
        raw = bytes(samples)
        if len(raw) % 2:
            raise ValueError("PCM16 bytes must have an even length")
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise ValueError("audio must be mono: a 1-D array of samples")
    if arr.dtype == np.int16:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return _audio.float32_to_pcm16(arr.astype(np.float32, copy=False))
    raise TypeError(f"unsupported sample dtype {arr.dtype}; use int16 or float32")


class ResponseBuilder:
    """A ``response.create`` built step by step (the seed's ``ResponseBuilder``).

    >>> ev = (ResponseBuilder().output_text().instructions("Be concise.")
    ...       .input_text("Summarize this.").build())
    >>> ev.response.output_modalities, ev.response.instructions
    (['text'], 'Be concise.')

    ``await builder.send(session)`` sends it on a connected voice session.
    ``out_of_band()`` makes a response outside the default conversation
    (``conversation: "none"``), told apart by ``metadata``.
    """

    def __init__(self) -> None:
        self._kw: dict[str, Any] = {}
        self._input: list[Any] | None = None

    def output_text(self) -> ResponseBuilder:
        self._kw["output_modalities"] = ["text"]
        return self

    def output_audio(self) -> ResponseBuilder:
        self._kw["output_modalities"] = ["audio"]
        return self

    def instructions(self, text: str) -> ResponseBuilder:
        self._kw["instructions"] = text
        return self

    def input_text(self, text: str, *, role: Literal["user", "system"] = "user") -> ResponseBuilder:
        """Add a message to this response's input (the response then sees only its input)."""
        return self.input_item(MessageItem(role=role, content=[InputTextContent(text=text)]))

    def input_item(self, item: ConversationItem | ItemReference) -> ResponseBuilder:
        if self._input is None:
            self._input = []
        self._input.append(item)
        return self

    def item_reference(self, item_id: str) -> ResponseBuilder:
        """Refer to an existing conversation item by id."""
        return self.input_item(ItemReference(id=item_id))

    def empty_input(self) -> ResponseBuilder:
        """A response with an empty context (``input: []``)."""
        self._input = []
        return self

    def conversation(self, conversation: str) -> ResponseBuilder:
        self._kw["conversation"] = conversation
        return self

    def out_of_band(self) -> ResponseBuilder:
        """Do not write this response into the default conversation."""
        return self.conversation("none")

    def metadata(self, data: dict[str, str] | None = None, **kv: str) -> ResponseBuilder:
        self._kw["metadata"] = {**(data or {}), **kv}
        return self

    def voice(self, voice: str) -> ResponseBuilder:
        self._kw["voice"] = voice
        return self

    def max_output_tokens(self, n: int | Literal["inf"]) -> ResponseBuilder:
        self._kw["max_output_tokens"] = n
        return self

    def tools(self, tools: list[Any]) -> ResponseBuilder:
        """Override the session's tools for this response (typed tools allowed)."""
        out: list[Any] = []
        for t in tools:
            if isinstance(t, TypedTool):
                out.append(t.to_function_tool())
            elif isinstance(t, (FunctionTool, McpTool)):
                out.append(t)
            else:  # a plain function: make it a typed tool for its schema
                out.append(_make_tool(t).to_function_tool())
        self._kw["tools"] = out
        return self

    def tool_choice(self, choice: Any) -> ResponseBuilder:
        self._kw["tool_choice"] = choice
        return self

    def params(self) -> ResponseCreateParams:
        """The ``response`` object."""
        kw = dict(self._kw)
        voice = kw.pop("voice", None)
        if voice is not None:
            kw["audio"] = ResponseAudioConfig(output=ResponseAudioOutput(voice=voice))
        if self._input is not None:
            kw["input"] = list(self._input)
        return ResponseCreateParams(**kw)

    def build(self, *, event_id: str | None = None) -> ResponseCreateEvent:
        """The validated ``response.create`` event."""
        event = ResponseCreateEvent(
            response=self.params(), event_id=msgspec.UNSET if event_id is None else event_id
        )
        validate_client_event(event)
        return event

    async def send(self, session: _CreatesResponses) -> Any:
        """Send on a connected session (anything with ``async create_response``)."""
        return await session.create_response(self)


def iter_events(session: VoiceSession) -> Iterator[VoiceEvent]:
    """Drain the pending voice events (convenience for sans-IO users)."""
    while (ev := session.next_voice_event()) is not None:
        yield ev
