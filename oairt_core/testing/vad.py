"""An energy-based voice activity detector that behaves like the Realtime server VAD.

Audio is cut into 10 ms frames; a frame is *speech* when its RMS level in dBFS reaches the
threshold. ``threshold`` (0..1, as in ``server_vad``) maps linearly onto dBFS::

    level_dbfs = -70 + 60 * threshold     # 0.0 -> -70 dBFS, 0.5 -> -40 dBFS, 1.0 -> -10 dBFS

so the default 0.5 ignores a quiet room (below -40 dBFS) and hears normal speech (around
-30 to -15 dBFS). Speech starts after two consecutive speech frames (20 ms, so a click does not
count); ``audio_start_ms`` is the first speech frame minus ``prefix_padding_ms``, never before
``floor_ms`` (the start of the uncommitted buffer, which moves to the end of each turn).
Speech stops once ``silence_duration_ms`` of non-speech has followed; as on the real server,
``audio_end_ms`` is the end of the audio consumed at that point, so it *includes* the silence
duration. Times are milliseconds on the session's input audio timeline (all audio ever
appended).

>>> import numpy as np
>>> vad = EnergyVad(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=200)
>>> loud = (np.sin(np.arange(24000) / 5) * 8000).astype(np.int16)
>>> quiet = np.zeros(24000, dtype=np.int16)
>>> [type(e).__name__ for e in vad.feed(np.concatenate([quiet[:12000], loud, quiet]))]
['SpeechStarted', 'SpeechStopped']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "FRAME_MS",
    "EnergyVad",
    "SpeechStarted",
    "SpeechStopped",
    "semantic_silence_ms",
    "threshold_to_dbfs",
]

FRAME_MS = 10
_MIN_SPEECH_FRAMES = 2


def threshold_to_dbfs(threshold: float) -> float:
    """The RMS level (dBFS) a 10 ms frame must reach to count as speech."""
    return -70.0 + 60.0 * min(max(threshold, 0.0), 1.0)


def semantic_silence_ms(eagerness: str) -> int:
    """Silence that ends a turn under ``semantic_vad`` (an approximation: no semantics here).

    The real model waits at most 8 s / 4 s / 2 s for low / medium / high; a fake that cannot
    understand words ends turns after a fixed pause that shrinks with eagerness.
    """
    return {"low": 1500, "medium": 800, "auto": 800, "high": 400}.get(eagerness, 800)


@dataclass(frozen=True)
class SpeechStarted:
    audio_start_ms: int
    """Start of the speech segment including prefix padding."""
    onset_ms: int
    """The first frame that was really speech."""


@dataclass(frozen=True)
class SpeechStopped:
    audio_end_ms: int


class EnergyVad:
    """Sans-IO VAD: feed PCM16 samples, get speech start/stop events with timeline times."""

    def __init__(
        self,
        *,
        threshold: float = 0.5,
        prefix_padding_ms: int = 300,
        silence_duration_ms: int = 200,
        sample_rate: int = 24000,
    ) -> None:
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms
        self.sample_rate = sample_rate
        self._frame = sample_rate * FRAME_MS // 1000
        self._pending: npt.NDArray[np.int16] = np.zeros(0, dtype=np.int16)
        self._frames_done = 0
        self.in_speech = False
        self._run = 0  # consecutive speech frames (while silent) or silent frames (in speech)
        self.floor_ms = 0

    @property
    def position_ms(self) -> int:
        """Milliseconds of audio classified so far (whole frames)."""
        return self._frames_done * FRAME_MS

    def configure(
        self, *, threshold: float, prefix_padding_ms: int, silence_duration_ms: int
    ) -> None:
        self.threshold = threshold
        self.prefix_padding_ms = prefix_padding_ms
        self.silence_duration_ms = silence_duration_ms

    def set_rate(self, sample_rate: int) -> None:
        """Change the input sample rate (a format change); partial frames are dropped."""
        if sample_rate != self.sample_rate:
            self.sample_rate = sample_rate
            self._frame = sample_rate * FRAME_MS // 1000
            self._pending = np.zeros(0, dtype=np.int16)

    def reset(self, floor_ms: int | None = None) -> None:
        """Forget any speech in progress (the buffer was cleared or committed)."""
        self.in_speech = False
        self._run = 0
        if floor_ms is not None:
            self.floor_ms = floor_ms

    def feed(self, samples: npt.NDArray[np.int16]) -> list[SpeechStarted | SpeechStopped]:
        events: list[SpeechStarted | SpeechStopped] = []
        data = np.concatenate([self._pending, samples.astype(np.int16)])
        n = len(data) // self._frame
        self._pending = data[n * self._frame :]
        if n == 0:
            return events
        frames = data[: n * self._frame].astype(np.float64).reshape(n, self._frame) / 32768.0
        rms = np.sqrt(np.mean(frames * frames, axis=1))
        level = 20.0 * np.log10(np.maximum(rms, 1e-9))
        limit = threshold_to_dbfs(self.threshold)
        for is_speech in level >= limit:
            self._frames_done += 1
            if not self.in_speech:
                self._run = self._run + 1 if is_speech else 0
                if self._run >= _MIN_SPEECH_FRAMES:
                    self.in_speech = True
                    onset = (self._frames_done - self._run) * FRAME_MS
                    start = max(self.floor_ms, onset - self.prefix_padding_ms)
                    events.append(SpeechStarted(audio_start_ms=start, onset_ms=onset))
                    self._run = 0
            else:
                self._run = 0 if is_speech else self._run + 1
                if self._run * FRAME_MS >= self.silence_duration_ms:
                    self.in_speech = False
                    self._run = 0
                    # The server commits the turn here, so the next padding stops at it.
                    self.floor_ms = self.position_ms
                    events.append(SpeechStopped(audio_end_ms=self.position_ms))
        return events
