"""Audio helper benchmark: resampler speed and quality, G.711 throughput.

Run: ``.venv/bin/python -m benchmarks.audio_bench`` (``--seconds 10`` for longer signals).
``--resampler`` measures only the microphone case of issue 12 (16 kHz -> 24 kHz, one-shot and
in 20 ms chunks, SNR, audio held back) and checks libsoxr's one-shot against its stream; run the
file by path with ``PYTHONPATH`` set to another checkout to measure that checkout's resampler.
If scipy is installed, ``scipy.signal.resample_poly`` is measured on the same signals for
comparison (scipy is not a dependency of oairt).

Speed is reported as "x realtime": seconds of audio processed per second of CPU time.
Quality is the SNR of a resampled 1 kHz sine against the ideal sine at the new rate, and the
level of a tone 15 % above the new Nyquist frequency after resampling (alias rejection).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from oairt_core.audio import (
    StreamingResampler,
    alaw_decode,
    alaw_encode,
    chunk_pcm16,
    resample,
    synth_speech,
    ulaw_decode,
    ulaw_encode,
)

PAIRS = [(8000, 24000), (16000, 24000), (44100, 24000), (48000, 24000), (24000, 8000)]

__all__ = ["main", "run"]


def _best_time(fn: Callable[[], Any], repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _sine(freq: float, rate: int, n: int) -> npt.NDArray[Any]:
    return np.sin(2 * np.pi * freq * np.arange(n) / rate)


def _quality(
    fn: Callable[[npt.NDArray[Any], int, int], npt.NDArray[Any]], rate_in: int, rate_out: int
) -> tuple[float, float]:
    """(SNR of a 1 kHz sine in dB, level of an above-Nyquist tone in dBFS)."""
    x = _sine(1000, rate_in, rate_in)
    y = np.asarray(fn(x, rate_in, rate_out), dtype=np.float64)
    n = min(len(y), rate_out)
    ideal = _sine(1000, rate_out, n)
    edge = slice(rate_out // 10, n - rate_out // 10)
    err = y[:n][edge] - ideal[edge]
    snr = 10 * np.log10(np.sum(ideal[edge] ** 2) / max(np.sum(err**2), 1e-30))
    alias_db = float("nan")
    f_alias = 1.15 * rate_out / 2
    if f_alias < rate_in / 2:  # only meaningful when downsampling
        xa = _sine(f_alias, rate_in, rate_in)
        ya = np.asarray(fn(xa, rate_in, rate_out), dtype=np.float64)[edge]
        alias_db = 20 * np.log10(max(np.sqrt(np.mean(ya**2)), 1e-12) / np.sqrt(0.5))
    return float(snr), float(alias_db)


def _scipy_resample() -> Callable[[npt.NDArray[Any], int, int], npt.NDArray[Any]] | None:
    try:
        from scipy.signal import resample_poly  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError:
        return None
    from math import gcd

    def fn(x: npt.NDArray[Any], rate_in: int, rate_out: int) -> npt.NDArray[Any]:
        g = gcd(rate_in, rate_out)
        return np.asarray(resample_poly(x, rate_out // g, rate_in // g))

    return fn


def run(seconds: float = 5.0) -> list[dict[str, Any]]:
    """Measure everything; one dict per row (name, x realtime, quality numbers)."""
    rows: list[dict[str, Any]] = []
    scipy_fn = _scipy_resample()
    for rate_in, rate_out in PAIRS:
        pcm = synth_speech(seconds * 1000, rate=rate_in, seed=1)
        as_float = pcm.astype(np.float32) / 32768

        t_one = _best_time(lambda: resample(pcm, rate_in, rate_out))  # noqa: B023

        def streamed(
            pcm: npt.NDArray[Any] = pcm, rate_in: int = rate_in, rate_out: int = rate_out
        ) -> None:
            rs = StreamingResampler(rate_in, rate_out)
            for chunk in chunk_pcm16(pcm, ms=20, rate=rate_in):
                rs.process(chunk)
            rs.flush()

        t_stream = _best_time(streamed, repeat=3)
        snr, alias = _quality(resample, rate_in, rate_out)
        row: dict[str, Any] = {
            "name": f"resample {rate_in}->{rate_out}",
            "oairt_x_realtime": seconds / t_one,
            "oairt_stream20ms_x_realtime": seconds / t_stream,
            "oairt_snr_db": snr,
            "oairt_alias_dbfs": alias,
        }
        if scipy_fn is not None:
            t_sp = _best_time(lambda: scipy_fn(as_float, rate_in, rate_out))  # noqa: B023
            sp_snr, sp_alias = _quality(scipy_fn, rate_in, rate_out)
            row.update(
                scipy_x_realtime=seconds / t_sp, scipy_snr_db=sp_snr, scipy_alias_dbfs=sp_alias
            )
        rows.append(row)

    pcm8k = synth_speech(seconds * 1000, rate=8000, seed=2)
    ulaw = ulaw_encode(pcm8k)
    alaw = alaw_encode(pcm8k)
    for name, fn in [
        ("g711 u-law encode", lambda: ulaw_encode(pcm8k)),
        ("g711 u-law decode", lambda: ulaw_decode(ulaw)),
        ("g711 A-law encode", lambda: alaw_encode(pcm8k)),
        ("g711 A-law decode", lambda: alaw_decode(alaw)),
    ]:
        rows.append({"name": name, "oairt_x_realtime": seconds / _best_time(fn)})
    return rows


def _cpu_best(fn: Callable[[], Any], repeat: int = 7) -> float:
    """Best CPU time of ``repeat`` runs: steadier than wall time on a shared machine."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def _soxr_equivalence(seconds: float) -> list[str]:
    """libsoxr's one-shot ``soxr.resample`` against ``ResampleStream`` (fed whole, 20 ms chunks)."""
    try:
        import soxr  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return ["(soxr not installed: no one-shot vs stream check)"]
    pcm = synth_speech(seconds * 1000, rate=16000, seed=1)
    lines = []
    for dtype in ("float32", "int16"):
        x = pcm if dtype == "int16" else pcm.astype(np.float32) / 32768
        one = np.asarray(soxr.resample(x, 16000, 24000, quality="HQ"), dtype=np.float64)
        whole = soxr.ResampleStream(16000, 24000, 1, dtype=dtype, quality="HQ")
        fed_whole = np.asarray(whole.resample_chunk(x, last=True), dtype=np.float64)
        stream = soxr.ResampleStream(16000, 24000, 1, dtype=dtype, quality="HQ")
        parts = [stream.resample_chunk(c, last=False) for c in chunk_pcm16(x, 20, 16000)]
        parts.append(stream.resample_chunk(x[:0], last=True))
        chunked = np.concatenate(parts).astype(np.float64)
        scale = 1.0 if dtype == "int16" else 32768.0

        def lsb(a: npt.NDArray[Any], b: npt.NDArray[Any], scale: float = scale) -> str:
            if len(a) != len(b):
                return f"lengths differ ({len(a)} vs {len(b)})"
            return f"{np.abs(a - b).max(initial=0) * scale:.3g} LSB"

        lines.append(
            f"soxr {dtype:7}  resample vs stream fed whole: {lsb(one, fed_whole):9}  "
            f"resample vs stream in 20 ms chunks: {lsb(one, chunked)}"
        )
    return lines


