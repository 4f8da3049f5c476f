"""Helpers for the atheris harnesses: turn fuzzer bytes into seed mutations."""

from __future__ import annotations

from typing import Any

from fuzz.corpus import HOSTILE_VALUES, mutate_bytes, replace_value


def structured(fdp: Any, seeds: list[bytes]) -> bytes:
    """One input: raw bytes, a byte-mutated seed, or a seed with a hostile value inside."""
    mode = fdp.ConsumeIntInRange(0, 3)
    if mode == 0:
        return bytes(fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 4096)))
    seed: bytes = seeds[fdp.ConsumeIntInRange(0, len(seeds) - 1)]
    if mode == 1 or mode == 3:
        ops = [
            (
                fdp.ConsumeIntInRange(0, 5),
                fdp.ConsumeIntInRange(0, 1 << 16),
                fdp.ConsumeIntInRange(0, 255),
            )
            for _ in range(fdp.ConsumeIntInRange(1, 8))
        ]
        data = mutate_bytes(seed, ops)
        if mode == 3:
            data += bytes(fdp.ConsumeBytes(64))
        return data
    try:
        which = fdp.ConsumeIntInRange(0, 500)
        value = HOSTILE_VALUES[fdp.ConsumeIntInRange(0, len(HOSTILE_VALUES) - 1)]
        return bytes(replace_value(seed, which, value))
    except ValueError:
        return seed
