"""Voice sessions on anyio (asyncio or trio backend): a thin driver of the sans-IO core.

All decisions (barge-in, truncation, tool batching, MCP approvals) are made by
:class:`oairt_core.session.VoiceSession`, and the async API is
:class:`oairt_core.voice_driver.VoiceDriver`; this module supplies the anyio
parts: the connection, the bounded event buffer, the task group, cancel scopes
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

**Tools** run as tasks of the session's task group: async functions are
awaited, sync ones run in a worker thread (``anyio.to_thread.run_sync``,
abandoned if a barge-in cancels them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc

from oairt_core.protocols import AsyncRealtimeConnection
from oairt_core.session import VoiceSession
from oairt_core.voice_driver import VoiceBuilder, VoiceConnector, VoiceDriver
from oairt_core.voice_events import VoiceEvent

from .connection import connect

__all__ = ["Realtime", "RealtimeBuilder", "RealtimeSession", "connect_voice"]


class RealtimeSession(VoiceDriver):
    """A live voice session on anyio, made by :func:`connect_voice` (API: ``VoiceDriver``)."""

    _END = (anyio.EndOfStream,)
    _GONE = (anyio.ClosedResourceError, anyio.BrokenResourceError)

    def __init__(
        self,
        conn: AsyncRealtimeConnection,
        core: VoiceSession,
        tg: anyio.abc.TaskGroup,
        event_buffer: int,
    ) -> None:
        super().__init__(
            conn,
            core,
            lock=anyio.Lock(),
            channel=anyio.create_memory_object_stream[VoiceEvent](event_buffer),
            start_soon=tg.start_soon,
            cancel_all=tg.cancel_scope.cancel,
        )

    def _now(self) -> float:
        return anyio.current_time()

    def _cancel_scope(self, *, shield: bool = False) -> anyio.CancelScope:
        return anyio.CancelScope(shield=shield)

    async def _run_sync(self, fn: Callable[[], Any]) -> Any:
        return await anyio.to_thread.run_sync(fn, abandon_on_cancel=True)


connect_voice: VoiceConnector[RealtimeSession] = VoiceConnector(
    RealtimeSession, connect, anyio.create_task_group, os.environ
)
"""``async with connect_voice(config, **options) as session``: see :class:`VoiceConnector`."""


class RealtimeBuilder(VoiceBuilder[RealtimeSession]):
    """The seed's builder on anyio, ending in ``connect_ws()`` (see :func:`connect_voice`).

    >>> session_cm = (Realtime.builder().api_key("sk-test-123456789").voice_session()
    ...               .voice("alloy").vad_server_default().connect_ws())
    >>> hasattr(session_cm, "__aenter__")
    True
    """

    connector = connect_voice


Realtime = RealtimeBuilder
"""``Realtime.builder()...connect_ws()``, as in the seed SDK (the builder class itself)."""
