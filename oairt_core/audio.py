"""Audio helpers: PCM16, G.711, resampling, chunking, durations, WAV, test signals.

Everything here is numpy, libsoxr for resampling (the ``soxr`` package, imported on first
use) and the stdlib :mod:`wave` for WAV bytes/files: no devices, no clocks.
The Realtime API speaks three formats:

* ``"audio/pcm"``: 16-bit little-endian mono PCM at **24 kHz** (48 bytes per ms);
* ``"audio/pcmu"`` / ``"audio/pcma"``: G.711 u-law / A-law at 8 kHz (8 bytes per ms).

>>> import numpy as np
>>> tone = (np.sin(2 * np.pi * 440 * np.arange(441) / 44100) * 10000).astype(np.int16)
>>> pcm = to_pcm16_24k(tone, 44100)          # any rate -> 24 kHz int16
>>> len(pcm), pcm.dtype
(240, dtype('int16'))
>>> ulaw = ulaw_encode(from_pcm16_24k(pcm, 8000))   # 24 kHz -> 8 kHz -> G.711 u-law bytes
>>> len(ulaw), bytes_to_ms(len(ulaw), "audio/pcmu")
(80, 10.0)
>>> [len(c) for c in chunk_pcm16(pcm, ms=4)]
[96, 96, 48]
"""

from __future__ import annotations

import io
import math
import os
import wave
from collections.abc import Iterator
from typing import IO, Any, Union

import numpy as np
import numpy.typing as npt

__all__ = [
    "G711_RATE",
    "PCM16_RATE",
    "RESAMPLE_QUALITIES",
    "AudioDecoder",
    "AudioEncoder",
    "AudioLike",
    "StreamingResampler",
    "alaw_decode",
    "alaw_encode",
    "bytes_to_ms",
    "chunk_pcm16",
    "decode_audio",
    "encode_audio",
    "float32_to_pcm16",
    "format_rate",
    "from_pcm16_24k",
    "ms_to_bytes",
    "ms_to_samples",
    "pcm16_from_bytes",
    "pcm16_to_bytes",
    "pcm16_to_float32",
    "read_wav",
    "resample",
    "resampled_length",
    "samples_to_ms",
    "silence",
    "synth_speech",
    "to_pcm16_24k",
    "ulaw_decode",
    "ulaw_encode",
    "write_wav",
]

PCM16_RATE = 24000
"""The only PCM rate the Realtime API accepts for ``audio/pcm``."""
G711_RATE = 8000
"""The sample rate of G.711 (``audio/pcmu`` and ``audio/pcma``)."""

AudioLike = Union[npt.NDArray[Any], bytes, bytearray, memoryview]  # noqa: UP007
"""int16 samples, float samples in [-1, 1], or PCM16 little-endian bytes."""

Int16Array = npt.NDArray[np.int16]
Float32Array = npt.NDArray[np.float32]

# --------------------------------------------------------------------------------------------
# PCM16 <-> float32, bytes <-> int16
# --------------------------------------------------------------------------------------------


def pcm16_to_float32(samples: npt.ArrayLike) -> Float32Array:
    """int16 samples -> float32 in [-1, 1) (divides by 32768).

    >>> pcm16_to_float32(np.array([-32768, 0, 16384], dtype=np.int16)).tolist()
    [-1.0, 0.0, 0.5]
    """
    out: Float32Array = np.asarray(samples).astype(np.float32) * np.float32(1.0 / 32768.0)
    return out


def float32_to_pcm16(samples: npt.ArrayLike) -> Int16Array:
    """float samples in [-1, 1] -> int16, rounded and clipped (values beyond +-1 saturate).

    >>> float32_to_pcm16(np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0])).tolist()
    [-32768, -32768, 0, 16384, 32767, 32767]
    """
    arr = np.asarray(samples, dtype=np.float64)
    # NaN would turn into an arbitrary integer; treat it as silence instead.
    arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(np.rint(arr * 32768.0), -32768, 32767).astype(np.int16)


