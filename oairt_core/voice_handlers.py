"""The voice session's handling of each server event: one method per event type.

:data:`HANDLERS` maps a server event class to its handler; an event without one
reaches the app as :class:`~oairt_core.voice_events.RawEvent`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from .barge_in import BargeIn
from .connection import MalformedServerEvent
from .events import (
    ConversationItemAddedEvent,
    ConversationItemDoneEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemInputAudioTranscriptionDeltaEvent,
    ConversationItemInputAudioTranscriptionFailedEvent,
    ErrorEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    McpListToolsCompletedEvent,
    McpListToolsFailedEvent,
    McpListToolsInProgressEvent,
    OutputAudioBufferClearedEvent,
    OutputAudioBufferStartedEvent,
    OutputAudioBufferStoppedEvent,
    ResponseCreatedEvent,
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
    SessionCreatedEvent,
    SessionUpdatedEvent,
)
from .models import FunctionCallItem, McpApprovalRequestItem, McpCallItem
from .voice_audio import decode_output, native_rate
from .voice_events import (
    AudioDelta,
    AudioDone,
    Error,
    InputAudioCommitted,
    InputTranscriptDelta,
    InputTranscriptDone,
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
)
from .voice_state import AudioItem, ResponseState, opt, remember

__all__: list[str] = []


class ServerEventHandlers(BargeIn):
    """Handlers of server events (a layer of ``VoiceSession``); dispatch is :data:`HANDLERS`."""

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
        delta = opt(ev.delta) or ""
        self._emit(InputTranscriptDelta(ev.item_id, delta, opt(ev.content_index) or 0, ev))

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
                message=opt(getattr(err, "message", None)) or "input transcription failed",
                type=opt(getattr(err, "type", None)),
                code=opt(getattr(err, "code", None)),
                param=opt(getattr(err, "param", None)),
                raw=ev,
            )
        )

    def _on_response_created(self, ev: ResponseCreatedEvent, now: float) -> None:
        rid = opt(ev.response.id)
        if rid is None:
            self._emit(RawEvent(ev))
            return
        self._responses.setdefault(rid, ResponseState(rid)).in_progress = True
        if rid not in self._in_progress:
            self._in_progress.append(rid)
        self._emit(ResponseStarted(rid, ev))

    def _on_audio_delta(self, ev: ResponseOutputAudioDeltaEvent, now: float) -> None:
        if ev.response_id in self._dropped:
            return  # audio of an interrupted response: the user must not hear it
        item = self._audio.get(ev.item_id)
        if item is None:
            item = AudioItem(
                ev.item_id, ev.response_id, ev.content_index, self.config.output_format
            )
            remember(self._audio, ev.item_id, item)
        self._current_audio = ev.item_id
        if item.first_at is None:
            item.first_at = now
        start_ms = item.received_ms
        item.received_bytes += len(ev.delta)
        pcm, item.carry = decode_output(item.fmt, item.carry, ev.delta)
        self._emit(
            AudioDelta(
                pcm=pcm,
                sample_rate=native_rate(item.fmt),
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
            call_id = opt(item.call_id) or opt(item.id)
            if call_id is not None:
                self._on_function_call(
                    call_id, item.name, item.arguments, ev.response_id, opt(item.id), ev
                )
                return
        elif isinstance(item, McpCallItem):
            err = opt(item.error)
            self._emit(
                McpCall(
                    item.id,
                    "done",
                    name=item.name,
                    arguments=item.arguments,
                    output=opt(item.output),
                    error=None if err is None else str(opt(getattr(err, "message", None)) or err),
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
        rid = opt(r.id) or ""
        status = opt(r.status) or "completed"
        details = opt(r.status_details)
        reason = opt(getattr(details, "reason", None)) if details is not None else None
        resp = self._responses.setdefault(rid, ResponseState(rid))
        resp.in_progress = False
        if rid in self._in_progress:
            self._in_progress.remove(rid)
        if status == "cancelled" and not resp.interrupted:
            # The server cancelled on its own (interrupt_response / turn_detected):
            # the model's memory must still match what the user heard.
            self._interrupt(now, "server", ev, server_cancelled=rid)
        self._emit(ResponseDone(rid, status, reason, opt(r.usage), r, ev))
        self._maybe_flush_calls(rid)
        self._flush_response_request()
        if not resp.calls:
            self._responses.pop(rid, None)

    def _on_error(self, ev: ErrorEvent, now: float) -> None:
        err = ev.error
        event_id = opt(err.event_id)
        code = opt(err.code)
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
                type=opt(err.type),
                code=code,
                param=opt(err.param),
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


HANDLERS: dict[type[Any], Callable[[ServerEventHandlers, Any, float], None]] = {
    SessionCreatedEvent: ServerEventHandlers._on_session_created,
    SessionUpdatedEvent: ServerEventHandlers._on_session_updated,
    InputAudioBufferSpeechStartedEvent: ServerEventHandlers._on_speech_started,
    InputAudioBufferSpeechStoppedEvent: ServerEventHandlers._on_speech_stopped,
    InputAudioBufferCommittedEvent: ServerEventHandlers._on_committed,
    ConversationItemInputAudioTranscriptionDeltaEvent: ServerEventHandlers._on_input_delta,
    ConversationItemInputAudioTranscriptionCompletedEvent: ServerEventHandlers._on_input_done,
    ConversationItemInputAudioTranscriptionFailedEvent: ServerEventHandlers._on_input_failed,
    ResponseCreatedEvent: ServerEventHandlers._on_response_created,
    ResponseOutputAudioDeltaEvent: ServerEventHandlers._on_audio_delta,
    ResponseOutputAudioDoneEvent: ServerEventHandlers._on_audio_done,
    ResponseOutputAudioTranscriptDeltaEvent: ServerEventHandlers._on_transcript_delta,
    ResponseOutputTextDeltaEvent: ServerEventHandlers._on_transcript_delta,
    ResponseOutputAudioTranscriptDoneEvent: ServerEventHandlers._on_transcript_done,
    ResponseOutputTextDoneEvent: ServerEventHandlers._on_transcript_done,
    ResponseFunctionCallArgumentsDoneEvent: ServerEventHandlers._on_args_done,
    ResponseOutputItemDoneEvent: ServerEventHandlers._on_output_item_done,
    ConversationItemAddedEvent: ServerEventHandlers._on_item_added_or_done,
    ConversationItemDoneEvent: ServerEventHandlers._on_item_added_or_done,
    ResponseDoneEvent: ServerEventHandlers._on_response_done,
    ErrorEvent: ServerEventHandlers._on_error,
    McpListToolsInProgressEvent: ServerEventHandlers._on_mcp_list,
    McpListToolsCompletedEvent: ServerEventHandlers._on_mcp_list,
    McpListToolsFailedEvent: ServerEventHandlers._on_mcp_list,
    ResponseMcpCallArgumentsDoneEvent: ServerEventHandlers._on_mcp_call,
    ResponseMcpCallInProgressEvent: ServerEventHandlers._on_mcp_call,
    ResponseMcpCallCompletedEvent: ServerEventHandlers._on_mcp_call,
    ResponseMcpCallFailedEvent: ServerEventHandlers._on_mcp_call,
    OutputAudioBufferStartedEvent: ServerEventHandlers._on_output_buffer,
    OutputAudioBufferStoppedEvent: ServerEventHandlers._on_output_buffer,
    OutputAudioBufferClearedEvent: ServerEventHandlers._on_output_buffer,
    MalformedServerEvent: ServerEventHandlers._on_malformed,
}
