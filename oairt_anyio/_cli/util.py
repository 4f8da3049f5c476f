"""Small helpers shared by the ``oairt`` subcommands: WAV files in and out, as CLI errors.

The audio work itself is ``oairt_core.audio``'s (its WAV reader, libsoxr resampler and
speech synthesiser); this module only turns bad files into one-line ``CliError``s.
"""

from __future__ import annotations

from pathlib import Path

from oairt_core import audio

from . import CliError

__all__ = ["read_wav_pcm16", "synth_question", "write_wav_pcm16"]

RATE = audio.PCM16_RATE


def read_wav_pcm16(path: str | Path, *, rate: int = RATE) -> bytes:
    """Read a WAV file as 16-bit mono PCM at ``rate`` (mixes down and resamples if needed)."""
    try:
        samples, src_rate = audio.read_wav(Path(path))
    except FileNotFoundError:
        raise CliError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a WAV file") from None
    except (ValueError, EOFError) as exc:
        raise CliError(f"bad WAV file {path}: {exc}") from None
    return audio.pcm16_to_bytes(audio.resample(samples, src_rate, rate))


def write_wav_pcm16(path: str | Path, pcm: bytes, *, rate: int = RATE) -> None:
    """Write 16-bit mono PCM to a WAV file."""
    audio.write_wav(Path(path), audio.pcm16_from_bytes(pcm), rate)


def synth_question(duration_ms: int = 1500, *, rate: int = RATE, seed: int = 0) -> bytes:
    """Speech-like PCM16 for the demo's "microphone" (deterministic for a seed)."""
    return audio.pcm16_to_bytes(audio.synth_speech(duration_ms, rate=rate, seed=seed))
