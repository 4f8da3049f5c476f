"""Audio helper benchmark: resampler speed and quality, G.711 throughput.

Run: ``.venv/bin/python -m benchmarks.audio_bench`` (``--seconds 10`` for longer signals).
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


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "n/a" if np.isnan(value) else f"{value:,.1f}"
    return str(value)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0, help="signal length per test")
    args = parser.parse_args(argv)
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
