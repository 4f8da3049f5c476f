"""Audio plumbing of the voice session: formats, input encoding, output decoding.

Pure functions over bytes and numpy arrays; :class:`~oairt_core.session.VoiceSession`
uses them to turn the app's samples into ``input_audio_buffer.append`` events and
the server's audio deltas into PCM16.

>>> bytes_per_ms("pcm"), bytes_per_ms("pcma")
(48, 8)
>>> [len(e.audio) for e in split_appends(b"\\0" * 10, max_chunk_bytes=4)]
[4, 4, 2]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import audio as _audio
from .config import AudioFormatName
from .errors import InvalidArgument, InvalidArgumentType
from .events import InputAudioBufferAppendEvent

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


def to_int16(samples: npt.NDArray[Any] | bytes | bytearray | memoryview) -> npt.NDArray[np.int16]:
    """Mono PCM16 from int16/float arrays or little-endian PCM16 bytes."""
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


def encode_input(
    samples: npt.NDArray[Any] | bytes | bytearray | memoryview,
    fmt: AudioFormatName,
    sample_rate: int | None,
) -> bytes:
    """``samples`` in the session's input format (resampled, G.711-encoded as needed)."""
    pcm = to_int16(samples)
    rate = sample_rate or native_rate(fmt)
    if rate != native_rate(fmt):
        pcm = np.asarray(_audio.resample(pcm, rate, native_rate(fmt)), dtype=np.int16)
    if fmt == "pcm":
        return pcm.astype("<i2", copy=False).tobytes()
    if fmt == "pcmu":
        return _audio.ulaw_encode(pcm)
    return _audio.alaw_encode(pcm)


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
    data = carry + delta
    if fmt == "pcm":
        usable = len(data) - (len(data) % 2)  # a sample may straddle two deltas
        return np.frombuffer(data[:usable], dtype="<i2").astype(np.int16), data[usable:]
    if fmt == "pcmu":
        return _audio.ulaw_decode(data), b""
    return _audio.alaw_decode(data), b""
