"""The async voice session, written once over a :class:`~._backend.Backend`.

:class:`AsyncVoiceSession` holds every async method of a live voice session
(``next_voice_event``, ``send_pcm16``, ``barge_in``, ...) and its tasks (the
reader, tool runs, approval callbacks). It makes no decision: each input goes to
the sans-IO :class:`~oairt_core._session.VoiceSession` and the
:class:`~oairt_core.voice_state.VoiceActions` it returns are carried out.

**Buffering.** Voice events wait in a bounded buffer (``event_buffer``, 256). When
the app does not read them the reader stops reading the connection (TCP flow
control slows the server): nothing is dropped, memory stays bounded, but automatic
barge-in waits too, so keep reading.

**Tools** run as tasks of the session: async functions are awaited, sync ones run
in a worker thread (abandoned if a barge-in cancels them).

**Reconnection** (``open_voice(..., reconnect=ReconnectPolicy())``): the session
runs over the reconnecting connection. A drop (1001, 1005, 1006, 1011, 1012, 1013,
1015, a lost TCP connection, a keepalive timeout) is followed by a new connection
with backoff; the configuration is re-applied and the conversation replayed (on by
default for a voice session; ``ReconnectPolicy(replay_items=False)`` opts out),
function-call outputs and a ``response.create`` the server never acknowledged are
sent again. What was lost comes as typed notices in the voice event stream
(:class:`ResponseLost`, :class:`InputAudioLost`, :class:`ItemsLost`, then
:class:`Reconnecting` per attempt and :class:`Reconnected`); playback and barge-in
accounting start afresh, since the responses that were playing are gone. **Tools
running at the drop finish**, and their output is delivered to the new session
(the sends wait for the reconnection; with replay, the call item is there to
answer). ``async for event in session`` goes on across the reconnect; after
:class:`ReconnectFailed` the session ends with an ``Error`` event.

>>> cfg, kwargs = prepare_connect(None, {"voice": "alloy"}, base_url=None, ssl=None,
...     call_id=None, environ={"OPENAI_API_KEY": "sk-test-1234567890"})
>>> cfg.voice, kwargs["base_url"], kwargs["api_key"]
('alloy', 'wss://api.openai.com/v1', Secret('sk-...7890'))
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, runtime_checkable

from .._config import RealtimeBuilder, VoiceConfig
from .._response_builder import ResponseBuilder
from .._settings import resolve_api_key, resolve_base_url
from .._voice_events import (
    AudioDelta,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    TranscriptDone,
    VoiceEvent,
)
from ..connection import ConnectionClosed, ConnectionState, IncomingEvent
from ..errors import OairtError
from ..events import ClientEvent
from ..models import ConversationItem, ResponseCreateParams
from ..reconnect import (
    InputAudioLost,
    ItemsLost,
    Reconnected,
    ReconnectFailed,
    Reconnecting,
    ReconnectNotice,
    ResponseLost,
    SessionRolledOver,
)
from ._backend import Backend, CancelScope, TaskGroup
from ._sync import Buffer, BufferClosed, Lock

if TYPE_CHECKING:
    import numpy.typing as npt

    from .._actions import ApprovalJob, ToolRun, VoiceActions
    from .._session import VoiceSession

__all__ = [
    "AsyncRealtimeConnection",
    "AsyncVoiceSession",
    "SessionEvent",
    "prepare_connect",
]

SessionEvent: TypeAlias = VoiceEvent | ReconnectNotice
"""What a voice session yields: voice events, reconnection notices with ``reconnect=``
(and :class:`SessionRolledOver` with ``rollover=``)."""

_NOTICES = (
    Reconnecting,
    Reconnected,
    ResponseLost,
    InputAudioLost,
    ItemsLost,
    ReconnectFailed,
    SessionRolledOver,
)


@runtime_checkable
class AsyncRealtimeConnection(Protocol):
    """An open Realtime connection driven by some event loop (plain or reconnecting).

    ``next_event()`` returns server events (and ``MalformedServerEvent``; and, on a
    reconnecting connection, its notices) and raises ``ConnectionClosedError`` once
    the connection is over; ``send()`` sends a whole frame or nothing.
    """

    @property
    def state(self) -> ConnectionState: ...

    @property
    def is_sideband(self) -> bool: ...

    @property
    def closed(self) -> ConnectionClosed | None: ...

    async def send(self, event: ClientEvent) -> None: ...

    async def send_raw(self, text: str) -> None: ...

    async def next_event(self) -> IncomingEvent | ReconnectNotice: ...

    def __aiter__(self) -> AsyncIterator[IncomingEvent | ReconnectNotice]: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class AsyncVoiceSession:
    """A live voice session: read with :meth:`next_voice_event` (or ``async for``),
    send audio with :meth:`send_pcm16`, report playback with :meth:`mark_played`,
    interrupt with :meth:`barge_in`. ``core`` is the sans-IO
    :class:`~oairt_core._session.VoiceSession` underneath.
    """

    def __init__(
        self,
        backend: Backend,
        conn: AsyncRealtimeConnection,
        core: VoiceSession,
        group: TaskGroup,
        event_buffer: int,
    ) -> None:
        self._backend = backend
        self._conn = conn
        self.core = core
        self._group = group
        self._lock = Lock(backend)
        self._buffer: Buffer[SessionEvent] = Buffer(backend, event_buffer)
        self._tool_scopes: dict[str, CancelScope] = {}
        self._ended = backend.event()
        self.closed = False

    # ------------------------------------------------------------ reading

    @property
    def config(self) -> VoiceConfig:
        return self.core.config

    @property
    def connection(self) -> AsyncRealtimeConnection:
        """The connection underneath (plain, or reconnecting with ``reconnect=``)."""
        return self._conn

    async def next_voice_event(self) -> SessionEvent | None:
        """The next voice event (or reconnection notice), ``None`` once the session ended.

        Buffered audio and transcript events of an interrupted response are
        skipped: the user must not hear them.
        """
        while True:
            try:
                event = await self._buffer.get()
            except BufferClosed:
                return None
            if isinstance(event, _NOTICES) or not self.core.is_discarded(event):
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
            if isinstance(event, TranscriptDone | InputTranscriptDone):
                return event
        return None

    def __aiter__(self) -> AsyncIterator[SessionEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[SessionEvent]:
        while (event := await self.next_voice_event()) is not None:
            yield event

    # ------------------------------------------------------------ sending

    async def send_pcm16(
        self, samples: npt.NDArray[Any] | bytes, *, sample_rate: int | None = None
    ) -> None:
        """Send microphone audio: int16 or float32 numpy array, or PCM16 bytes."""
        await self._send_appends(self.core.send_pcm16(samples, sample_rate=sample_rate))

    async def send_encoded(self, data: bytes) -> None:
        """Send audio already in the session's input format (e.g. G.711 from a phone line),
        with no decoding, resampling or re-encoding."""
        await self._send_appends(self.core.send_encoded(data))

    async def flush_input(self) -> None:
        """Send the audio the input resampler still holds (a few tens of ms).

        :meth:`commit` does it itself; with server VAD call it when the microphone stops
        (:meth:`stream_audio_pcm16` does, when its source ends).
        """
        await self._send_appends(self.core.flush_input())

    async def _send_appends(self, events: Sequence[ClientEvent]) -> None:
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

        Returns when ``chunks`` ends (after sending what the resampler still held) or
        the session closes.
        """
        try:
            async for chunk in chunks:
                if self.closed:
                    return
                await self.send_pcm16(chunk, sample_rate=sample_rate)
            if not self.closed:
                await self.flush_input()
        except OairtError:
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

        The :class:`Interrupted` event goes into the event stream (exactly once, as
        for an automatic barge-in) and is also returned (``None`` when nothing was
        playing).
        """
        async with self._lock:
            events = self.core.barge_in(self._backend.current_time())
            rest = await self._apply(self.core.drain())
        delivered: list[SessionEvent] = [*events, *rest]
        if delivered:
            self._group.start_soon(self._deliver, delivered)
        return next((e for e in events if isinstance(e, Interrupted)), None)

    def mark_played(self, item_id: str, ms: float) -> None:
        """Report that ``ms`` milliseconds of ``item_id`` were played to the user."""
        self.core.mark_played(item_id, ms)
        self._played()

    def played_until(self, ms: float) -> None:
        """:meth:`mark_played` for the item currently being received."""
        self.core.played_until(ms)
        self._played()

    def _played(self) -> None:
        # With rollover=, the end of playback may be the quiet moment it waits for.
        kick = getattr(self._conn, "kick", None)
        if kick is not None:
            kick()

    async def create_response(
        self, response: ResponseBuilder | ResponseCreateParams | None = None
    ) -> None:
        """Send ``response.create`` (see :class:`~oairt_core._session.ResponseBuilder`)."""
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
        """End the session now (leaving ``open_voice`` does it too)."""
        self._stop()

    # ------------------------------------------------------------ life cycle

    async def _start(self) -> None:
        """Send the configuration, then start the reader task."""
        await self._call(self.core.start)
        self._group.start_soon(self._reader)

    def _stop(self) -> None:
        self.closed = True
        self._buffer.close()
        self._ended.set()
        self._group.cancel_scope.cancel()

    # ------------------------------------------------------------ internals

    async def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        async with self._lock:
            fn(*args, **kw)
            events = await self._apply(self.core.drain())
        if events:
            # Delivered by a task: the caller may be the one reading the buffer.
            self._group.start_soon(self._deliver, events)

    async def _locked(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Like ``_call`` for the session's own tasks: deliver here, with backpressure."""
        try:
            async with self._lock:
                fn(*args, **kw)
                events = await self._apply(self.core.drain())
        except OairtError:
            if self.closed:
                return  # the session ended under a task of its own: nothing to report
            raise
        await self._deliver(events)

    async def _apply(self, actions: VoiceActions) -> list[VoiceEvent]:
        """Carry out the core's actions (lock held); returns the events to deliver."""
        # Shielded: a cancelled caller must not leave drained events unsent.
        with self._backend.cancel_scope(shield=True):
            for event in actions.send:
                await self._conn.send(event)
        for call_id in actions.cancel:
            scope = self._tool_scopes.pop(call_id, None)
            if scope is not None:
                scope.cancel()
        for run in actions.start:
            self._tool_scopes[run.call_id] = scope = self._backend.cancel_scope()
            self._group.start_soon(self._run_tool, run, scope)
        for job in actions.approvals:
            self._group.start_soon(self._run_approval, job)
        return actions.deliver

    async def _deliver(self, events: Sequence[SessionEvent]) -> None:
        for event in events:
            try:
                await self._buffer.put(event)  # blocks while the buffer is full
            except BufferClosed:
                return

    async def _run_tool(self, run: ToolRun, scope: CancelScope) -> None:
        result: Any = None
        error: BaseException | None = None
        with scope:
            try:
                if run.is_async:
                    result = await run.func(*run.args)
                else:
                    result = await self._backend.run_sync(lambda: run.func(*run.args))
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
                except Exception as exc:  # the close, or the app's on_message hook raising
                    closed = self._conn.closed
                    if not (closed is not None and closed.normal):
                        await self._locked(self.core.connection_lost, exc)
                    return
                if isinstance(event, _NOTICES):
                    await self._notice(event)
                    continue
                async with self._lock:
                    actions = self.core.feed(event, self._backend.current_time())
                    events = await self._apply(actions)
                await self._deliver(events)
        finally:
            self.closed = True
            self._buffer.close()
            self._ended.set()

    async def _notice(self, notice: ReconnectNotice) -> None:
        """A reconnection notice: the responses that were playing are gone."""
        if not isinstance(notice, ReconnectFailed):
            async with self._lock:
                if not isinstance(notice, SessionRolledOver):  # a rollover resets as it switches
                    self.core.connection_replaced()
                events = await self._apply(self.core.drain())
            await self._deliver(events)
        await self._deliver([notice])


