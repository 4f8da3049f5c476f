"""Barge-in: playback accounting and interruption, so the model's memory matches what was heard.

The app reports what it has played (:meth:`BargeIn.mark_played`, or the
session assumes real-time playback from the first delta). On a barge-in
(manual, or automatic on ``speech_started``) the session cancels the response
only if it is still in progress, truncates the audio item at what the user heard
(never more than was received), drops the response's later and queued audio,
cancels its running tools and emits ``Interrupted`` with the cut point. On a
sideband connection (WebRTC/SIP) the server plays the audio, so the session
clears the server's output buffer instead of truncating. A cancel that races the
response's ``response.done`` gives the server's "no active response" error,
which the session recognises by its event id and keeps from the app.

>>> from oairt_core import codec
>>> from oairt_core.config import VoiceConfig
>>> from oairt_core.session import VoiceSession
>>> s = VoiceSession(VoiceConfig())
>>> s.barge_in(now=0.0)   # nothing in progress, nothing played: nothing to do
[]
"""

from __future__ import annotations

from typing import Literal

from .events import (
    ConversationItemTruncateEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ServerEvent,
)
from .voice_events import (
    AudioDelta,
    AudioDone,
    Interrupted,
    TranscriptDelta,
    TranscriptDone,
    VoiceEvent,
)
from .voice_state import remember
from .voice_tools import ToolCalls

__all__: list[str] = []


class BargeIn(ToolCalls):
    """Playback reports and interruption (a layer of ``VoiceSession``)."""

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

    def mark_played(self, item_id: str, ms: float) -> None:
        """The app has played ``ms`` milliseconds of ``item_id``'s audio to the user."""
        if ms < 0:
            raise ValueError("played milliseconds cannot be negative")
        remember(self._played, item_id, float(ms))

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

    # ------------------------------------------------------------------ internals

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
