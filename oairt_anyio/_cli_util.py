"""Small helpers shared by the ``oairt`` subcommands (WAV files, timing, imports)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from .cli import CliError

__all__ = ["read_wav_pcm16", "synth_question", "write_wav_pcm16"]

RATE = 24000


def read_wav_pcm16(path: str | Path, *, rate: int = RATE) -> bytes:
    """Read a WAV file as 16-bit mono PCM at ``rate`` (mixes down and resamples if needed)."""
    try:
        with wave.open(str(path), "rb") as w:
            channels = w.getnchannels()
            width = w.getsampwidth()
            src_rate = w.getframerate()
            frames = w.readframes(w.getnframes())
    except FileNotFoundError:
        raise CliError(f"file not found: {path}") from None
    except (wave.Error, EOFError) as exc:
        raise CliError(f"bad WAV file {path}: {exc}") from None
    if width != 2:
        raise CliError(f"bad WAV file {path}: need 16-bit samples, got {8 * width}-bit")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    if src_rate != rate and samples.size:
        n_out = int(round(samples.size * rate / src_rate))
        x_old = np.arange(samples.size) / src_rate
        x_new = np.arange(n_out) / rate
        samples = np.interp(x_new, x_old, samples)
    return bytes(np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes())


def write_wav_pcm16(path: str | Path, pcm: bytes, *, rate: int = RATE) -> None:
    """Write 16-bit mono PCM to a WAV file."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


def synth_question(duration_ms: int = 1500, *, rate: int = RATE, seed: int = 0) -> bytes:
    """Speech-like PCM16: voiced syllables with a moving pitch, then silence for the VAD."""
    import oairt_core.audio

    # Prefer the library's synthesiser when this build has it.
    synth_speech = getattr(oairt_core.audio, "synth_speech", None)
    if synth_speech is not None:
        out = synth_speech(duration_ms, rate=rate, seed=seed)
        return out if isinstance(out, bytes) else bytes(np.asarray(out, dtype="<i2").tobytes())
    rng = np.random.default_rng(seed)
    n = rate * duration_ms // 1000
    t = np.arange(n) / rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    syllables = np.clip(np.sin(2 * np.pi * 3.5 * t), 0, None) ** 0.6
    noise = rng.normal(0, 0.02, n)
    signal = 0.3 * voiced * syllables + noise
    return bytes((np.clip(signal, -1, 1) * 32767 * 0.8).astype("<i2").tobytes())