def prepare_connect(
    config: VoiceConfig | RealtimeBuilder | None,
    options: Mapping[str, Any],
    *,
    base_url: str | None,
    ssl: Any,
    call_id: str | None,
    environ: Mapping[str, str],
) -> tuple[VoiceConfig, dict[str, Any]]:
    """The checked configuration and the connection's keyword arguments.

    ``options`` are :class:`VoiceConfig` fields overriding ``config``. The key
    is the configuration's, else ``$OPENAI_API_KEY``; the endpoint is
    ``base_url``, else ``$OAIRT_BASE_URL``, else the public API (see
    :mod:`oairt_core._settings`). Invalid configurations raise here, before
    connecting.
    """
    if isinstance(config, RealtimeBuilder):
        config = config.build()
    cfg = config or VoiceConfig()
    if options:
        cfg = cfg.replace(**options)
    cfg.to_session_config()  # invalid combinations fail before connecting
    kwargs: dict[str, Any] = {
        "api_key": resolve_api_key(cfg.api_key, environ),
        "base_url": resolve_base_url(base_url, environ, scheme="ws"),
    }
    if call_id is not None:
        kwargs["call_id"] = call_id
    elif cfg.kind == "transcription":
        kwargs["intent"] = "transcription"
    else:
        kwargs["model"] = cfg.model
    if ssl is not None:
        kwargs["ssl"] = ssl
    return cfg, kwargs
