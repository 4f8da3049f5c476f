"""The voice session: a sans-IO state machine over the Realtime protocol.

:class:`VoiceSession` is fed server events (with the current time as a float,
since the core never reads a clock) and returns what to do about each, as
:class:`VoiceActions`: client events to send, typed voice events for the app,
tools to start or cancel, approval callbacks to run. It does barge-in (cancel +
truncate at what the user heard), the typed-tool round trip, and MCP approvals.
The async layer only moves bytes and runs tools; all decisions are made here.

>>> from oairt_core import codec
>>> s = VoiceSession(VoiceConfig(voice="alloy"))
>>> s.start()
>>> [type(e).__name__ for e in s.events_to_send()]
['SessionUpdateEvent']
>>> ev = codec.decode_server_event(b'{"type":"response.created","event_id":"e1",'
...     b'"response":{"id":"resp_1","status":"in_progress","output":[]}}')
>>> s.feed(ev, now=0.0).deliver
[ResponseStarted(response_id='resp_1')]
>>> s.barge_in(now=0.5)
[Interrupted(response_id='resp_1', item_id=None, audio_end_ms=None, content_index=0, \
cancelled=True, reason='manual')]
>>> [type(e).__name__ for e in s.events_to_send()]
['ResponseCancelEvent']

The session owns small parts, each a class with its own state and tests:
:class:`~oairt_core._conversation.SessionMirror` (``session.conversation``: the
conversation and the responses in flight, shareable with ``ReconnectState``),
:class:`~oairt_core._playback.Playback` (what was heard, for barge-in),
:class:`~oairt_core._tool_calls.ToolCallTracker` (the tool round trip),
:class:`~oairt_core._mcp.McpApprovals`, and :class:`~oairt_core._actions.Outbox`
(the pending outputs). This module routes each server event to them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from ._actions import ApprovalJob, Outbox, ToolRun, VoiceActions
from ._config import RealtimeBuilder, VoiceConfig
from ._conversation import SessionMirror
from ._log import get_logger
from ._mcp import McpApprovals
from ._playback import Playback
from ._redact import Redactor, redact_text
from ._response_builder import ResponseBuilder
from ._tool_calls import ToolCallTracker
from ._validation import validate_client_event
from ._voice_audio import (
    DEFAULT_MAX_APPEND_BYTES,
    MIN_COMMIT_MS,
    InputEncoder,
    bytes_per_ms,
    native_rate,
    split_appends,
)
from ._voice_events import (
    AudioDelta,
    AudioDone,
    Error,
    InputAudioCommitted,
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
    TranscriptDelta,
    TranscriptDone,
    VoiceEvent,
)
from .connection import IncomingEvent, MalformedServerEvent
from .errors import LocalProtocolError
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
    InputTextContent,
    McpApprovalRequestItem,
    McpCallItem,
    MessageItem,
    RealtimeSessionConfig,
    ResponseCreateParams,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["ApprovalJob", "ToolRun", "VoiceActions", "VoiceSession", "iter_events"]

log = get_logger("voice")

# Remember this many of our own response.cancel event ids, to recognise the
# server's "no active response" error when a cancel raced a response.done.
CANCEL_MEMORY = 64


def _opt(value: Any) -> Any:
    """``None`` for a field the server did not send."""
    return None if value is msgspec.UNSET else value


class VoiceSession:
    """The voice state machine (h11 style: no I/O, time passed in).

    Input: :meth:`feed` with each server event; it returns :class:`VoiceActions`
    (everything to do about it). The app's actions: :meth:`send_pcm16`,
    :meth:`commit`, :meth:`barge_in`, :meth:`mark_played`,
    :meth:`create_response`, :meth:`update`, :meth:`approve`/:meth:`deny`,
    :meth:`tool_finished`; their outputs are collected with :meth:`drain`.
    :meth:`feed` never raises: a server value the session cannot act on becomes
    a :class:`~oairt_core._voice_events.ProtocolViolation` event.

    ``sideband=True`` is for a connection joined with ``call_id`` (WebRTC/SIP):
    barge-in then clears the server's output buffer instead of truncating.
    ``conversation`` is the conversation tracker to use (a new one by default);
    pass the ``ReconnectState``'s mirror to share one (the session feeds it every
    server event; feeding the same event object twice counts once).

    >>> s = VoiceSession(VoiceConfig())
    >>> s.drain()
    VoiceActions(send=[], deliver=[], start=[], cancel=[], approvals=[])
    """

    def __init__(
        self,
        config: VoiceConfig | RealtimeBuilder,
        *,
        sideband: bool = False,
        conversation: SessionMirror | None = None,
    ) -> None:
        if isinstance(config, RealtimeBuilder):
            config = config.build()
        config.to_session_config()  # fail before connecting, with the rule named
        self.config: VoiceConfig = config
        self.sideband = sideband
        self.conversation = conversation if conversation is not None else SessionMirror()
        self._out = Outbox()
        self.playback = Playback()
        self.tools = ToolCallTracker(
            self._out,
            self.conversation,
            config.registry(),
            config.manual_function_names(),
            auto_response=config.auto_tool_response,
        )
        self.mcp = McpApprovals(self._out, self.tools, self.conversation, config.mcp_approval)
        self._cancel_ids: deque[str] = deque(maxlen=CANCEL_MEMORY)
        self._input_bytes = 0
        self._counter = 0
        self.last_raw: IncomingEvent | None = None
        # One resampler stream for the microphone: per-chunk resampling clicks at every edge.
        self._input_encoder = InputEncoder()

    # ------------------------------------------------------------------ outputs

    def drain(self) -> VoiceActions:
        """Take every pending output at once (the adapters' single call after each input)."""
        return self._out.drain()

    def events_to_send(self) -> list[ClientEvent]:
        """Client events produced so far, oldest first; the caller sends them in order."""
        out = list(self._out.send)
        self._out.send.clear()
        return out

    def next_voice_event(self) -> VoiceEvent | None:
        """The next voice event for the app, or ``None`` when there is none yet."""
        return self._out.deliver.popleft() if self._out.deliver else None

    def voice_events(self) -> list[VoiceEvent]:
        """All pending voice events at once."""
        out = list(self._out.deliver)
        self._out.deliver.clear()
        return out

    def tool_runs(self) -> list[ToolRun]:
        """Typed tools to start now (each in its own task)."""
        out = list(self._out.start)
        self._out.start.clear()
        return out

    def tools_to_cancel(self) -> list[str]:
        """``call_id``\\ s of running tools to cancel (their response was interrupted)."""
        out = list(self._out.cancel)
        self._out.cancel.clear()
        return out

    def approval_jobs(self) -> list[ApprovalJob]:
        """MCP approval requests to hand to the configured approval callback."""
        out = list(self._out.approvals)
        self._out.approvals.clear()
        return out

    # ------------------------------------------------------------------ server events in

    def feed(self, event: IncomingEvent, now: float) -> VoiceActions:
        """Feed one server event; returns everything the adapter must do about it.

        Never raises: whatever the server sent, the session reports it and goes on.
        """
        self.last_raw = event
        raw = None if isinstance(event, MalformedServerEvent) else event
        try:
            if raw is not None:
                self.conversation.server_event(raw)
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                handler(self, event, now)
            elif raw is not None:
                self._out.emit(RawEvent(raw))
        except Exception as exc:  # a server value no rule foresaw must not end the session
            log.error("unexpected error handling %s", type(event).__name__, exc_info=exc)
            self._out.violation(
                f"could not handle {type(event).__name__}: {type(exc).__name__}", exc, raw
            )
        return self.drain()

    # ------------------------------------------------------------------ audio in

    def send_pcm16(
        self,
        samples: npt.NDArray[Any] | bytes | bytearray | memoryview,
        *,
        sample_rate: int | None = None,
        max_chunk_bytes: int = DEFAULT_MAX_APPEND_BYTES,
    ) -> list[InputAudioBufferAppendEvent]:
        """``input_audio_buffer.append`` events carrying ``samples``.

        ``samples`` is a numpy ``int16`` array, a ``float32``/``float64`` array in
        [-1, 1], or PCM16 little-endian bytes; mono (else
        :class:`~oairt_core.errors.InvalidArgument` / ``InvalidArgumentType``).
        ``sample_rate`` defaults to the input format's rate (24 kHz for ``pcm``,
        8 kHz for G.711) and other rates are resampled, as one stream across calls
        (so the resampler holds back a few tens of ms until more audio or
        :meth:`commit` / :meth:`flush_input` comes). G.711 input formats are
        encoded here. Chunks hold at most ``max_chunk_bytes`` of audio. The
        events are returned (not queued) so that large audio never sits in the outbox.
        """
        data = self._input_encoder.encode(samples, self.config.input_format, sample_rate)
        return self.send_encoded(data, max_chunk_bytes=max_chunk_bytes)

    def send_encoded(
        self, data: bytes, *, max_chunk_bytes: int = DEFAULT_MAX_APPEND_BYTES
    ) -> list[InputAudioBufferAppendEvent]:
        """Append events for audio already in the session's input format."""
        events = split_appends(data, max_chunk_bytes=max_chunk_bytes)
        self._input_bytes += len(data)
        return events

    def flush_input(
        self, *, max_chunk_bytes: int = DEFAULT_MAX_APPEND_BYTES
    ) -> list[InputAudioBufferAppendEvent]:
        """End the microphone stream: append events for the resampler's held-back tail.

        :meth:`commit` does this itself; call it when a stream ends without a commit
        (server VAD). Empty when nothing is held (no resampling, or already flushed).
        """
        return self.send_encoded(self._input_encoder.flush(), max_chunk_bytes=max_chunk_bytes)

    def commit(self, *, respond: bool = True) -> None:
        """Push-to-talk: commit the input buffer (and ask for a reply if ``respond``).

        The resampler's held-back tail is appended first (:meth:`flush_input`).
        Raises :class:`LocalProtocolError` in a session without VAD when less
        than 100 ms was appended since the last commit (the server would refuse).
        """
        self._out.send.extend(self.flush_input())
        if self.config.turn_detection is None:
            # Without VAD we know the whole buffer; the server rejects under 100 ms.
            ms = self._input_bytes / bytes_per_ms(self.config.input_format)
            if ms < MIN_COMMIT_MS:
                raise LocalProtocolError(
                    f"input_audio_buffer.commit: at least {MIN_COMMIT_MS} ms of audio is "
                    f"needed, the buffer holds {ms:.1f} ms"
                )
        self._out.send.append(InputAudioBufferCommitEvent())
        self._input_bytes = 0
        if respond and self.config.kind == "realtime":
            self._out.send.append(ResponseCreateEvent())

    def clear_input(self) -> None:
        """Drop the audio appended since the last commit."""
        self._input_encoder.reset()
        self._out.send.append(InputAudioBufferClearEvent())
        self._input_bytes = 0

    # ------------------------------------------------------------------ responses, config

    def start(self) -> None:
        """Queue the ``session.update`` that applies the configuration."""
        event = self.config.session_update()
        if self.sideband and isinstance(event.session, RealtimeSessionConfig):
            # The call was set up (and its model chosen) when it was accepted.
            session = msgspec.structs.replace(event.session, model=msgspec.UNSET)
            event = SessionUpdateEvent(session=session)
        self._out.send.append(event)

    def create_response(
        self, response: ResponseBuilder | ResponseCreateParams | None = None
    ) -> None:
        """Queue a ``response.create`` (validated; raises ``InvalidClientEvent``)."""
        if isinstance(response, ResponseBuilder):
            event = response.build()
        else:
            event = ResponseCreateEvent(response=msgspec.UNSET if response is None else response)
            validate_client_event(event)
        self._out.send.append(event)

    def send_item(self, item: ConversationItem, *, previous_item_id: str | None = None) -> None:
        """Queue a ``conversation.item.create`` (validated; raises ``InvalidClientEvent``)."""
        event = ConversationItemCreateEvent(
            item=item,
            previous_item_id=msgspec.UNSET if previous_item_id is None else previous_item_id,
        )
        validate_client_event(event)
        self._out.send.append(event)

    def send_text(self, text: str, *, respond: bool = True) -> None:
        """Add a user text message (and ask for a reply if ``respond``)."""
        self.send_item(MessageItem(role="user", content=[InputTextContent(text=text)]))
        if respond:
            self._out.send.append(ResponseCreateEvent())

    def update(self, **changes: Any) -> SessionUpdateEvent | None:
        """Re-configure the live session; queues a ``session.update`` of the changed fields.

        Accepts the :class:`VoiceConfig` keywords. Local options
        (``auto_barge_in``, ``auto_tool_response``, ``mcp_approval``) change
        without sending anything.
        """
        new = self.config.replace(**changes)
        event = self.config.diff(new)
        self.config = new
        self.tools.registry = new.registry()
        self.tools.manual = new.manual_function_names()
        self.tools.auto_response = new.auto_tool_response
        self.mcp.callback = new.mcp_approval
        if event is not None:
            self._out.send.append(event)
        return event

    # ------------------------------------------------------------------ tools, approvals

    def tool_finished(
        self, call_id: str, output: Any = None, *, error: BaseException | None = None
    ) -> None:
        """Report the end of a tool call (result ``output`` or the ``error`` raised).

        An ``error`` is logged at ERROR with its traceback on the ``oairt.tools``
        logger; the model gets its type and message, bounded. Unknown or
        already-answered ``call_id``\\ s are ignored (a tool cancelled by a
        barge-in may still report).
        """
        self.tools.tool_finished(call_id, output, error=error)

    def approve(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Approve an MCP tool call (``mcp_approval_response`` with ``approve: true``)."""
        self.mcp.approve(request, reason)

    def deny(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Refuse an MCP tool call."""
        self.mcp.deny(request, reason)

    def approval_failed(self, request: McpApprovalRequest, error: BaseException) -> None:
        """The approval callback raised: deny (fail closed) and report an ``Error``."""
        self.mcp.failed(request, error)

    def connection_lost(self, error: BaseException) -> None:
        """The connection ended abnormally: report it as an ``Error`` event."""
        self._out.emit(Error(message=redact_text(str(error)), exception=error))

    def connection_replaced(self) -> None:
        """A new connection replaced a dropped one (reconnection).

        Playback and barge-in accounting start afresh (nothing of the old
        connection plays on), and tool batches stop waiting for a
        ``response.done`` that will never come: finished outputs go out on the
        new connection. Call it after the shared conversation's
        ``new_connection()``.
        """
        self.playback.reset()
        self._cancel_ids.clear()
        self.tools.connection_replaced()
        self._input_bytes = 0  # the new server session's input buffer starts empty

    # ------------------------------------------------------------------ playback, barge-in

    def is_discarded(self, event: VoiceEvent) -> bool:
        """True for audio/transcript events of a response that was interrupted.

        Adapters check this when handing out buffered events so that audio queued
        before a barge-in is dropped instead of played.
        """
        if isinstance(event, (AudioDelta, AudioDone, TranscriptDelta, TranscriptDone)):
            return self.playback.is_dropped(event.response_id)
        return False

    @property
    def active_response_id(self) -> str | None:
        """The response a barge-in would cancel (``None`` when none is in progress).

        The one whose audio is playing if it is still in progress, else the newest.
        """
        in_flight = self.conversation.responses_in_flight
        item = self.playback.current_item()
        if item is not None and item.response_id in in_flight:
            return item.response_id
        return self.conversation.newest_in_flight()

    def mark_played(self, item_id: str, ms: float) -> None:
        """The app has played ``ms`` milliseconds of ``item_id``'s audio to the user.

        ``ms`` must be finite and >= 0 (else :class:`~oairt_core.errors.InvalidArgument`).
        """
        self.playback.mark_played(item_id, ms)

    def played_until(self, ms: float) -> None:
        """:meth:`mark_played` for the item currently receiving audio."""
        self.playback.played_until(ms)

    def received_ms(self, item_id: str) -> float:
        """Milliseconds of audio received so far for ``item_id``."""
        return self.playback.received_ms(item_id)

    def heard_ms(self, item_id: str, now: float) -> float:
        """What the user has heard of ``item_id`` (never more than was received)."""
        return self.playback.heard_ms(item_id, now)

    def barge_in(self, now: float) -> list[VoiceEvent]:
        """Interrupt the assistant now (the user started talking).

        Cancels the response if still in progress, truncates the audio item at
        what the user heard (or clears the server's output buffer on a sideband
        connection), drops later audio of that response, cancels its running
        tools. Returns the ``Interrupted`` event (empty when nothing was
        playing or in progress); it is returned, not queued for :meth:`drain`
        (voice events queued before stay queued).
        """
        before = len(self._out.deliver)
        self._interrupt(now, "manual", None)
        produced: list[VoiceEvent] = []
        while len(self._out.deliver) > before:
            produced.append(self._out.deliver.pop())
        produced.reverse()
        return produced

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_oairt_{self._counter}"

    def _abandon(self, response_id: str) -> None:
        self.playback.drop(response_id)
        self.tools.abandon(response_id)

    def _interrupt(
        self,
        now: float,
        reason: Literal["manual", "speech_started", "server"],
        raw: ServerEvent | None,
        server_cancelled: str | None = None,
    ) -> None:
        playback = self.playback
        resp_id = server_cancelled if server_cancelled is not None else self.active_response_id
        cancelled = False
        if resp_id is not None and server_cancelled is None:
            in_flight = resp_id in self.conversation.responses_in_flight
            if in_flight and not playback.is_dropped(resp_id):
                event_id = self._next_id("evt_cancel")
                cancel = ResponseCancelEvent(event_id=event_id, response_id=resp_id)
                if self._out.queue_checked(cancel, raw, "response.cancel"):
                    self._cancel_ids.append(event_id)
                    cancelled = True
        if resp_id is not None:
            self._abandon(resp_id)

        item_id: str | None = None
        audio_end: int | None = None
        content_index = 0
        item = playback.current_item()
        if item is not None and server_cancelled is not None and item.response_id != resp_id:
            item = None  # the server cancelled another response than the one playing
        if item is not None and not item.truncated:
            heard = playback.heard_ms(item.item_id, now)
            # More audio may still come for a response we are cancelling now.
            still_coming = item.response_id == resp_id and server_cancelled is None
            if still_coming or heard < item.received_ms:
                item.truncated = True
                item_id, content_index = item.item_id, item.content_index
                self._abandon(item.response_id)
                if not self.sideband:
                    end = int(heard)  # floor: never past what was received
                    truncate = ConversationItemTruncateEvent(
                        item_id=item.item_id, content_index=item.content_index, audio_end_ms=end
                    )
                    if self._out.queue_checked(truncate, raw, "conversation.item.truncate"):
                        audio_end = end
        clear = cancelled or playback.sideband_playing or item_id is not None
        if self.sideband and server_cancelled is None and clear:
            # WebRTC/SIP: the server plays the audio; clear its buffer (after the cancel).
            # (When the server cancels on its own it clears the buffer itself.)
            self._out.send.append(OutputAudioBufferClearEvent())
            playback.sideband_playing = False
        elif not cancelled and item_id is None:
            return
        if resp_id is None and item is not None:
            resp_id = item.response_id
        self._out.emit(
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

    # ------------------------------------------------------------------ handlers

    def _on_session_created(self, ev: SessionCreatedEvent, now: float) -> None:
        self._out.emit(SessionReady(ev.session, ev))

    def _on_session_updated(self, ev: SessionUpdatedEvent, now: float) -> None:
        self._out.emit(SessionUpdated(ev.session, ev))

    def _on_speech_started(self, ev: InputAudioBufferSpeechStartedEvent, now: float) -> None:
        self._out.emit(SpeechStarted(ev.item_id, ev.audio_start_ms, ev))
        if self.config.auto_barge_in:
            self._interrupt(now, "speech_started", ev)

    def _on_speech_stopped(self, ev: InputAudioBufferSpeechStoppedEvent, now: float) -> None:
        self._out.emit(SpeechStopped(ev.item_id, ev.audio_end_ms, ev))

    def _on_committed(self, ev: InputAudioBufferCommittedEvent, now: float) -> None:
        self._input_bytes = 0
        self._out.emit(InputAudioCommitted(ev.item_id, ev))

    def _on_input_delta(
        self, ev: ConversationItemInputAudioTranscriptionDeltaEvent, now: float
    ) -> None:
        delta = _opt(ev.delta) or ""
        self._out.emit(InputTranscriptDelta(ev.item_id, delta, _opt(ev.content_index) or 0, ev))

    def _on_input_done(
        self, ev: ConversationItemInputAudioTranscriptionCompletedEvent, now: float
    ) -> None:
        self._out.emit(InputTranscriptDone(ev.item_id, ev.transcript, ev.content_index, ev))

    def _on_input_failed(
        self, ev: ConversationItemInputAudioTranscriptionFailedEvent, now: float
    ) -> None:
        err = ev.error
        self._out.emit(
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
        if not rid:
            self._out.emit(RawEvent(ev))
            return
        self.tools.response_created()
        self._out.emit(ResponseStarted(rid, ev))

    def _on_audio_delta(self, ev: ResponseOutputAudioDeltaEvent, now: float) -> None:
        if self.playback.is_dropped(ev.response_id):
            return  # audio of an interrupted response: the user must not hear it
        fmt = self.config.output_format
        pcm, start_ms = self.playback.on_delta(
            ev.item_id, ev.response_id, ev.content_index, fmt, ev.delta, now
        )
        self._out.emit(
            AudioDelta(
                pcm=pcm,
                sample_rate=native_rate(fmt),
                response_id=ev.response_id,
                item_id=ev.item_id,
                content_index=ev.content_index,
                audio_start_ms=start_ms,
                raw=ev,
            )
        )

    def _on_audio_done(self, ev: ResponseOutputAudioDoneEvent, now: float) -> None:
        if not self.playback.is_dropped(ev.response_id):
            self._out.emit(AudioDone(ev.response_id, ev.item_id, ev.content_index, ev))

    def _on_transcript_delta(
        self, ev: ResponseOutputAudioTranscriptDeltaEvent | ResponseOutputTextDeltaEvent, now: float
    ) -> None:
        if self.playback.is_dropped(ev.response_id):
            return
        modality: Literal["audio", "text"] = (
            "text" if isinstance(ev, ResponseOutputTextDeltaEvent) else "audio"
        )
        self._out.emit(
            TranscriptDelta(ev.delta, ev.response_id, ev.item_id, ev.content_index, modality, ev)
        )

    def _on_transcript_done(
        self, ev: ResponseOutputAudioTranscriptDoneEvent | ResponseOutputTextDoneEvent, now: float
    ) -> None:
        if self.playback.is_dropped(ev.response_id):
            return
        modality: Literal["audio", "text"]
        if isinstance(ev, ResponseOutputTextDoneEvent):
            text, modality = ev.text, "text"
        else:
            text, modality = ev.transcript, "audio"
        self._out.emit(
            TranscriptDone(text, ev.response_id, ev.item_id, ev.content_index, modality, ev)
        )

    def _on_args_done(self, ev: ResponseFunctionCallArgumentsDoneEvent, now: float) -> None:
        self.tools.on_call(ev.call_id, ev.name, ev.arguments, ev.response_id, ev.item_id, ev)

    def _on_output_item_done(self, ev: ResponseOutputItemDoneEvent, now: float) -> None:
        item = ev.item
        if isinstance(item, FunctionCallItem):
            call_id = _opt(item.call_id) or _opt(item.id)
            if call_id is not None:
                self.tools.on_call(
                    call_id, item.name, item.arguments, ev.response_id, _opt(item.id), ev
                )
                return
        elif isinstance(item, McpCallItem):
            err = _opt(item.error)
            self._out.emit(
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
            self.mcp.on_request(item, ev, ev.response_id)
            return
        self._out.emit(RawEvent(ev))

    def _on_item_added_or_done(
        self, ev: ConversationItemAddedEvent | ConversationItemDoneEvent, now: float
    ) -> None:
        if isinstance(ev.item, McpApprovalRequestItem):
            self.mcp.on_request(ev.item, ev, None)
        else:
            self._out.emit(RawEvent(ev))

    def _on_response_done(self, ev: ResponseDoneEvent, now: float) -> None:
        r = ev.response
        rid = _opt(r.id) or ""
        status = _opt(r.status) or "completed"
        details = _opt(r.status_details)
        reason = _opt(getattr(details, "reason", None)) if details is not None else None
        if status == "cancelled" and rid and not self.playback.is_dropped(rid):
            # The server cancelled on its own (interrupt_response / turn_detected):
            # the model's memory must still match what the user heard.
            self._interrupt(now, "server", ev, server_cancelled=rid)
        self._out.emit(ResponseDone(rid, status, reason, _opt(r.usage), r, ev))
        self.tools.response_done(rid)

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
        # Server text may echo the key back (a gateway quoting the request): redact the
        # known key in any encoding, not only the credential shapes.
        redactor = Redactor(self.config.api_key)
        self._out.emit(
            Error(
                message=redactor.text(err.message),
                type=redactor.optional(_opt(err.type)),
                code=redactor.optional(code),
                param=redactor.optional(_opt(err.param)),
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
        self._out.emit(McpListTools(ev.item_id, status, ev))

    def _on_mcp_call(
        self,
        ev: ResponseMcpCallArgumentsDoneEvent
        | ResponseMcpCallInProgressEvent
        | ResponseMcpCallCompletedEvent
        | ResponseMcpCallFailedEvent,
        now: float,
    ) -> None:
        if isinstance(ev, ResponseMcpCallArgumentsDoneEvent):
            self._out.emit(McpCall(ev.item_id, "arguments_done", arguments=ev.arguments, raw=ev))
            return
        status = {
            ResponseMcpCallInProgressEvent: "in_progress",
            ResponseMcpCallCompletedEvent: "completed",
            ResponseMcpCallFailedEvent: "failed",
        }[type(ev)]
        self._out.emit(McpCall(ev.item_id, status, raw=ev))

    def _on_malformed(self, ev: MalformedServerEvent, now: float) -> None:
        # A message the codec rejected: report it, keep the session going.
        self._out.emit(Error(message=str(ev.error), exception=ev.error))

    def _on_output_buffer(
        self,
        ev: OutputAudioBufferStartedEvent
        | OutputAudioBufferStoppedEvent
        | OutputAudioBufferClearedEvent,
        now: float,
    ) -> None:
        self.playback.sideband_playing = isinstance(ev, OutputAudioBufferStartedEvent)
        self._out.emit(RawEvent(ev))


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


def iter_events(session: VoiceSession) -> Iterator[VoiceEvent]:
    """Drain the pending voice events (convenience for sans-IO users)."""
    while (ev := session.next_voice_event()) is not None:
        yield ev