def pcm16_from_bytes(data: bytes | bytearray | memoryview) -> Int16Array:
    """PCM16 little-endian bytes -> int16 array (a copy, native byte order).

    Raises :class:`ValueError` on an odd number of bytes (a torn sample).

    >>> pcm16_from_bytes(b"\\x01\\x00\\xff\\xff").tolist()
    [1, -1]
    """
    buf = bytes(data)
    if len(buf) % 2:
        raise ValueError(f"PCM16 data must have an even number of bytes, got {len(buf)}")
    return np.frombuffer(buf, dtype="<i2").astype(np.int16)


def pcm16_to_bytes(samples: npt.ArrayLike) -> bytes:
    """int16 samples (float input is converted with :func:`float32_to_pcm16`) -> LE bytes.

    >>> pcm16_to_bytes(np.array([1, -1], dtype=np.int16))
    b'\\x01\\x00\\xff\\xff'
    """
    return _as_int16(samples).astype("<i2", copy=False).tobytes()


def _as_int16(samples: npt.ArrayLike) -> Int16Array:
    """Accept int16, other ints (must fit) or floats in [-1, 1]; return a 1-D int16 array."""
    arr = np.asarray(samples)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.dtype == np.int16:
        return arr.astype(np.int16, copy=False)
    if np.issubdtype(arr.dtype, np.floating):
        return float32_to_pcm16(arr)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < -32768 or arr.max() > 32767):
            raise ValueError("integer samples must fit in int16")
        return arr.astype(np.int16)
    raise TypeError(f"expected int16 or float samples, got dtype {arr.dtype}")


def _coerce_audio(samples: AudioLike) -> Int16Array:
    if isinstance(samples, (bytes, bytearray, memoryview)):
        return pcm16_from_bytes(samples)
    return _as_int16(samples)


# --------------------------------------------------------------------------------------------
# G.711 (ITU-T G.711, the classic Sun reference implementation, as lookup tables)
# --------------------------------------------------------------------------------------------

_ULAW_BIAS = 0x84
_ULAW_CLIP = 8159  # in the 14-bit domain


def _build_ulaw_decode() -> Int16Array:
    u: npt.NDArray[np.int32] = np.arange(256, dtype=np.int32)
    u = ~u & 0xFF
    t = ((u & 0x0F) << 3) + _ULAW_BIAS
    t = t << ((u & 0x70) >> 4)
    out = np.where(u & 0x80, _ULAW_BIAS - t, t - _ULAW_BIAS)
    return out.astype(np.int16)


def _build_alaw_decode() -> Int16Array:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    out = np.where(a & 0x80, t, -t)
    return out.astype(np.int16)


def _segment(value: npt.NDArray[np.int32], seg_end: list[int]) -> npt.NDArray[np.int32]:
    """Index of the first segment whose end is >= value (8 if none), like the C ``search``."""
    return np.searchsorted(np.asarray(seg_end, dtype=np.int32), value, side="left").astype(np.int32)


