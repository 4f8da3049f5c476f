"""Audio helpers for the fake server: format bookkeeping on top of ``oairt_core.audio``.

>>> len(pcm16_to_wire(synth(100, seed=1), "audio/pcm"))
4800
"""

from __future__ import annotations

import zlib

import numpy as np
import numpy.typing as npt

from .. import audio as _a

__all__ = ["decode_input", "input_rate", "ms_of", "pcm16_to_wire", "synth", "text_seed"]

Int16Array = npt.NDArray[np.int16]

RATE = 24000


def input_rate(fmt: str) -> int:
    """Sample rate of a GA audio format type (``audio/pcm`` is 24 kHz, G.711 is 8 kHz)."""
    return RATE if fmt == "audio/pcm" else 8000


def bytes_per_ms(fmt: str) -> int:
    return 48 if fmt == "audio/pcm" else 8


def ms_of(nbytes: int, fmt: str) -> float:
    """Duration in milliseconds of ``nbytes`` of audio in ``fmt``."""
    return nbytes / bytes_per_ms(fmt)


def text_seed(text: str) -> int:
    """A stable seed derived from text (``hash()`` is salted per process, crc32 is not)."""
    return zlib.crc32(text.encode("utf-8"))


def synth(duration_ms: int, seed: int = 0) -> Int16Array:
    """Deterministic speech-like PCM16 at 24 kHz (``oairt_core.audio.synth_speech``)."""
    return _a.synth_speech(duration_ms, rate=RATE, seed=seed)


def decode_input(data: bytes, fmt: str) -> Int16Array:
    """Input audio bytes in a GA format as PCM16 samples at the format's own rate."""
    if fmt == "audio/pcm":
        return np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.int16)
    if fmt == "audio/pcmu":
        return _a.ulaw_decode(data)
    return _a.alaw_decode(data)


def pcm16_to_wire(samples: Int16Array, fmt: str) -> bytes:
    """24 kHz PCM16 samples as output bytes in a GA format (G.711 is resampled to 8 kHz)."""
    if fmt == "audio/pcm":
        return samples.astype("<i2").tobytes()
    n = len(samples) // 3 * 3
    down = samples[:n].astype(np.int32).reshape(-1, 3).mean(axis=1).astype(np.int16)
    return _a.ulaw_encode(down) if fmt == "audio/pcmu" else _a.alaw_encode(down)
