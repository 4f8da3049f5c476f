"""Opt-in reconnection on anyio: a Realtime connection that survives dropped connections.

>>> async def main() -> None:  # doctest: +SKIP
...     policy = ReconnectPolicy(max_attempts=5, replay_items=True)
...     async with connect_resilient(api_key="sk-...", model="gpt-realtime", policy=policy) as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             if isinstance(event, (ResponseLost, InputAudioLost)):
...                 ...  # tell the user, re-send the audio, ask again
...             print(type(event).__name__)

All decisions (which close codes to recover from, the backoff, what to re-send,
what to report lost) are made by :class:`oairt_core.reconnect.ReconnectState`,
and the sequencing lives in :class:`oairt_core.resilient_driver.ResilientDriver`;
this module only supplies anyio's primitives: opening a connection in the block's
task group, sleeping, events, cancel scopes and a bounded memory stream.

How it behaves:

* Events come out in order: every server event that arrived on a connection, then
  the notices about its end (:class:`ResponseLost`, :class:`InputAudioLost`,
  :class:`ItemsLost`), :class:`Reconnecting` per attempt, :class:`Reconnected`,
  then the new connection's events (``session.created`` first). Reconnection
  happens in that order, so keep reading events.
* Each reconnection is a **new session**: the merged ``session.update`` the client
  sent is re-applied (and, with ``replay_items``, the replayable conversation items
  are re-created) before any of your own events go out.
* :meth:`ResilientConnection.send` waits while reconnecting and sends on the new
  connection; an event whose write failed because the connection dropped is sent
  again on the new one (it belongs to the new session). It raises
  :class:`ConnectionClosedError` once reconnection has given up.
* When it gives up (:class:`ReconnectFailed`, a close code that is not recoverable,
  a refused handshake such as 401), iteration yields the notice and then raises
  :class:`ConnectionClosedError` with the last close code.
* Everything runs in the block's task group: leaving the block leaves no task behind.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc

from oairt_core.reconnect import RandomSource, ReconnectPolicy, ReconnectState
from oairt_core.resilient_driver import ResilientDriver, ResilientEvent, resilient_block

from .connection import AnyioConnection, start_connection

__all__ = ["ResilientConnection", "ResilientEvent", "connect_resilient"]


class ResilientConnection(ResilientDriver[AnyioConnection]):
    """A Realtime connection that reconnects; get one from :func:`connect_resilient`."""

    _END = (anyio.EndOfStream, anyio.ClosedResourceError)
    _GONE = (anyio.BrokenResourceError, anyio.ClosedResourceError)

    def __init__(
        self,
        state: ReconnectState,
        task_group: anyio.abc.TaskGroup,
        first: AnyioConnection,
        connect_kwargs: dict[str, Any],
        *,
        max_buffered_events: int,
        clock: Callable[[], float],
    ) -> None:
        self._tg = task_group
        channel = anyio.create_memory_object_stream[ResilientEvent](max_buffered_events)
        super().__init__(state, first, connect_kwargs, channel=channel, clock=clock)

    def _new_event(self) -> anyio.Event:
        return anyio.Event()

    def _cancel_scope(self, *, shield: bool = False) -> anyio.CancelScope:
        return anyio.CancelScope(shield=shield)

    def _move_on_after(self, seconds: float) -> anyio.CancelScope:
        return anyio.move_on_after(seconds)

    async def _sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    async def _open(self) -> AnyioConnection:
        return await start_connection(self._tg, **self._kwargs)


@asynccontextmanager
async def connect_resilient(
    *,
    policy: ReconnectPolicy | None = None,
    rng: RandomSource | None = None,
    clock: Callable[[], float] | None = None,
    max_buffered_events: int = 256,
    **connect_kwargs: Any,
) -> AsyncIterator[ResilientConnection]:
    """Like :func:`oairt_anyio.connect` (same keyword arguments), reconnecting per ``policy``.

    The first connection is opened before the block starts; its failure raises as with
    ``connect`` (reconnection is for connections that were up). ``rng`` (jitter) and
    ``clock`` (defaults to ``anyio.current_time``) are injectable for tests.
    """
    async with resilient_block(
        anyio.create_task_group(),
        ResilientConnection,
        start_connection,
        policy=policy,
        rng=rng,
        clock=clock or anyio.current_time,
        max_buffered_events=max_buffered_events,
        connect_kwargs=connect_kwargs,
    ) as conn:
        yield conn
