"""How every ``oairt`` subcommand runs its async body: asyncio, on uvloop when installed.

uvloop (``pip install 'oairt[uvloop]'``) cuts the CPU per session-second of a live session
(docs/benchmarks.md has the rows with and without it); anyio takes it as a backend option
and refuses the option when uvloop is missing, hence the check. ``OAIRT_UVLOOP=0`` turns
it off (to compare, or to rule it out when debugging).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

__all__ = ["run", "uvloop_wanted"]

T = TypeVar("T")


def uvloop_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """True when uvloop is installed and not switched off with ``OAIRT_UVLOOP=0``.

    >>> uvloop_wanted({"OAIRT_UVLOOP": "0"})
    False
    """
    env = os.environ if environ is None else environ
    if env.get("OAIRT_UVLOOP", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return importlib.util.find_spec("uvloop") is not None


def run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``anyio.run(fn, *args)`` on asyncio, with uvloop when :func:`uvloop_wanted`."""
    return anyio.run(fn, *args, backend="asyncio", backend_options={"use_uvloop": uvloop_wanted()})
