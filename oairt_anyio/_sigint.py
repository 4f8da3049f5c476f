"""Ctrl-C as it leaves ``anyio.run``, the same on every supported Python.

On 3.11+ asyncio's ``Runner`` cancels the main task on SIGINT and then raises
``KeyboardInterrupt``. On 3.10 anyio runs its backport of ``Runner``, which cannot tell its own
cancellation apart (``Task.uncancel`` is 3.11+) and lets the bare ``CancelledError`` escape
instead. Nothing else cancels the main task from outside, so on 3.10 that is Ctrl-C too.

>>> is_interrupt(KeyboardInterrupt())
True
>>> is_interrupt(ValueError())
False
"""

from __future__ import annotations

import asyncio
import sys

__all__ = ["is_interrupt"]


def is_interrupt(exc: BaseException) -> bool:
    """True if ``exc``, escaping ``anyio.run``, means the user pressed Ctrl-C."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return sys.version_info < (3, 11) and isinstance(exc, asyncio.CancelledError)
