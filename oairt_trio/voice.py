"""Voice sessions on trio: a thin driver of the sans-IO core (same API as ``oairt_anyio.voice``).

All decisions (barge-in, truncation, tool batching, MCP approvals) are made by
:class:`oairt_core.session.VoiceSession`, and the async API is
:class:`oairt_core.voice_driver.VoiceDriver`; this module supplies the trio
parts: the connection, the bounded memory channel, the nursery, cancel scopes
and worker threads.

>>> async def main() -> None:                       # doctest: +SKIP
...     config = (Realtime.builder().api_key("sk-...").voice_session().voice("alloy")
...               .vad_server_default().transcription("gpt-4o-transcribe").build())
...     async with connect_voice(config) as session:
...         async for event in session:
...             if isinstance(event, AudioDelta):
...                 play(event.pcm)                    # PCM16 @ 24 kHz
...             elif isinstance(event, TranscriptDone):
...                 print("assistant:", event.text)

**Buffering.** Voice events wait in a bounded buffer (``event_buffer``, 256 by
default). When the app does not read them the reader stops reading the socket
until there is room (TCP flow control slows the server): nothing is dropped and
memory stays bounded, but automatic barge-in also waits, so keep reading.

**Tools** run as tasks of the session's nursery: async functions are awaited,
sync ones run in a worker thread (``trio.to_thread.run_sync``, abandoned if a
barge-in cancels them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import trio

from oairt_core.protocols import AsyncRealtimeConnection
from oairt_core.session import VoiceSession
from oairt_core.voice_driver import VoiceBuilder, VoiceConnector, VoiceDriver
from oairt_core.voice_events import VoiceEvent

from .connection import open_realtime

__all__ = ["Realtime", "RealtimeBuilder", "RealtimeSession", "connect_voice"]


class RealtimeSession(VoiceDriver):
    """A live voice session on trio, made by :func:`connect_voice` (API: ``VoiceDriver``)."""

    _END = (trio.EndOfChannel,)
    _GONE = (trio.ClosedResourceError, trio.BrokenResourceError)

    def __init__(
        self,
        conn: AsyncRealtimeConnection,
        core: VoiceSession,
        tg: trio.Nursery,
        event_buffer: int,
    ) -> None:
        super().__init__(
            conn,
            core,
            lock=trio.Lock(),
            channel=trio.open_memory_channel[VoiceEvent](event_buffer),
            start_soon=tg.start_soon,
            cancel_all=tg.cancel_scope.cancel,
        )

    def _now(self) -> float:
        return trio.current_time()

    def _cancel_scope(self, *, shield: bool = False) -> trio.CancelScope:
        return trio.CancelScope(shield=shield)

    async def _run_sync(self, fn: Callable[[], Any]) -> Any:
        return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)


connect_voice: VoiceConnector[RealtimeSession] = VoiceConnector(
    RealtimeSession, open_realtime, trio.open_nursery, os.environ
)
"""``async with connect_voice(config, **options) as session``: see :class:`VoiceConnector`."""


class RealtimeBuilder(VoiceBuilder[RealtimeSession]):
    """The seed's builder on trio, ending in ``connect_ws()`` (see :func:`connect_voice`)."""

    connector = connect_voice


Realtime = RealtimeBuilder
"""``Realtime.builder()...connect_ws()``, as in the seed SDK (the builder class itself)."""
