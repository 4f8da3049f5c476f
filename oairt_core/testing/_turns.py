"""User turns: the input audio buffer, server VAD, commits, transcription and the idle timeout."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from . import _audio
from ._items import _Item
from ._output import _split_words
from ._player import _Player
from ._wire import _ApiError
from .script import (
    Script,
    Transcription,
)
from .vad import SpeechStarted

MAX_APPEND_BYTES = 15 * 1024 * 1024

MIN_COMMIT_MS = 100.0


class _Turns(_Player):
    """User turns: the input audio buffer, server VAD, commits, transcription, idle timeout."""

    def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        try:
            audio = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise _ApiError(
                "Invalid 'audio'. Expected base64-encoded audio data.",
                code="invalid_value",
                param="audio",
            ) from None
        if len(audio) > MAX_APPEND_BYTES:
            raise _ApiError(
                "Audio chunk too large: at most 15 MiB per input_audio_buffer.append.",
                code="invalid_value",
                param="audio",
            )
        fmt = self._input_format()
        self._buffer += audio
        self._timeline_ms += _audio.ms_of(len(audio), fmt)
        td = self._turn_detection()
        if td is None:
            return
        for ev in self._vad.feed(_audio.decode_input(audio, fmt)):
            if self.closed:
                return
            if isinstance(ev, SpeechStarted):
                self._idle_deadline = None
                self._vad_item = self._new_id("item")
                self._emit(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": ev.audio_start_ms,
                        "item_id": self._vad_item,
                    }
                )
                if td.get("interrupt_response", True):
                    for r in list(self._responses):
                        if r.conversation != "none":
                            self._cancel(r, "turn_detected")
            else:
                item_id = self._vad_item or self._new_id("item")
                self._emit(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": ev.audio_end_ms,
                        "item_id": item_id,
                    }
                )
                self._commit(item_id, upto_ms=ev.audio_end_ms)
                if (
                    td.get("create_response", True)
                    and self.session.get("type") == "realtime"
                    and not any(r.conversation != "none" for r in self._responses)
                ):
                    self._start_response({})

    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        ms = _audio.ms_of(len(self._buffer), self._input_format())
        if ms < MIN_COMMIT_MS:
            raise _ApiError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"100ms of audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
                param=None,
            )
        self._commit(
            self._vad_item if self._vad.in_speech and self._vad_item else self._new_id("item")
        )

    def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self._buffer.clear()
        self._buffer_start_ms = self._timeline_ms
        self._vad.reset(floor_ms=int(self._timeline_ms))
        self._vad_item = None
        self._emit({"type": "input_audio_buffer.cleared"})

    def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        if not self.sideband:
            raise _ApiError(
                "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                code="invalid_value",
                param="type",
            )
        rid = self._responses[-1].id if self._responses else (self._last_response_id or "")
        for r in list(self._responses):
            self._cancel(r, "client_cancelled")
        self._emit({"type": "output_audio_buffer.cleared", "response_id": rid})

    def _commit(self, item_id: str, *, upto_ms: float | None = None) -> None:
        """Commit the buffer (VAD: only the audio up to ``upto_ms``; the rest stays)."""
        fmt = self._input_format()
        cut = len(self._buffer)
        if upto_ms is not None:
            bpm = _audio.bytes_per_ms(fmt)
            cut = int(round((upto_ms - self._buffer_start_ms) * bpm))
            cut = min(len(self._buffer), max(0, cut - cut % (2 if fmt == "audio/pcm" else 1)))
        audio = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        self._buffer_start_ms = (
            self._timeline_ms if upto_ms is None else self._buffer_start_ms + _audio.ms_of(cut, fmt)
        )
        self._vad.reset(floor_ms=int(self._buffer_start_ms))
        self._vad_item = None
        prev = self._last_item_id()
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.conversation.append(_Item(item, {0: audio}, fmt))
        self._emit(
            {"type": "input_audio_buffer.committed", "previous_item_id": prev, "item_id": item_id}
        )
        self._added_and_done(prev, item)
        self._transcribe(item_id, _audio.ms_of(len(audio), fmt))

    def _transcribe(self, item_id: str, ms: float) -> None:
        script = self.service.script
        tr: Transcription | None = (
            script.next_transcription() if isinstance(script, Script) else None
        )
        text = tr.text if tr is not None and tr.text is not None else None
        if text is None and (tr is None or tr.error is None):
            text = script.default_transcript if isinstance(script, Script) else "hello"
        self._last_user_text = text or ""
        cfg = self.session.get("audio", {}).get("input", {}).get("transcription")
        if not cfg:
            return
        if tr is not None and tr.error is not None:
            err = {
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": "Audio could not be transcribed.",
                "param": None,
            }
            err.update(dict(tr.error))
            self._emit(
                {
                    "type": "conversation.item.input_audio_transcription.failed",
                    "item_id": item_id,
                    "content_index": 0,
                    "error": err,
                }
            )
            return
        assert text is not None
        model = str(cfg.get("model") or "") if isinstance(cfg, dict) else ""
        logprobs = "item.input_audio_transcription.logprobs" in (self.session.get("include") or [])
        step = tr.chunk_chars if tr is not None else 12
        for i in range(0, len(text), step):
            delta: dict[str, Any] = {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": item_id,
                "content_index": 0,
                "delta": text[i : i + step],
            }
            if logprobs:
                delta["logprobs"] = _logprobs(text[i : i + step])
            self._emit(delta)
        if str(cfg.get("model", "")).endswith("diarize") if isinstance(cfg, dict) else False:
            # Diarization models also report who spoke when (one speaker here).
            self._emit(
                {
                    "type": "conversation.item.input_audio_transcription.segment",
                    "id": self._new_id("seg"),
                    "item_id": item_id,
                    "content_index": 0,
                    "text": text,
                    "speaker": "A",
                    "start": 0.0,
                    "end": round(ms / 1000.0, 3),
                }
            )
        for it in self.conversation:
            if it.id == item_id:
                it.data["content"][0]["transcript"] = text
        if model.startswith("whisper"):
            usage: dict[str, Any] = {"type": "duration", "seconds": round(ms / 1000.0, 3)}
        else:
            audio_tokens, text_tokens = int(ms / 100), len(text) // 4 + 1
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "output_tokens": text_tokens,
                "total_tokens": audio_tokens + text_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            }
        completed: dict[str, Any] = {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id,
            "content_index": 0,
            "transcript": text,
            "usage": usage,
        }
        if logprobs:
            completed["logprobs"] = _logprobs(text)
        self._emit(completed)

    def _idle_timeout(self) -> None:
        item_id = self._new_id("item")
        self._emit(
            {
                "type": "input_audio_buffer.timeout_triggered",
                "audio_start_ms": int(self._idle_from_ms),
                "audio_end_ms": int(self._timeline_ms),
                "item_id": item_id,
            }
        )
        self._commit(item_id)
        self._start_response({})


def _logprobs(text: str) -> list[dict[str, Any]]:
    """Confident per-word log probabilities (the fake is always sure)."""
    return [
        {"token": w, "bytes": list(w.encode("utf-8")), "logprob": -0.01}
        for w in _split_words(text, 1)
    ]
