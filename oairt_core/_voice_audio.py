"""Audio plumbing of the voice session: formats, input encoding, output decoding.

Functions over bytes and numpy arrays; :class:`~oairt_core._session.VoiceSession`
uses them to turn the app's samples into ``input_audio_buffer.append`` events and
the server's audio deltas into PCM16. numpy and :mod:`oairt_core.audio` are imported
when audio is first handled, not when ``oairt_core`` is imported.

>>> bytes_per_ms("pcm"), bytes_per_ms("pcma")
(48, 8)
>>> [len(e.audio) for e in split_appends(b"\\0" * 10, max_chunk_bytes=4)]
[4, 4, 2]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._config import AudioFormatName
from .errors import InvalidArgument, InvalidArgumentType
from .events import InputAudioBufferAppendEvent

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .audio import AudioEncoder

__all__ = ["DEFAULT_MAX_APPEND_BYTES", "MIN_COMMIT_MS", "bytes_per_ms"]

MIN_COMMIT_MS = 100
"""The server refuses to commit less input audio than this."""

DEFAULT_MAX_APPEND_BYTES = 1 << 20
"""Raw audio bytes per ``input_audio_buffer.append`` (1 MiB; far under the 15 MiB cap)."""


def bytes_per_ms(fmt: AudioFormatName) -> int:
    """Bytes of one millisecond of audio in a session format.

    >>> bytes_per_ms("pcm"), bytes_per_ms("pcmu")
    (48, 8)
    """
    return 48 if fmt == "pcm" else 8


def native_rate(fmt: AudioFormatName) -> int:
    """The sample rate of a session format: 24 kHz PCM, 8 kHz G.711."""
    return 24000 if fmt == "pcm" else 8000


_WIRE_FORMATS = {"pcm": "audio/pcm", "pcmu": "audio/pcmu", "pcma": "audio/pcma"}


def to_int16(samples: npt.NDArray[Any] | bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    """Mono PCM16 from int16/float arrays or little-endian PCM16 bytes."""
    import numpy as np

    from . import audio as _audio

    if isinstance(samples, (bytes, bytearray, memoryview)):
        raw = bytes(samples)
        if len(raw) % 2:
            raise InvalidArgument("PCM16 bytes must have an even length")
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    arr = np.asarray(samples)
    if arr.ndim != 1:
        raise InvalidArgument(f"audio must be mono: a 1-D array of samples, got shape {arr.shape}")
    if arr.dtype == np.int16:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return _audio.float32_to_pcm16(arr.astype(np.float32, copy=False))
    raise InvalidArgumentType(f"unsupported sample dtype {arr.dtype}; use int16 or float32")


def _encode_native(pcm: npt.NDArray[np.int16], fmt: AudioFormatName) -> bytes:
    from . import audio as _audio

    if fmt == "pcm":
        return pcm.astype("<i2", copy=False).tobytes()
    if fmt == "pcmu":
        return _audio.ulaw_encode(pcm)
    return _audio.alaw_encode(pcm)


def encode_input(
    samples: npt.NDArray[Any] | bytes | bytearray | memoryview,
    fmt: AudioFormatName,
    sample_rate: int | None,
) -> bytes:
    """A whole signal in the session's input format (resampled, G.711-encoded as needed).

    This is the one-shot reference: :class:`InputEncoder` streaming the same signal in any
    chunks, then flushed, produces exactly these bytes.
    """
    enc = InputEncoder()
    return enc.encode(samples, fmt, sample_rate) + enc.flush()


class InputEncoder:
    """The microphone path of one session: a streaming resampler and encoder.

    The app's chunks (at ``sample_rate``) go through one :class:`~oairt_core.audio.AudioEncoder`
    (a libsoxr stream to the format's rate, 24 kHz PCM or 8 kHz G.711, then u-law/A-law
    encoding), so chunk boundaries leave no clicks and no extra or missing samples: the
    bytes of any chunking, followed by :meth:`flush`, equal :func:`encode_input` of the whole
    signal. The resampler holds back a few tens of ms (it works in blocks); :meth:`flush`
    returns that tail and starts a new stream. The session flushes on ``commit`` and drops the
    tail (:meth:`reset`) on ``clear_input``. A change of ``sample_rate`` ends the stream (the
    old tail comes first in the returned bytes); a change of format drops it, since the server
    would read it in the new format. Audio already at the format's rate is not resampled.

    >>> import numpy as np
    >>> enc = InputEncoder()
    >>> chunks = [enc.encode(np.zeros(320, np.int16), "pcmu", 16000) for _ in range(5)]
    >>> sum(map(len, chunks)) + len(enc.flush())     # 100 ms at 8 kHz, one byte a sample
    800
    """

    def __init__(self) -> None:
        self._fmt: AudioFormatName | None = None
        self._rate = 0
        self._encoder: AudioEncoder | None = None  # None while no resampling is needed

    def encode(
        self,
        samples: npt.NDArray[Any] | bytes | bytearray | memoryview,
        fmt: AudioFormatName,
        sample_rate: int | None,
    ) -> bytes:
        """The bytes to append for this chunk (possibly fewer samples than it holds)."""
        pcm = to_int16(samples)
        rate = sample_rate or native_rate(fmt)
        head = b""
        if fmt != self._fmt:
            self.reset()
        elif rate != self._rate:
            head = self.flush()
        if fmt != self._fmt or rate != self._rate:
            self._fmt, self._rate = fmt, rate
            self._encoder = None
            if rate != native_rate(fmt):
                from .audio import AudioEncoder

                self._encoder = AudioEncoder(_WIRE_FORMATS[fmt], rate)
        if self._encoder is None:
            return head + _encode_native(pcm, fmt)
        return head + self._encoder.encode(pcm)

    def flush(self) -> bytes:
        """End the stream: the held-back tail, encoded (empty if nothing is held)."""
        if self._encoder is None:
            return b""
        return self._encoder.flush()

    def reset(self) -> None:
        """Drop the held-back tail and start a new stream."""
        if self._encoder is not None:
            self._encoder.reset()
        self._encoder = None
        self._fmt = None
        self._rate = 0


def split_appends(data: bytes, *, max_chunk_bytes: int) -> list[InputAudioBufferAppendEvent]:
    """Append events of at most ``max_chunk_bytes`` each (whole samples)."""
    if max_chunk_bytes <= 0:
        raise ValueError("max_chunk_bytes must be positive")
    step = max_chunk_bytes - (max_chunk_bytes % 2 or 0) or 2
    return [
        InputAudioBufferAppendEvent(audio=bytes(data[i : i + step]))
        for i in range(0, len(data), step)
    ]


def decode_output(
    fmt: AudioFormatName, carry: bytes, delta: bytes
) -> tuple[npt.NDArray[np.int16], bytes]:
    """PCM16 of an output delta, and the odd byte to carry to the next one (PCM only)."""
    import numpy as np

    from . import audio as _audio

    data = carry + delta
    if fmt == "pcm":
        usable = len(data) - (len(data) % 2)  # a sample may straddle two deltas
        return np.frombuffer(data[:usable], dtype="<i2").astype(np.int16), data[usable:]
    if fmt == "pcmu":
        return _audio.ulaw_decode(data), b""
    return _audio.alaw_decode(data), b""
