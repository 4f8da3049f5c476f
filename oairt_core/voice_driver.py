"""The async voice-session API both adapters share, over a handful of I/O hooks.

:class:`VoiceDriver` holds every async method of a live voice session
(``next_voice_event``, ``send_pcm16``, ``barge_in``, ...) and the session's own
tasks (the reader, tool runs, approval callbacks). It makes no decision: each
input goes to the sans-IO :class:`~oairt_core.session.VoiceSession` and the
:class:`~oairt_core.voice_state.VoiceActions` it returns are carried out. It
does no I/O either and uses no event loop: ``oairt_anyio.voice`` and
``oairt_trio.voice`` subclass it and supply the hooks (the clock, cancel
scopes, worker threads, their channel's exception types), the connection, the
lock, the bounded channel and the task group or nursery.

:class:`VoiceConnector` is the adapters' ``connect_voice``, given their
``connect`` and task group; :func:`prepare_connect` its sans-IO half (the
checked configuration and the ``connect`` keyword arguments).

>>> cfg, kwargs = prepare_connect(None, {"voice": "alloy"}, base_url=None, ssl=None,
...     call_id=None, environ={"OPENAI_API_KEY": "sk-test-1234567890"})
>>> cfg.voice, kwargs["base_url"], kwargs["api_key"]
('alloy', 'wss://api.openai.com/v1', Secret('sk-...7890'))
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from .config import RealtimeBuilder, VoiceConfig
from .errors import OairtError
from .models import ConversationItem, ResponseCreateParams
from .protocols import AsyncRealtimeConnection
from .response_builder import ResponseBuilder
from .settings import resolve_api_key, resolve_base_url
from .voice_events import (
    AudioDelta,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    TranscriptDone,
    VoiceEvent,
)
from .voice_state import ApprovalJob, ToolRun, VoiceActions

if TYPE_CHECKING:
    import numpy.typing as npt

    from .session import VoiceSession

__all__ = ["VoiceBuilder", "VoiceConnector", "VoiceDriver", "prepare_connect"]

D = TypeVar("D", bound="VoiceDriver")
B = TypeVar("B", bound="VoiceBuilder[Any]")


class CancelScopeLike(Protocol):
    """What the driver needs of an anyio or trio cancel scope."""

    def __enter__(self) -> Any: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any, /) -> Any: ...
    def cancel(self) -> None: ...
    @property
    def cancel_called(self) -> bool: ...


class SendChannel(Protocol):
    async def send(self, value: VoiceEvent, /) -> None: ...
    def close(self) -> None: ...


class ReceiveChannel(Protocol):
    async def receive(self) -> VoiceEvent: ...


class VoiceDriver:
    """A live voice session's async API; the adapters' ``RealtimeSession`` subclasses it.

    Read with :meth:`next_voice_event` (or ``async for``), send audio with
    :meth:`send_pcm16` / :meth:`stream_audio_pcm16`, report playback with
    :meth:`mark_played`, interrupt with :meth:`barge_in`. ``core`` is the
    sans-IO :class:`~oairt_core.session.VoiceSession` underneath.
    """

    # The adapter's channel exceptions: the buffer ended / was closed under us.
    _END: ClassVar[tuple[type[BaseException], ...]] = ()
    _GONE: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(
        self,
        conn: AsyncRealtimeConnection,
        core: VoiceSession,
        *,
        lock: AbstractAsyncContextManager[Any],
        channel: tuple[SendChannel, ReceiveChannel],
        start_soon: Callable[..., object],
        cancel_all: Callable[[], None],
    ) -> None:
        self._conn = conn
        self.core = core
        self._lock = lock
        self._tx, self._rx = channel
        self._start_soon = start_soon
        self._cancel_all = cancel_all
        self._tool_scopes: dict[str, CancelScopeLike] = {}
        self.closed = False

    # ------------------------------------------------------------ the adapter's hooks

    def _now(self) -> float:
        """The event loop's clock, in seconds."""
        raise NotImplementedError

    def _cancel_scope(self, *, shield: bool = False) -> CancelScopeLike:
        raise NotImplementedError

    async def _run_sync(self, fn: Callable[[], Any]) -> Any:
        """``fn()`` in a worker thread, abandoned if the caller is cancelled."""
        raise NotImplementedError

    # ------------------------------------------------------------ reading

    @property
    def config(self) -> VoiceConfig:
        return self.core.config

    async def next_voice_event(self) -> VoiceEvent | None:
        """The next voice event, or ``None`` once the session has ended.

        Buffered audio and transcript events of an interrupted response are
        skipped: the user must not hear them.
        """
        while True:
            try:
                event = await self._rx.receive()
            except (*self._END, *self._GONE):
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
        gone: tuple[type[BaseException], ...] = (OairtError, *self._GONE)
        async for chunk in chunks:
            if self.closed:
                return
            try:
                await self.send_pcm16(chunk, sample_rate=sample_rate)
            except gone:
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
            events = self.core.barge_in(self._now())
            rest = await self._apply(self.core.drain())
        if rest:
            self._start_soon(self._deliver, rest)
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
        self._stop()

    # ------------------------------------------------------------ life cycle (connect_voice)

    async def _start(self) -> None:
        """Send the configuration, then start the reader task."""
        await self._call(self.core.start)
        self._start_soon(self._reader)

    def _stop(self) -> None:
        self.closed = True
        self._cancel_all()

    # ------------------------------------------------------------ internals

    async def _call(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        async with self._lock:
            fn(*args, **kw)
            events = await self._apply(self.core.drain())
        if events:
            # Delivered by a task: the caller may be the one reading the buffer.
            self._start_soon(self._deliver, events)

    async def _locked(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Like ``_call`` for the session's own tasks: deliver here, with backpressure."""
        async with self._lock:
            fn(*args, **kw)
            events = await self._apply(self.core.drain())
        await self._deliver(events)

    async def _apply(self, actions: VoiceActions) -> list[VoiceEvent]:
        """Carry out the core's actions (lock held); returns the events to deliver."""
        # Shielded: a cancelled caller must not leave drained events unsent.
        with self._cancel_scope(shield=True):
            for event in actions.send:
                await self._conn.send(event)
        for call_id in actions.cancel:
            scope = self._tool_scopes.pop(call_id, None)
            if scope is not None:
                scope.cancel()
        for run in actions.start:
            self._tool_scopes[run.call_id] = scope = self._cancel_scope()
            self._start_soon(self._run_tool, run, scope)
        for job in actions.approvals:
            self._start_soon(self._run_approval, job)
        return actions.deliver

    async def _deliver(self, events: list[VoiceEvent]) -> None:
        for event in events:
            try:
                await self._tx.send(event)  # blocks while the buffer is full
            except self._GONE:
                return

    async def _run_tool(self, run: ToolRun, scope: CancelScopeLike) -> None:
        result: Any = None
        error: BaseException | None = None
        with scope:
            try:
                if run.is_async:
                    result = await run.func(*run.args)
                else:
                    result = await self._run_sync(lambda: run.func(*run.args))
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
                    events = await self._apply(self.core.feed(event, self._now()))
                await self._deliver(events)
        finally:
            self.closed = True
            self._tx.close()


def prepare_connect(
    config: VoiceConfig | RealtimeBuilder | None,
    options: Mapping[str, Any],
    *,
    base_url: str | None,
    ssl: Any,
    call_id: str | None,
    environ: Mapping[str, str],
) -> tuple[VoiceConfig, dict[str, Any]]:
    """The checked configuration and the adapter's ``connect`` keyword arguments.

    ``options`` are :class:`VoiceConfig` fields overriding ``config``. The key
    is the configuration's, else ``$OPENAI_API_KEY``; the endpoint is
    ``base_url``, else ``$OAIRT_BASE_URL``, else the public API (see
    :mod:`oairt_core.settings`). Invalid configurations raise here, before
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


class VoiceConnector(Generic[D]):
    """An adapter's ``connect_voice``: ``async with connect_voice(...) as session``.

    ``connect_voice(config=None, *, base_url=None, ssl=None, call_id=None,
    event_buffer=256, **options)`` connects, applies the configuration and runs
    the reader. ``config`` is a :class:`VoiceConfig` or a builder; keyword
    ``options`` are :class:`VoiceConfig` fields (``voice=``, ``api_key=``, ...).
    The API key defaults to ``$OPENAI_API_KEY`` and ``base_url`` to
    ``$OAIRT_BASE_URL``, else the public API; ``base_url``/``ssl`` reach a fake
    server or a proxy. ``call_id`` joins a WebRTC/SIP call as its sideband
    controller. ``event_buffer`` bounds the buffered voice events. Invalid
    configurations raise ``InvalidClientEvent`` on entry, before connecting.
    Exceptions from the block come out unwrapped.
    """

    def __init__(
        self,
        make_session: Callable[[AsyncRealtimeConnection, VoiceSession, Any, int], D],
        connect: Callable[..., AbstractAsyncContextManager[AsyncRealtimeConnection]],
        open_group: Callable[[], AbstractAsyncContextManager[Any]],
        environ: Mapping[str, str],
    ) -> None:
        # make_session(conn, core, group, event_buffer) builds the adapter's session;
        # open_group() opens its task group or nursery.
        self._make_session = make_session
        # It stands for a function of the adapter's module: name it like one.
        self.__module__ = getattr(make_session, "__module__", __name__)
        self.__name__ = self.__qualname__ = "connect_voice"
        self._connect = connect
        self._open_group = open_group
        self._environ = environ

    def __call__(
        self,
        config: VoiceConfig | RealtimeBuilder | None = None,
        *,
        base_url: str | None = None,
        ssl: Any = None,
        call_id: str | None = None,
        event_buffer: int = 256,
        **options: Any,
    ) -> AbstractAsyncContextManager[D]:
        return self._open(config, options, base_url, ssl, call_id, event_buffer)

    @asynccontextmanager
    async def _open(
        self,
        config: VoiceConfig | RealtimeBuilder | None,
        options: Mapping[str, Any],
        base_url: str | None,
        ssl: Any,
        call_id: str | None,
        event_buffer: int,
    ) -> AsyncIterator[D]:
        from .session import VoiceSession  # the session module re-exports this one

        if event_buffer < 1:
            raise ValueError("event_buffer must be at least 1")
        cfg, kwargs = prepare_connect(
            config, options, base_url=base_url, ssl=ssl, call_id=call_id, environ=self._environ
        )
        body_error: Exception | None = None
        async with self._connect(**kwargs) as conn, self._open_group() as group:
            core = VoiceSession(cfg, sideband=conn.is_sideband)
            session = self._make_session(conn, core, group, event_buffer)
            await session._start()
            try:
                yield session
            except Exception as exc:  # kept out of the task group: no ExceptionGroup
                body_error = exc
            finally:
                session._stop()
        if body_error is not None:
            raise body_error


class VoiceBuilder(RealtimeBuilder, Generic[D]):
    """The seed's builder ending in :meth:`connect_ws`; ``Realtime.builder()`` makes one.

    Each adapter's ``RealtimeBuilder`` subclasses it and sets ``connector`` to
    its ``connect_voice``, so ``Realtime.builder()...connect_ws()`` opens a
    session of that adapter.
    """

    connector: ClassVar[VoiceConnector[Any]]

    @classmethod
    def builder(cls: type[B]) -> B:
        """A fresh builder (the seed's ``Realtime.builder()``)."""
        return cls()

    def connect_ws(self, **kwargs: Any) -> AbstractAsyncContextManager[D]:
        """``async with builder.connect_ws() as session``: see ``connect_voice``."""
        session: AbstractAsyncContextManager[D] = type(self).connector(self, **kwargs)
        return session
