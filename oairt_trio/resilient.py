"""Opt-in reconnection on trio: a Realtime connection that survives dropped connections.

>>> async def main() -> None:  # doctest: +SKIP
...     policy = ReconnectPolicy(max_attempts=5, replay_items=True)
...     async with open_resilient(api_key="sk-...", model="gpt-realtime", policy=policy) as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             if isinstance(event, (ResponseLost, InputAudioLost)):
...                 ...  # tell the user, re-send the audio, ask again
...             print(type(event).__name__)

The trio twin of :mod:`oairt_anyio.resilient` (same behaviour, see its docstring):
decisions come from :class:`oairt_core.reconnect.ReconnectState` and the sequencing
from :class:`oairt_core.resilient_driver.ResilientDriver`; this module opens
connections with :func:`oairt_trio.connect_realtime` in its own nursery, sleeps with
``trio.sleep`` and moves events through a bounded memory channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from oairt_core.reconnect import RandomSource, ReconnectPolicy, ReconnectState
from oairt_core.resilient_driver import ResilientDriver, ResilientEvent, resilient_block

from .connection import TrioConnection, connect_realtime

__all__ = ["ResilientTrioConnection", "ResilientEvent", "open_resilient"]


class ResilientTrioConnection(ResilientDriver[TrioConnection]):
    """A Realtime connection that reconnects; get one from :func:`open_resilient`."""

    _END = (trio.EndOfChannel, trio.ClosedResourceError)
    _GONE = (trio.BrokenResourceError, trio.ClosedResourceError)

    def __init__(
        self,
        state: ReconnectState,
        nursery: trio.Nursery,
        first: TrioConnection,
        connect_kwargs: dict[str, Any],
        *,
        max_buffered_events: int,
        clock: Callable[[], float],
    ) -> None:
        self._nursery = nursery
        channel = trio.open_memory_channel[ResilientEvent](max_buffered_events)
        super().__init__(state, first, connect_kwargs, channel=channel, clock=clock)

    def _new_event(self) -> trio.Event:
        return trio.Event()

    def _cancel_scope(self, *, shield: bool = False) -> trio.CancelScope:
        return trio.CancelScope(shield=shield)

    def _move_on_after(self, seconds: float) -> trio.CancelScope:
        return trio.move_on_after(seconds)

    async def _sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)

    async def _open(self) -> TrioConnection:
        return await connect_realtime(self._nursery, **self._kwargs)


@asynccontextmanager
async def open_resilient(
    *,
    policy: ReconnectPolicy | None = None,
    rng: RandomSource | None = None,
    clock: Callable[[], float] | None = None,
    max_buffered_events: int = 256,
    **connect_kwargs: Any,
) -> AsyncIterator[ResilientTrioConnection]:
    """Like :func:`oairt_trio.open_realtime` (same keyword arguments), reconnecting per
    ``policy``. The first connection's failure raises as with ``open_realtime``.
    """
    async with resilient_block(
        trio.open_nursery(),
        ResilientTrioConnection,
        connect_realtime,
        policy=policy,
        rng=rng,
        clock=clock or trio.current_time,
        max_buffered_events=max_buffered_events,
        connect_kwargs=connect_kwargs,
    ) as conn:
        yield conn
