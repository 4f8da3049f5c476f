"""Voice sessions on trio: a thin driver of the sans-IO core (same API as ``oairt_anyio.voice``).

All decisions (barge-in, truncation, tool batching, MCP approvals) are made by
:class:`oairt_core.session.VoiceSession`; this module only moves events between
it and the WebSocket connection and runs tools in the session's task group.

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

import inspect
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import numpy.typing as npt
import trio

from oairt_core.config import RealtimeBuilder as _CoreBuilder
from oairt_core.config import VoiceConfig
from oairt_core.errors import OairtError
from oairt_core.models import ConversationItem, ResponseCreateParams
from oairt_core.protocols import AsyncRealtimeConnection
from oairt_core.redact import Secret
from oairt_core.session import ApprovalJob, ResponseBuilder, ToolRun, VoiceSession
from oairt_core.voice_events import (
    AudioDelta,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    TranscriptDone,
    VoiceEvent,
)

__all__ = ["Realtime", "RealtimeBuilder", "RealtimeSession", "connect_voice"]

_GONE = (trio.ClosedResourceError, trio.BrokenResourceError)


class RealtimeSession:
    """A live voice session, made by :func:`connect_voice`.

    Read with :meth:`next_voice_event` (or ``async for``), send audio with
    :meth:`send_pcm16` / :meth:`stream_audio_pcm16`, report playback with
    :meth:`mark_played`, interrupt with :meth:`barge_in`. ``core`` is the
    sans-IO :class:`~oairt_core.session.VoiceSession` underneath.
    """

    def __init__(
        self,
        conn: AsyncRealtimeConnection,
        core: VoiceSession,
        tg: trio.Nursery,
        event_buffer: int,
    ) -> None:
        self._conn = conn
        self.core = core
        self._tg = tg
        self._lock = trio.Lock()
        self._tx, self._rx = trio.open_memory_channel[VoiceEvent](event_buffer)
        self._tool_scopes: dict[str, trio.CancelScope] = {}
        self.closed = False

    @property
    def config(self) -> VoiceConfig:
        return self.core.config

    # ------------------------------------------------------------ reading

    async def next_voice_event(self) -> VoiceEvent | None:
        """The next voice event, or ``None`` once the session has ended.

        Buffered audio and transcript events of an interrupted response are
        skipped: the user must not hear them.
        """
        while True:
            try:
                event = await self._rx.receive()
            except (trio.EndOfChannel, *_GONE):
                return None
            if not self.core.is_discarded(event):
                return event

    async def next_audio_chunk(self) -> AudioDelta | None:
        """The next :class:`AudioDelta` (other events are skipped), or ``None`` at the end."""
        while (event := await self.next_voice_event()) is not None:
            if isinstance(event, AudioDelta):
                return event
        return None

    async def next_transcript(self) -> TranscriptDone | InputTranscriptDone | None:
        """The next finished transcript, assistant's or user's (``.text``, ``.role``)."""
        while (event := await self.next_voice_event()) is not None:
            if isinstance(event, (TranscriptDone, InputTranscriptDone)):
                return event
        return None

    def __aiter__(self) -> AsyncIterator[VoiceEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[VoiceEvent]:
        while (event := await self.next_voice_event()) is not None:
            yield event

    # ------------------------------------------------------------ sending

    async def send_pcm16(
        self, samples: npt.NDArray[Any] | bytes, *, sample_rate: int | None = None
    ) -> None:
        """Send microphone audio: int16 or float32 numpy array, or PCM16 bytes."""
        events = self.core.send_pcm16(samples, sample_rate=sample_rate)
        # Not under the session lock: a long upload must not delay the reader (and an
        # automatic barge-in); each append is still one whole frame.
        for event in events:
            await self._conn.send(event)

    async def stream_audio_pcm16(
        self,
        chunks: AsyncIterable[npt.NDArray[Any] | bytes],
        *,
        sample_rate: int | None = None,
    ) -> None:
        """Send each chunk as it comes, awaiting every send (backpressure).

        Returns when ``chunks`` ends or the session closes.
        """
        async for chunk in chunks:
            if self.closed:
                return
            try:
                await self.send_pcm16(chunk, sample_rate=sample_rate)
            except (OairtError, *_GONE):
                if self.closed or self._conn.closed is not None:
                    return
                raise

    async def commit(self, *, respond: bool = True) -> None:
        """Push-to-talk: commit the input audio (and request a reply)."""
        await self._call(self.core.commit, respond=respond)

    async def clear_input(self) -> None:
        """Drop the input audio appended since the last commit."""
        await self._call(self.core.clear_input)

    async def barge_in(self) -> Interrupted | None:
        """Interrupt now: cancel, truncate at what was heard, drop queued audio.

        Returns the :class:`Interrupted` event (``None`` when nothing was
        playing); it is returned, not also put in the event buffer.
        """
        async with self._lock:
            events = self.core.barge_in(trio.current_time())
            rest = await self._after()
        if rest:
            self._tg.start_soon(self._deliver, rest)
        return next((e for e in events if isinstance(e, Interrupted)), None)

    def mark_played(self, item_id: str, ms: float) -> None:
        """Report that ``ms`` milliseconds of ``item_id`` were played to the user."""
        self.core.mark_played(item_id, ms)

    def played_until(self, ms: float) -> None:
        """:meth:`mark_played` for the item currently being received."""
        self.core.played_until(ms)

    async def create_response(
        self, response: ResponseBuilder | ResponseCreateParams | None = None
    ) -> None:
        """Send ``response.create`` (see :class:`~oairt_core.session.ResponseBuilder`)."""
        await self._call(self.core.create_response, response)

    async def send_text(self, text: str, *, respond: bool = True) -> None:
        """Add a user text message (and request a reply)."""
        await self._call(self.core.send_text, text, respond=respond)

    async def send_item(self, item: ConversationItem) -> None:
        """Send ``conversation.item.create``."""
        await self._call(self.core.send_item, item)

    async def update(self, **changes: Any) -> None:
        """Re-configure the live session; only the changed fields are sent."""
        await self._call(self.core.update, **changes)

    async def approve(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Approve an MCP tool call."""
        await self._call(self.core.approve, request, reason)

    async def deny(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Refuse an MCP tool call."""
        await self._call(self.core.deny, request, reason)

    async def tool_finished(
        self, call_id: str, output: Any = None, *, error: BaseException | None = None
    ) -> None:
        """Answer a call of a raw ``FunctionTool`` (typed tools are answered for you)."""
        await self._call(self.core.tool_finished, call_id, output, error=error)

    async def aclose(self) -> None:
        """End the session now (leaving ``connect_voice`` does it too)."""
        self.closed = True
        self._tg.cancel_scope.cancel()

    # ------------------------------------------------------------ internals

    async def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        async with self._lock:
            fn(*args, **kw)
            events = await self._after()
        if events:
            # Delivered by a task: the caller may be the one reading the buffer.
            self._tg.start_soon(self._deliver, events)

    async def _locked(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Like ``_call`` for the session's own tasks: deliver here, with backpressure."""
        async with self._lock:
            fn(*args, **kw)
            events = await self._after()
        await self._deliver(events)

    async def _after(self) -> list[VoiceEvent]:
        """Send what the core produced, hand work to the task group (lock held)."""
        # Shielded: a cancelled caller must not leave drained events unsent.
        with trio.CancelScope(shield=True):
            for event in self.core.events_to_send():
                await self._conn.send(event)
        for call_id in self.core.tools_to_cancel():
            scope = self._tool_scopes.pop(call_id, None)
            if scope is not None:
                scope.cancel()
        for run in self.core.tool_runs():
            self._tool_scopes[run.call_id] = scope = trio.CancelScope()
            self._tg.start_soon(self._run_tool, run, scope)
        for job in self.core.approval_jobs():
            self._tg.start_soon(self._run_approval, job)
        return self.core.voice_events()

    async def _deliver(self, events: list[VoiceEvent]) -> None:
        for event in events:
            try:
                await self._tx.send(event)  # blocks while the buffer is full
            except _GONE:
                return

    async def _run_tool(self, run: ToolRun, scope: trio.CancelScope) -> None:
        result: Any = None
        error: BaseException | None = None
        with scope:
            try:
                if run.is_async:
                    result = await run.func(*run.args)
                else:
                    result = await trio.to_thread.run_sync(
                        lambda: run.func(*run.args), abandon_on_cancel=True
                    )
            except Exception as exc:  # goes back to the model; the session goes on
                error = exc
        self._tool_scopes.pop(run.call_id, None)
        if not scope.cancel_called:
            await self._locked(self.core.tool_finished, run.call_id, result, error=error)

    async def _run_approval(self, job: ApprovalJob) -> None:
        try:
            answer: Any = job.callback(job.request)
            if inspect.isawaitable(answer):
                answer = await answer
            approve, reason = answer if isinstance(answer, tuple) else (bool(answer), None)
        except Exception as exc:
            await self._locked(self.core.approval_failed, job.request, exc)
            return
        await self._locked(self.core.approve if approve else self.core.deny, job.request, reason)

    async def _reader(self) -> None:
        try:
            while True:
                try:
                    event = await self._conn.next_event()
                except OairtError as exc:
                    closed = self._conn.closed
                    if not (closed is not None and closed.normal):
                        await self._locked(self.core.connection_lost, exc)
                    return
                async with self._lock:
                    self.core.receive_event(event, trio.current_time())
                    events = await self._after()
                await self._deliver(events)
        finally:
            self.closed = True
            self._tx.close()


@asynccontextmanager
async def connect_voice(
    config: VoiceConfig | _CoreBuilder | None = None,
    *,
    base_url: str | None = None,
    ssl: Any = None,
    call_id: str | None = None,
    event_buffer: int = 256,
    **options: Any,
) -> AsyncIterator[RealtimeSession]:
    """Open a voice session: connect, apply the configuration, run the reader.

    ``config`` is a :class:`VoiceConfig` or a builder; keyword ``options`` are
    :class:`VoiceConfig` fields (``voice=``, ``api_key=``, ...). The API key
    defaults to ``$OPENAI_API_KEY``. ``base_url``/``ssl`` reach a fake server or
    a proxy. ``call_id`` joins a WebRTC/SIP call as its sideband controller.
    Invalid configurations raise ``InvalidClientEvent`` before connecting.
    Exceptions from the block come out unwrapped.
    """
    from .connection import open_realtime

    if event_buffer < 1:
        raise ValueError("event_buffer must be at least 1")
    cfg = _resolve_config(config, options)
    kwargs = _connect_kwargs(cfg, base_url=base_url, ssl=ssl, call_id=call_id)
    body_error: Exception | None = None
    async with open_realtime(**kwargs) as conn:
        core = VoiceSession(cfg, sideband=conn.is_sideband)
        async with trio.open_nursery() as tg:
            session = RealtimeSession(conn, core, tg, event_buffer)
            await session._call(core.start)
            tg.start_soon(session._reader)
            try:
                yield session
            except Exception as exc:  # kept out of the nursery: no ExceptionGroup
                body_error = exc
            finally:
                session.closed = True
                tg.cancel_scope.cancel()
    if body_error is not None:
        raise body_error


def _resolve_config(
    config: VoiceConfig | _CoreBuilder | None, options: dict[str, Any]
) -> VoiceConfig:
    if isinstance(config, _CoreBuilder):
        config = config.build()
    cfg = (config or VoiceConfig()).replace(**options) if options else (config or VoiceConfig())
    cfg.to_session_config()  # invalid combinations fail before connecting
    return cfg


def _connect_kwargs(
    cfg: VoiceConfig, *, base_url: str | None, ssl: Any, call_id: str | None
) -> dict[str, Any]:
    key = cfg.api_key or Secret(os.environ.get("OPENAI_API_KEY", ""))
    kwargs: dict[str, Any] = {"api_key": key}
    if call_id is not None:
        kwargs["call_id"] = call_id
    elif cfg.kind == "transcription":
        kwargs["intent"] = "transcription"
    else:
        kwargs["model"] = cfg.model
    if base_url is not None:
        kwargs["base_url"] = base_url
    if ssl is not None:
        kwargs["ssl"] = ssl
    return kwargs


class RealtimeBuilder(_CoreBuilder):
    """The seed's builder, ending in :meth:`connect_ws`.

    >>> session_cm = (Realtime.builder().api_key("sk-test-123456789").voice_session()
    ...               .voice("alloy").vad_server_default().connect_ws())
    >>> hasattr(session_cm, "__aenter__")
    True
    """

    def connect_ws(self, **kwargs: Any) -> AbstractAsyncContextManager[RealtimeSession]:
        """``async with builder.connect_ws() as session``: see :func:`connect_voice`."""
        return connect_voice(self, **kwargs)


class Realtime:
    """``Realtime.builder()...connect_ws()``, as in the seed SDK."""

    @staticmethod
    def builder() -> RealtimeBuilder:
        return RealtimeBuilder()