def _build_ulaw_encode() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 2  # arithmetic shift, like C
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    seg = _segment(mag, [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
    uval = (np.minimum(seg, 7) << 4) | ((mag >> (np.minimum(seg, 7) + 1)) & 0x0F)
    out = np.where(seg >= 8, 0x7F ^ mask, uval ^ mask)
    return out.astype(np.uint8)


def _build_alaw_encode() -> npt.NDArray[np.uint8]:
    pcm = np.arange(-32768, 32768, dtype=np.int32) >> 3
    mask = np.where(pcm >= 0, 0xD5, 0x55)
    mag = np.where(pcm >= 0, pcm, -pcm - 1)
    seg = _segment(mag, [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
    s = np.minimum(seg, 7)
    quant = np.where(s < 2, (mag >> 1) & 0x0F, (mag >> s) & 0x0F)
    aval = (s << 4) | quant
    out = np.where(seg >= 8, 0x7F ^ mask, aval ^ mask)
    return out.astype(np.uint8)


# 64 KiB encode tables indexed by (sample + 32768), 256-entry decode tables.
_ULAW_DEC = _build_ulaw_decode()
_ALAW_DEC = _build_alaw_decode()
_ULAW_ENC = _build_ulaw_encode()
_ALAW_ENC = _build_alaw_encode()


def ulaw_encode(samples: AudioLike) -> bytes:
    """PCM16 samples (int16/float array or PCM16 bytes) -> G.711 u-law bytes, one per sample.

    The rate is not changed: resample to 8 kHz first (:func:`from_pcm16_24k`).

    >>> ulaw_encode(np.array([0, 32767, -32768], dtype=np.int16)).hex()
    'ff8000'
    """
    pcm = _coerce_audio(samples)
    return bytes(_ULAW_ENC[pcm.astype(np.int32) + 32768].tobytes())


def ulaw_decode(data: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> Int16Array:
    """G.711 u-law bytes -> int16 samples (same rate).

    >>> ulaw_decode(bytes([0xFF, 0x80, 0x00])).tolist()
    [0, 32124, -32124]
    """
    codes = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    return _ULAW_DEC[codes.astype(np.uint8)]


def alaw_encode(samples: AudioLike) -> bytes:
    """PCM16 samples (int16/float array or PCM16 bytes) -> G.711 A-law bytes, one per sample.

    >>> alaw_encode(np.array([0, 32767, -32768], dtype=np.int16)).hex()
    'd5aa2a'
    """
    pcm = _coerce_audio(samples)
    return bytes(_ALAW_ENC[pcm.astype(np.int32) + 32768].tobytes())


def alaw_decode(data: bytes | bytearray | memoryview | npt.NDArray[np.uint8]) -> Int16Array:
    """G.711 A-law bytes -> int16 samples (same rate).

    >>> alaw_decode(bytes([0xD5, 0x55, 0xAA])).tolist()
    [8, -8, 32256]
    """
    codes = np.frombuffer(bytes(data), dtype=np.uint8) if not isinstance(data, np.ndarray) else data
    return _ALAW_DEC[codes.astype(np.uint8)]


# --------------------------------------------------------------------------------------------
# Resampling: libsoxr (the ``soxr`` package), streamed
# --------------------------------------------------------------------------------------------

RESAMPLE_QUALITIES = ("QQ", "LQ", "MQ", "HQ", "VHQ")
"""libsoxr's quality recipes, lowest to highest; ``"HQ"`` (the default) keeps 20 bits."""


def resampled_length(n: int, rate_in: int, rate_out: int) -> int:
    """Samples that ``n`` input samples become: ``n * rate_out / rate_in`` rounded half up.

    That is libsoxr's count for a whole signal, and what a :class:`StreamingResampler`
    returns in total once flushed, however the input was chunked.

    >>> resampled_length(441, 44100, 24000), resampled_length(3, 16000, 24000)
    (240, 5)
    """
    if rate_in <= 0 or rate_out <= 0:
        raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
    return (2 * n * rate_out + rate_in) // (2 * rate_in)


class StreamingResampler:
    """Resample a stream chunk by chunk; the concatenated output equals :func:`resample`.

    A libsoxr stream (``soxr.ResampleStream``) run in float32: libsoxr's float path gives
    the same samples for any chunking (its int16 path dithers, so it does not), and int16
    results are rounded here, so streamed int16 output is bit-identical to one-shot output.
    :meth:`process` returns what libsoxr has ready; it works in blocks, so it holds back a
    little (with 20 ms chunks at HQ: at most about 40 ms at 24 kHz out, 115 ms at 8 kHz out;
    ``docs/benchmarks.md``). :meth:`flush` ends the stream, returns the rest (so that the
    total is exactly :func:`resampled_length` of the input) and resets for a new stream.

    int16 input gives int16 output (rounded, clipped); other input gives float32.

    >>> import numpy as np
    >>> x = np.arange(480, dtype=np.float32) / 480
    >>> rs = StreamingResampler(48000, 24000)
    >>> out = np.concatenate([rs.process(x[:100]), rs.process(x[100:]), rs.flush()])
    >>> len(out), bool(np.array_equal(out, resample(x, 48000, 24000)))
    (240, True)
    """

    def __init__(self, rate_in: int, rate_out: int, *, quality: str = "HQ") -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
        if quality not in RESAMPLE_QUALITIES:
            raise ValueError(f"quality must be one of {RESAMPLE_QUALITIES}, got {quality!r}")
        self.rate_in = rate_in
        self.rate_out = rate_out
        self.quality = quality
        # Created on first use: a stream that never carries audio costs no libsoxr state.
        self._stream: Any = None
        self._dtype: np.dtype[Any] | None = None
        self._n_in = 0
        self._n_out = 0

    @property
    def samples_in(self) -> int:
        """Input samples received since the stream started."""
        return self._n_in

    @property
    def samples_out(self) -> int:
        """Output samples produced since the stream started."""
        return self._n_out

    def _as_float(self, samples: npt.ArrayLike) -> Float32Array:
        arr = np.asarray(samples)
        if arr.ndim != 1:
            arr = arr.reshape(-1)
        if self._dtype is None:
            self._dtype = np.dtype(np.int16) if arr.dtype == np.int16 else np.dtype(np.float32)
        if arr.dtype == np.int16:
            x = arr.astype(np.float32)
            x *= np.float32(1.0 / 32768.0)
            return x
        return np.ascontiguousarray(arr, dtype=np.float32)

    def _finish(self, out: Float32Array) -> npt.NDArray[Any]:
        self._n_out += out.size
        if self._dtype == np.int16:
            # float32_to_pcm16 without its NaN guard (int16 in, so finite out), in place:
            # this runs for every microphone chunk.
            scaled: Float32Array = np.multiply(out, np.float32(32768.0))
            np.rint(scaled, out=scaled)
            np.maximum(scaled, np.float32(-32768.0), out=scaled)  # ufuncs: np.clip costs more
            np.minimum(scaled, np.float32(32767.0), out=scaled)
            pcm: Int16Array = scaled.astype(np.int16)
            return pcm
        return out

    def _run(self, x: Float32Array, last: bool) -> Float32Array:
        if self.rate_in == self.rate_out:
            return x
        if self._stream is None:
            import soxr  # here, not at import: most users of oairt_core never resample

            self._stream = soxr.ResampleStream(
                self.rate_in, self.rate_out, 1, dtype="float32", quality=self.quality
            )
        out: Float32Array = self._stream.resample_chunk(x, last=last)
        return out

    def process(self, samples: npt.ArrayLike) -> npt.NDArray[Any]:
        """Feed a chunk; return the output samples ready so far (possibly none)."""
        x = self._as_float(samples)
        self._n_in += x.size
        if x.size == 0:
            return self._finish(np.zeros(0, dtype=np.float32))
        return self._finish(self._run(x, last=False))

    def flush(self) -> npt.NDArray[Any]:
        """End the stream: return the rest, so that the total is ``resampled_length(n_in)``."""
        out: npt.NDArray[np.float32]
        if self._n_in == 0 or self.rate_in == self.rate_out:
            out = np.zeros(0, dtype=np.float32)
        else:
            out = self._run(np.zeros(0, dtype=np.float32), last=True)
            # libsoxr counts the same way; this only guards the documented length.
            missing = resampled_length(self._n_in, self.rate_in, self.rate_out) - (
                self._n_out + out.size
            )
            if missing > 0:
                out = np.concatenate([out, np.zeros(missing, dtype=np.float32)])
            elif missing < 0:
                out = out[: out.size + missing]
        result = self._finish(out)
        self.reset()
        return result

    def reset(self) -> None:
        """Drop the stream's state (and any held-back samples) and start a new stream."""
        if self._stream is not None:
            self._stream.clear()
        self._dtype = None
        self._n_in = 0
        self._n_out = 0


def resample(
    samples: npt.ArrayLike, rate_in: int, rate_out: int, *, quality: str = "HQ"
) -> npt.NDArray[Any]:
    """Resample a whole signal (int16 in -> int16 out, other input -> float32 out).

    The output has :func:`resampled_length` samples (``n * rate_out / rate_in``, rounded half
    up). This is a :class:`StreamingResampler` fed the whole signal at once, so streaming a
    signal in any chunks gives exactly this; it also agrees with ``soxr.resample`` (float32).
    ``quality`` is a libsoxr recipe, one of :data:`RESAMPLE_QUALITIES`.

    >>> resample(np.zeros(441, dtype=np.int16), 44100, 24000).shape
    (240,)
    """
    rs = StreamingResampler(rate_in, rate_out, quality=quality)
    head = rs.process(samples)
    tail = rs.flush()
    return np.concatenate([head, tail])


def to_pcm16_24k(samples: AudioLike, rate: int = PCM16_RATE) -> Int16Array:
    """Anything audio-like at ``rate`` -> int16 samples at 24 kHz, ready for ``audio/pcm``.

    Accepts int16 arrays, float arrays in [-1, 1], or PCM16 little-endian bytes. Stereo
    ``(n, 2)`` arrays are downmixed to mono.

    >>> to_pcm16_24k(np.zeros(160, dtype=np.float32), 16000).shape
    (240,)
    """
    if isinstance(samples, (bytes, bytearray, memoryview)):
        pcm: npt.NDArray[Any] = pcm16_from_bytes(samples)
    else:
        pcm = np.asarray(samples)
        if pcm.ndim == 2:
            pcm = _downmix(pcm)
    pcm = _as_int16(pcm)
    if rate == PCM16_RATE:
        return pcm
    return np.asarray(resample(pcm, rate, PCM16_RATE), dtype=np.int16)


def from_pcm16_24k(samples: AudioLike, rate: int) -> Int16Array:
    """24 kHz PCM16 (array or bytes) -> int16 samples at ``rate`` (e.g. 8000 for G.711).

    >>> from_pcm16_24k(np.zeros(240, dtype=np.int16), 8000).shape
    (80,)
    """
    pcm = _coerce_audio(samples)
    if rate == PCM16_RATE:
        return pcm
    return np.asarray(resample(pcm, PCM16_RATE, rate), dtype=np.int16)


def _downmix(frames: npt.NDArray[Any]) -> Int16Array:
    """(n, channels) -> mono int16, averaging channels (rounded)."""
    if frames.dtype == np.int16 or np.issubdtype(frames.dtype, np.integer):
        mean: npt.NDArray[np.float64] = frames.astype(np.float64).mean(axis=1)
        return np.clip(np.rint(mean), -32768, 32767).astype(np.int16)
    return float32_to_pcm16(frames.astype(np.float64).mean(axis=1))


# --------------------------------------------------------------------------------------------
# Durations and chunking
# --------------------------------------------------------------------------------------------

_FORMATS: dict[str, tuple[int, int]] = {
    # name -> (bytes per sample, default rate)
    "audio/pcm": (2, PCM16_RATE),
    "pcm16": (2, PCM16_RATE),
    "audio/pcmu": (1, G711_RATE),
    "g711_ulaw": (1, G711_RATE),
    "audio/pcma": (1, G711_RATE),
    "g711_alaw": (1, G711_RATE),
}


def _format_info(fmt: object, rate: int | None) -> tuple[int, int]:
    """Resolve a wire format name (or a model object with ``type``/``rate``) to (width, rate)."""
    name = fmt if isinstance(fmt, str) else getattr(fmt, "type", None)
    if not isinstance(name, str) or name not in _FORMATS:
        raise ValueError(
            f"unknown audio format {fmt!r}; expected one of 'audio/pcm', 'audio/pcmu', 'audio/pcma'"
        )
    width, default_rate = _FORMATS[name]
    if rate is None:
        obj_rate = getattr(fmt, "rate", None)
        rate = obj_rate if isinstance(obj_rate, int) else default_rate
    if rate <= 0:
        raise ValueError(f"sample rate must be positive, got {rate}")
    return width, rate


def ms_to_samples(ms: float, rate: int = PCM16_RATE) -> int:
    """Whole samples in ``ms`` milliseconds at ``rate`` (rounded down).

    >>> ms_to_samples(20), ms_to_samples(20, 8000)
    (480, 160)
    """
    return int(math.floor(ms * rate / 1000 + 1e-9))


def samples_to_ms(n: int, rate: int = PCM16_RATE) -> float:
    """Duration in milliseconds of ``n`` samples at ``rate``.

    >>> samples_to_ms(480), samples_to_ms(160, 8000)
    (20.0, 20.0)
    """
    return n * 1000 / rate


def ms_to_bytes(ms: float, format: object = "audio/pcm", rate: int | None = None) -> int:
    """Bytes of ``ms`` milliseconds of audio in ``format`` (whole samples, rounded down).

    ``format`` is a wire name (``"audio/pcm"``, ``"audio/pcmu"``, ``"audio/pcma"``; the old
    ``"pcm16"``/``"g711_ulaw"``/``"g711_alaw"`` spellings too) or a format model object.

    >>> ms_to_bytes(1), ms_to_bytes(1, "audio/pcmu"), ms_to_bytes(20)
    (48, 8, 960)
    """
    width, r = _format_info(format, rate)
    return ms_to_samples(ms, r) * width


def bytes_to_ms(n: int, format: object = "audio/pcm", rate: int | None = None) -> float:
    """Duration in milliseconds of ``n`` bytes of ``format`` audio.

    >>> bytes_to_ms(48), bytes_to_ms(8, "audio/pcma")
    (1.0, 1.0)
    """
    width, r = _format_info(format, rate)
    return (n // width) * 1000 / r


def chunk_pcm16(
    samples: AudioLike, ms: float = 20, rate: int = PCM16_RATE
) -> Iterator[npt.NDArray[Any]]:
    """Split samples into chunks of ``ms`` milliseconds (views); the last partial one is kept.

    ``samples`` is an array (any dtype) or PCM16 bytes (decoded to int16 first).

    >>> [len(c) for c in chunk_pcm16(np.zeros(1000, dtype=np.int16), ms=20)]
    [480, 480, 40]
    """
    arr = (
        pcm16_from_bytes(samples)
        if isinstance(samples, (bytes, bytearray, memoryview))
        else np.asarray(samples)
    )
    size = ms_to_samples(ms, rate)
    if size < 1:
        raise ValueError(f"a chunk of {ms} ms at {rate} Hz holds no whole sample")
    for start in range(0, len(arr), size):
        yield arr[start : start + size]


# --------------------------------------------------------------------------------------------
# Wire formats: encode app audio for a session format, decode deltas back to PCM16
# --------------------------------------------------------------------------------------------


def _wire_kind(fmt: object) -> str:
    name = fmt if isinstance(fmt, str) else getattr(fmt, "type", None)
    _format_info(fmt, None)  # validates the name
    assert isinstance(name, str)
    return {"pcm16": "audio/pcm", "g711_ulaw": "audio/pcmu", "g711_alaw": "audio/pcma"}.get(
        name, name
    )


def format_rate(format: object) -> int:
    """The sample rate of a wire format: 24000 for ``audio/pcm``, 8000 for G.711.

    >>> format_rate("audio/pcm"), format_rate("audio/pcmu")
    (24000, 8000)
    """
    return _format_info(format, None)[1]


def _encode_native(pcm: Int16Array, kind: str) -> bytes:
    if kind == "audio/pcmu":
        return ulaw_encode(pcm)
    if kind == "audio/pcma":
        return alaw_encode(pcm)
    return pcm16_to_bytes(pcm)


def _decode_native(data: bytes | bytearray | memoryview, kind: str) -> Int16Array:
    if kind == "audio/pcmu":
        return ulaw_decode(data)
    if kind == "audio/pcma":
        return alaw_decode(data)
    return pcm16_from_bytes(data)


class AudioEncoder:
    """Stream app audio (any rate) into a session's input format, chunk by chunk.

    Resamples from ``rate`` to the format's rate with a :class:`StreamingResampler` (so
    chunk boundaries leave no clicks: the bytes of any chunking equal :func:`encode_audio`
    of the whole signal) and encodes to PCM16 little-endian, u-law or A-law bytes. Call
    :meth:`flush` at the end of the stream for the resampler's held-back tail.

    >>> enc = AudioEncoder("audio/pcmu", rate=24000)
    >>> sizes = [len(enc.encode(np.zeros(480, dtype=np.int16))) for _ in range(3)]
    >>> sum(sizes) + len(enc.flush())     # 60 ms at 8 kHz, one byte per sample
    480
    """

    def __init__(self, format: object = "audio/pcm", rate: int = PCM16_RATE) -> None:
        self.format = _wire_kind(format)
        self.rate = rate
        self._resampler = StreamingResampler(rate, format_rate(self.format))

    def encode(self, samples: AudioLike) -> bytes:
        """Encode a chunk (int16/float array or PCM16 bytes at ``rate``)."""
        pcm = _coerce_audio(samples)
        return _encode_native(np.asarray(self._resampler.process(pcm), np.int16), self.format)

    def flush(self) -> bytes:
        """End the stream; returns the last bytes and resets the encoder."""
        tail = np.asarray(self._resampler.flush(), dtype=np.int16)
        return _encode_native(tail, self.format)

    def reset(self) -> None:
        """Drop the held-back samples and start a new stream (nothing is returned)."""
        self._resampler.reset()


class AudioDecoder:
    """Stream wire audio (``audio/pcm``, ``audio/pcmu``, ``audio/pcma`` bytes) to int16 at ``rate``.

    PCM16 bytes split across deltas (an odd byte at the end of one) are carried over, never
    dropped or misaligned.

    >>> dec = AudioDecoder("audio/pcma", rate=8000)
    >>> dec.decode(bytes([0xD5, 0x55])).tolist()
    [8, -8]
    """

    def __init__(self, format: object = "audio/pcm", rate: int = PCM16_RATE) -> None:
        self.format = _wire_kind(format)
        self.rate = rate
        self._resampler = StreamingResampler(format_rate(self.format), rate)
        self._carry = b""

    def decode(self, data: bytes | bytearray | memoryview) -> Int16Array:
        """Decode a chunk of wire bytes into int16 samples at ``rate``."""
        buf = self._carry + bytes(data)
        if self.format == "audio/pcm" and len(buf) % 2:
            buf, self._carry = buf[:-1], buf[-1:]
        else:
            self._carry = b""
        pcm = _decode_native(buf, self.format)
        return np.asarray(self._resampler.process(pcm), dtype=np.int16)

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the rest of a sample (0 or 1)."""
        return len(self._carry)

    def flush(self) -> Int16Array:
        """End the stream; returns the resampler's tail (a torn last byte is discarded)."""
        self._carry = b""
        return np.asarray(self._resampler.flush(), dtype=np.int16)

    def reset(self) -> None:
        """Drop the held-back samples and bytes and start a new stream."""
        self._carry = b""
        self._resampler.reset()


def encode_audio(samples: AudioLike, format: object = "audio/pcm", rate: int = PCM16_RATE) -> bytes:
    """Encode a whole buffer at ``rate`` for a wire format (resampling as needed).

    For a live stream use :class:`AudioEncoder`: resampling chunks one by one with this
    function would put a small discontinuity at every chunk boundary.

    >>> len(encode_audio(np.zeros(240, dtype=np.int16), "audio/pcmu"))   # 10 ms
    80
    """
    enc = AudioEncoder(format, rate)
    return enc.encode(samples) + enc.flush()


def decode_audio(
    data: bytes | bytearray | memoryview, format: object = "audio/pcm", rate: int | None = None
) -> Int16Array:
    """Decode a whole buffer of wire audio to int16 (at the format's rate, or ``rate``).

    >>> decode_audio(ulaw_encode(np.zeros(80, dtype=np.int16)), "audio/pcmu", rate=24000).shape
    (240,)
    """
    kind = _wire_kind(format)
    dec = AudioDecoder(kind, rate if rate is not None else format_rate(kind))
    head = dec.decode(data)
    if dec.pending_bytes:
        raise ValueError("PCM16 data must have an even number of bytes")
    return np.concatenate([head, dec.flush()]).astype(np.int16)


# --------------------------------------------------------------------------------------------
# WAV (stdlib wave; PCM16 only)
# --------------------------------------------------------------------------------------------

WavSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]


def read_wav(source: WavSource) -> tuple[Int16Array, int]:
    """Read a PCM16 WAV (mono or multi-channel, downmixed) -> ``(int16 samples, rate)``.

    ``source`` is a path, the file's bytes, or a binary file object. Other sample widths
    raise :class:`ValueError` (as does a malformed file).

    >>> data = write_wav(None, np.array([1, 2, 3], dtype=np.int16), 16000)
    >>> samples, rate = read_wav(data)
    >>> samples.tolist(), rate
    ([1, 2, 3], 16000)
    """
    handle: Any
    if isinstance(source, (bytes, bytearray, memoryview)):
        handle = io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        handle = os.fspath(source)
    else:
        handle = source
    try:
        with wave.open(handle, "rb") as wf:
            width = wf.getsampwidth()
            channels = wf.getnchannels()
            rate = wf.getframerate()
            frames = wf.readframes(wf.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a readable WAV file: {exc}") from exc
    if width != 2:
        raise ValueError(f"only 16-bit PCM WAV is supported, got {8 * width}-bit samples")
    usable = len(frames) - len(frames) % (2 * channels)
    pcm = np.frombuffer(frames[:usable], dtype="<i2").astype(np.int16)
    if channels > 1:
        pcm = _downmix(pcm.reshape(-1, channels))
    return pcm, rate


def write_wav(
    target: str | os.PathLike[str] | IO[bytes] | None,
    samples: AudioLike,
    rate: int = PCM16_RATE,
) -> bytes:
    """Write mono PCM16 samples as a WAV to a path or binary file object; return the bytes.

    With ``target=None`` nothing is written and only the bytes are returned.

    >>> data = write_wav(None, np.zeros(24, dtype=np.int16))
    >>> data[:4], len(data)
    (b'RIFF', 92)
    """
    pcm = _coerce_audio(samples)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(pcm.astype("<i2", copy=False).tobytes())
    data = buf.getvalue()
    if target is None:
        pass
    elif isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as fh:
            fh.write(data)
    else:
        target.write(data)
    return data


# --------------------------------------------------------------------------------------------
# Deterministic test signals
# --------------------------------------------------------------------------------------------


def silence(ms: float, rate: int = PCM16_RATE) -> Int16Array:
    """``ms`` milliseconds of digital silence (int16 zeros).

    >>> silence(10).shape, silence(10, 8000).shape
    ((240,), (80,))
    """
    return np.zeros(ms_to_samples(ms, rate), dtype=np.int16)


def synth_speech(
    duration_ms: float,
    rate: int = PCM16_RATE,
    seed: int = 0,
    f0: float = 120.0,
    level: float = 0.3,
) -> Int16Array:
    """A deterministic speech-like int16 signal for VAD tests and demos.

    Voiced harmonics of a wandering pitch around ``f0`` Hz, shaped by three formant-like
    peaks, under a syllable-like amplitude envelope (about 4 syllables per second, dipping
    but never silent between them), plus a little noise. ``level`` is the peak amplitude as
    a fraction of full scale. Same arguments -> same samples.

    >>> a = synth_speech(500, seed=1)
    >>> b = synth_speech(500, seed=1)
    >>> a.shape, bool((a == b).all()), bool(abs(a).max() > 3000)
    ((12000,), True, True)
    """
    n = ms_to_samples(duration_ms, rate)
    if n == 0:
        return np.zeros(0, dtype=np.int16)
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64) / rate
    # Pitch: slow drift plus a gentle vibrato, integrated into a phase.
    drift = 1.0 + 0.08 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi))
    vibrato = 1.0 + 0.01 * np.sin(2 * np.pi * 5.5 * t)
    pitch = f0 * drift * vibrato
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    formants = np.array([700.0, 1200.0, 2600.0]) * rng.uniform(0.85, 1.15, size=3)
    nyquist = rate / 2
    voiced = np.zeros(n, dtype=np.float64)
    for h in range(1, 40):
        freq = h * f0
        if freq >= 0.9 * nyquist:
            break
        gain = sum(1.0 / (1.0 + ((freq - f) / 150.0) ** 2) for f in formants) + 0.05
        voiced += (gain / h**0.5) * np.sin(h * phase)
    voiced /= np.max(np.abs(voiced)) or 1.0
    # Syllables: raised-cosine bumps of random length with short dips between them.
    env: npt.NDArray[np.float64] = np.zeros(n, dtype=np.float64)
    pos = 0
    while pos < n:
        length = int(rate * rng.uniform(0.15, 0.3))
        bump = np.sin(np.pi * np.arange(length) / length) ** 2
        stop = min(n, pos + length)
        env[pos:stop] = bump[: stop - pos] * rng.uniform(0.7, 1.0)
        pos = stop
    env = 0.15 + 0.85 * env  # never fully silent inside an utterance
    noise = rng.standard_normal(n) * 0.02
    signal = (voiced * env + noise) * level
    return float32_to_pcm16(signal)