def run_resampler(seconds: float = 10.0) -> dict[str, Any]:
    """The issue-12 figures for whichever ``oairt_core`` is imported."""
    from oairt_core import audio

    pcm = synth_speech(seconds * 1000, rate=16000, seed=1)
    chunks = list(chunk_pcm16(pcm, ms=20, rate=16000))
    one_shot = resample(pcm, 16000, 24000)
    held: list[int] = []

    def streamed() -> npt.NDArray[Any]:
        rs = StreamingResampler(16000, 24000)
        parts, n_in, n_out = [], 0, 0
        held.clear()
        for chunk in chunks:
            parts.append(rs.process(chunk))
            n_in += len(chunk)
            n_out += len(parts[-1])
            held.append(n_in * 3 // 2 - n_out)
        parts.append(rs.flush())
        return np.concatenate(parts)

    out = streamed()
    raw_ms = float("nan")
    try:
        import soxr  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        pass
    else:
        as_float = [c.astype(np.float32) / 32768 for c in chunks]

        def raw() -> None:
            stream = soxr.ResampleStream(16000, 24000, 1, dtype="float32", quality="HQ")
            for chunk in as_float:
                stream.resample_chunk(chunk, last=False)
            stream.resample_chunk(as_float[0][:0], last=True)

        raw_ms = 1000 * _cpu_best(raw)
    return {
        "soxr_raw_stream20ms_ms": raw_ms,
        "implementation": "libsoxr" if hasattr(audio, "RESAMPLE_QUALITIES") else "polyphase",
        "module": audio.__file__,
        "one_shot_ms": 1000 * _cpu_best(lambda: resample(pcm, 16000, 24000)),
        "stream20ms_ms": 1000 * _cpu_best(streamed),
        "snr_db": _quality(resample, 16000, 24000)[0],
        "stream_vs_one_shot_lsb": int(np.abs(out.astype(int) - one_shot.astype(int)).max()),
        "length": (len(out), len(one_shot)),
        "held_max_ms": max(held[5:]) / 24,
    }


def _session_error(rate: int, chunk: int, seconds: float = 2.0) -> tuple[int, int]:
    """(max LSB error, extra samples) of what VoiceSession sends vs one-shot resampling."""
    from oairt_core.events import InputAudioBufferAppendEvent
    from oairt_core.voice import VoiceConfig, VoiceSession

    n = int(seconds * rate)
    t = np.arange(n) / rate
    tones = 9000 * np.sin(2 * np.pi * 440 * t) + 7000 * np.sin(2 * np.pi * 1900 * t)
    pcm = np.rint(tones).astype(np.int16)
    session = VoiceSession(VoiceConfig(turn_detection=None))
    session.start()
    session.events_to_send()
    events: list[Any] = []
    for start in range(0, n, chunk):
        events += session.send_pcm16(pcm[start : start + chunk], sample_rate=rate)
    session.commit(respond=False)
    events += session.events_to_send()
    sent = b"".join(e.audio for e in events if isinstance(e, InputAudioBufferAppendEvent))
    got = np.frombuffer(sent, dtype="<i2").astype(int)
    ref = resample(pcm, rate, 24000).astype(int)
    m = min(len(got), len(ref))
    return int(np.abs(got[:m] - ref[:m]).max(initial=0)), len(got) - len(ref)


def _print_resampler(seconds: float) -> None:
    r = run_resampler(seconds)
    print(f"{seconds:g} s of 16 kHz speech -> 24 kHz, {r['implementation']} ({r['module']})")
    print(f"one-shot                 {r['one_shot_ms']:8.1f} ms CPU (best of 7)")
    print(f"in 20 ms chunks          {r['stream20ms_ms']:8.1f} ms CPU (best of 7)")
    raw = r["soxr_raw_stream20ms_ms"]
    print(f"  (bare soxr.ResampleStream, float32 chunks: {raw:.1f} ms CPU)")
    print(f"SNR, 1 kHz sine          {r['snr_db']:8.1f} dB")
    lsb, length = r["stream_vs_one_shot_lsb"], r["length"]
    print(f"stream vs one-shot       {lsb:8d} LSB max, lengths {length}")
    print(f"held back (20 ms chunks) {r['held_max_ms']:8.1f} ms max")
    for rate, chunk in [(16000, 320), (44100, 1024)]:
        err, extra = _session_error(rate, chunk)
        print(
            f"send_pcm16, 2 s two-tone at {rate} Hz in {chunk}-sample chunks: "
            f"{err} LSB max from one-shot, {extra:+d} samples"
        )
    for line in _soxr_equivalence(seconds):
        print(line)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if np.isnan(value) else f"{value:,.1f}"
    return str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="signal length per test")
    parser.add_argument(
        "--resampler", action="store_true", help="only the 16k->24k microphone figures"
    )
    args = parser.parse_args(argv)
    if args.resampler:
        _print_resampler(args.seconds)
        return
    rows = run(args.seconds)
    keys = [
        "name",
        "oairt_x_realtime",
        "oairt_stream20ms_x_realtime",
        "oairt_snr_db",
        "oairt_alias_dbfs",
        "scipy_x_realtime",
        "scipy_snr_db",
        "scipy_alias_dbfs",
    ]
    keys = [k for k in keys if any(k in r for r in rows)]
    widths = [max(len(k), *(len(_fmt(r.get(k, ""))) for r in rows)) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for r in rows:
        print("  ".join(_fmt(r.get(k, "")).ljust(w) for k, w in zip(keys, widths, strict=True)))
    if not any("scipy_x_realtime" in r for r in rows):
        print("(scipy not installed: no resample_poly comparison)")


if __name__ == "__main__":
    main()
