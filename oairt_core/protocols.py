"""The shape shared by the async connection objects of every adapter.

``oairt_anyio.AnyioConnection`` and ``oairt_trio.TrioConnection`` both satisfy
:class:`AsyncRealtimeConnection`, so code written against it (a voice session driver,
a test harness) runs on either::

    async def drain(conn: AsyncRealtimeConnection) -> list[IncomingEvent]:
        return [event async for event in conn]

Both build on :class:`oairt_core.driver.AsyncConnectionBase` (the shared properties, sends
and iteration) and :class:`oairt_core.driver.ConnectionDriver` (every decision).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from .connection import ConnectionClosed, ConnectionState, IncomingEvent
from .events import ClientEvent

__all__ = ["AsyncRealtimeConnection"]


@runtime_checkable
class AsyncRealtimeConnection(Protocol):
    """An open Realtime WebSocket connection driven by some event loop.

    ``next_event()`` returns server events (and ``MalformedServerEvent``) and raises
    ``ConnectionClosedError`` (or the protocol error the client closed for) once every
    event received before the close was returned; ``async for`` ends quietly on a normal
    close. ``send()`` sends a whole frame or nothing: a send cancelled part-way aborts the
    connection (later calls raise ``ConnectionClosedError`` saying so).
    """

    @property
    def state(self) -> ConnectionState: ...

    @property
    def is_sideband(self) -> bool: ...

    @property
    def closed(self) -> ConnectionClosed | None: ...

    async def send(self, event: ClientEvent) -> None: ...

    async def send_raw(self, text: str) -> None: ...

    async def next_event(self) -> IncomingEvent: ...

    def __aiter__(self) -> AsyncIterator[IncomingEvent]: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...
