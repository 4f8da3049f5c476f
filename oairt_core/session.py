"""The voice session: a sans-IO state machine over the Realtime protocol.

:class:`VoiceSession` is fed server events (with the current time as a float,
since the core never reads a clock) and produces two streams: client events to
send (:meth:`VoiceSession.events_to_send`) and typed voice events for the app
(:meth:`VoiceSession.next_voice_event`). It does barge-in (cancel + truncate at
what the user heard), the typed-tool round trip, and MCP approvals. The
``oairt_anyio`` and ``oairt_trio`` adapters only move bytes and run
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

The session is built in layers, one concern per module: ``voice_state``
(bookkeeping, outputs, :meth:`VoiceSession.drain`), ``voice_tools`` (typed
tools, MCP approvals), ``barge_in`` (playback accounting, interruption),
``voice_handlers`` (one handler per server event), and this module (the app's
inputs). ``voice_audio`` holds the audio plumbing, ``response_builder`` the
:class:`ResponseBuilder`; the async API is ``oairt_core._async.voice``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import numpy.typing as npt

from . import config as _config
from . import response_builder as _response_builder
from . import voice_audio as _voice_audio
from . import voice_events as _voice_events
from . import voice_state as _voice_state
from .config import *  # noqa: F403  (re-exported: the whole voice API from one module)
from .connection import IncomingEvent, MalformedServerEvent
from .errors import LocalProtocolError
from .events import (
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    ResponseCreateEvent,
    SessionUpdateEvent,
)
from .models import InputTextContent, MessageItem, RealtimeSessionConfig, ResponseCreateParams
from .redact import redact_text
from .response_builder import *  # noqa: F403
from .response_builder import ResponseBuilder
from .validation import validate_client_event
from .voice_audio import *  # noqa: F403
from .voice_audio import (
    DEFAULT_MAX_APPEND_BYTES,
    MIN_COMMIT_MS,
    bytes_per_ms,
    encode_input,
    split_appends,
)
from .voice_events import *  # noqa: F403
from .voice_events import Error, RawEvent, VoiceEvent
from .voice_handlers import HANDLERS, ServerEventHandlers
from .voice_state import *  # noqa: F403
from .voice_state import VoiceActions

__all__ = ["VoiceSession", "iter_events"]
# The session's parts, re-exported so that `from oairt_core.session import ...`
# (and `from oairt_core import ...`) finds the whole voice API.
__all__ += _config.__all__
__all__ += _response_builder.__all__
__all__ += _voice_audio.__all__
__all__ += _voice_events.__all__
__all__ += _voice_state.__all__


class VoiceSession(ServerEventHandlers):
    """The voice state machine (h11 style: no I/O, time passed in).

    Inputs: :meth:`handle_event` / :meth:`receive_event` with server events,
    and the app's actions (:meth:`send_pcm16`, :meth:`commit`, :meth:`barge_in`,
    :meth:`mark_played`, :meth:`create_response`, :meth:`update`,
    :meth:`approve`/:meth:`deny`, :meth:`tool_finished`).

    Outputs: :meth:`drain` (all of the below at once, as :class:`VoiceActions`),
    :meth:`events_to_send` (client events, in order),
    :meth:`next_voice_event` (typed events for the app), :meth:`tool_runs` and
    :meth:`tools_to_cancel` (work for the adapter's task group),
    :meth:`approval_jobs` (calls of the approval callback).

    ``sideband=True`` is for a connection joined with ``call_id`` (WebRTC/SIP):
    barge-in then clears the server's output buffer instead of truncating.
    """

    # ------------------------------------------------------------------ inputs

    def start(self) -> None:
        """Queue the ``session.update`` that applies the configuration."""
        event = self.config.session_update()
        if self.sideband and isinstance(event.session, RealtimeSessionConfig):
            # The call was set up (and its model chosen) when it was accepted.
            session = msgspec.structs.replace(event.session, model=msgspec.UNSET)
            event = SessionUpdateEvent(session=session)
        self._outbox.append(event)

    def feed(self, event: IncomingEvent, now: float) -> VoiceActions:
        """Feed one server event; returns everything the adapter must do about it."""
        self.receive_event(event, now)
        return self.drain()

    def handle_event(self, event: IncomingEvent, now: float) -> list[VoiceEvent]:
        """Feed one server event; returns the voice events it produced."""
        self.receive_event(event, now)
        return self.voice_events()

    def receive_event(self, event: IncomingEvent, now: float) -> None:
        """Feed one server event; read the results with :meth:`next_voice_event`."""
        self.last_raw = event
        handler = HANDLERS.get(type(event))
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
        data = encode_input(samples, self.config.input_format, sample_rate)
        return self.send_encoded(data, max_chunk_bytes=max_chunk_bytes)

    def send_encoded(
        self, data: bytes, *, max_chunk_bytes: int = DEFAULT_MAX_APPEND_BYTES
    ) -> list[InputAudioBufferAppendEvent]:
        """Append events for audio already in the session's input format."""
        events = split_appends(data, max_chunk_bytes=max_chunk_bytes)
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

    # -- responses, configuration

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

    def send_text(self, text: str, *, respond: bool = True) -> None:
        """Add a user text message (and ask for a reply if ``respond``)."""
        self.send_item(MessageItem(role="user", content=[InputTextContent(text=text)]))
        if respond:
            self._outbox.append(ResponseCreateEvent())

    def reset_after_reconnect(self) -> None:
        """The connection was replaced (``reconnect=``): forget what was playing.

        The responses in flight and the audio being played belonged to the old
        server session, so playback and barge-in accounting start afresh (a barge-in
        now must not cancel or truncate what the new session never had). Tool calls
        are kept: a running tool finishes and its output goes to the new session.
        """
        self._in_progress.clear()
        for rid, resp in list(self._responses.items()):
            if not resp.calls:
                del self._responses[rid]
                continue
            # The response is over (cut off); its calls are answered on the new session.
            resp.in_progress = False
            self._maybe_flush_calls(rid)
        self._audio.clear()
        self._played.clear()
        self._current_audio = None
        self._sideband_playing = False
        self._input_bytes = 0

    def connection_lost(self, error: BaseException) -> None:
        """The connection ended abnormally: report it as an ``Error`` event."""
        self._emit(Error(message=redact_text(str(error)), exception=error))


def iter_events(session: VoiceSession) -> Iterator[VoiceEvent]:
    """Drain the pending voice events (convenience for sans-IO users)."""
    while (ev := session.next_voice_event()) is not None:
        yield ev
