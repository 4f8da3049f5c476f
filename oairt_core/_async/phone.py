"""Phone calls, written once: a Twilio Media Streams WebSocket server bridged to voice sessions.

Every decision (pacing, marks, ``clear`` on barge-in, DTMF, ``stop``) is made by the
sans-IO :class:`oairt_core.twilio.TwilioBridge`; this module moves bytes between it, a
wsproto WebSocket server on a backend's TCP listener, and a voice session opened by
the adapter's :class:`~oairt_core._async.api.Face` (``audio/pcmu`` both ways). Each
adapter binds a :class:`Phone` to its face and exports its functions from its
``phone`` module (``oairt_anyio.phone``, ``oairt_trio.phone``), with the same names.

>>> PhoneServer("127.0.0.1", 8080).url  # what ``serve_twilio`` reports when it listens
'ws://127.0.0.1:8080/'
"""

from __future__ import annotations

import inspect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import wsproto
import wsproto.events as wse
from wsproto import ConnectionType
from wsproto.connection import ConnectionState

from .._config import RealtimeBuilder, VoiceConfig
from ..errors import OairtError
from ..reconnect import ReconnectNotice
from ..twilio import PHONE_AUDIO, PhoneEvent, PhoneProtocolError, TwilioActions, TwilioBridge
from ..voice import VoiceEvent
from ._backend import Backend, ByteStream, TransportError
from ._sync import Buffer, BufferClosed, Lock
from .voice import AsyncVoiceSession

if TYPE_CHECKING:
    from .api import Face

__all__ = ["CallEvent", "EventHandler", "Phone", "PhoneCall", "PhoneServer"]

log = logging.getLogger("oairt.twilio")

_READ_SIZE = 65536
MAX_MESSAGE_CHARS = 1 << 20
HANDSHAKE_TIMEOUT = 10.0
"""Seconds a new connection has to complete its WebSocket upgrade."""
CLOSE_TIMEOUT = 5.0
"""Seconds the closing handshake with Twilio may take before the socket is dropped."""
OUTBOX_FRAMES = 2048
"""Frames waiting for a Twilio socket that does not drain (about 40 s of audio): beyond
that the call is ended instead of growing memory."""

CallEvent: TypeAlias = VoiceEvent | ReconnectNotice | PhoneEvent
EventHandler: TypeAlias = Callable[["PhoneCall", CallEvent], Awaitable[None] | None]


@dataclass(eq=False)  # a live call is itself: compared, hashed (and weakly kept) by identity
class PhoneCall:
    """One live phone call: its Twilio stream and its voice session.

    ``session`` is the voice session (``send_text``, ``create_response``, ``update``, ...;
    its events come to the ``on_event`` handler, do not iterate it). ``bridge`` is the
    sans-IO state (``stream_sid``, ``call_sid``, ``custom_parameters``, ``played_ms``).
    """

    session: AsyncVoiceSession
    bridge: TwilioBridge
    _hang_up: Callable[[], None] = field(repr=False)

    @property
    def call_sid(self) -> str | None:
        return self.bridge.call_sid

    @property
    def stream_sid(self) -> str | None:
        return self.bridge.stream_sid

    @property
    def custom_parameters(self) -> dict[str, str]:
        return self.bridge.custom_parameters

    def hang_up(self) -> None:
        """End the stream (Twilio goes on with the next TwiML verb, or hangs up)."""
        self.bridge.hang_up()
        self._hang_up()


@dataclass(frozen=True)
class PhoneServer:
    """Where ``serve_twilio`` listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """The WebSocket URL (put a ``wss://`` proxy or tunnel in front for Twilio)."""
        return f"ws://{self.host}:{self.port}/"


class _TaskStatusIgnored:
    def started(self, value: object = None) -> None:
        pass


_IGNORED = _TaskStatusIgnored()


class _TwilioSocket:
    """The server side of one Media Streams WebSocket (wsproto over a backend stream)."""

    def __init__(self, backend: Backend, stream: ByteStream) -> None:
        self._backend = backend
        self.stream = stream
        self.ws = wsproto.WSConnection(ConnectionType.SERVER)
        self._frags: list[str] = []
        self._size = 0
        self._lock = Lock(backend)

    async def accept(self) -> bool:
        """Complete the handshake; ``False`` if the peer went away or was no WebSocket."""
        while True:
            data = await self.stream.receive_some(_READ_SIZE)
            if not data:
                return False
            try:
                self.ws.receive_data(data)
                for ev in self.ws.events():
                    if isinstance(ev, wse.Request):
                        await self._send(wse.AcceptConnection())
                        return True
                    return False
            except wsproto.utilities.RemoteProtocolError:
                return False  # not a WebSocket upgrade: nothing to answer on this stream

    async def messages(self) -> AsyncIterator[str]:
        """Text messages until the peer closes (binary frames are ignored, as Twilio sends none)."""
        while True:
            # Frames may have come with the handshake: read wsproto's buffer first.
            try:
                for ev in self.ws.events():
                    if isinstance(ev, wse.TextMessage):
                        self._frags.append(ev.data)
                        self._size += len(ev.data)
                        if self._size > MAX_MESSAGE_CHARS:
                            await self.close(1009, "message too big")
                            return
                        if ev.message_finished:
                            text = "".join(self._frags)
                            self._frags.clear()
                            self._size = 0
                            yield text
                    elif isinstance(ev, wse.Ping):
                        # wsproto parses lazily, so a Close after this ping is not read yet;
                        # the check is for a Close that came first.
                        if self.ws.state is ConnectionState.OPEN:
                            await self._send(ev.response())
                    elif isinstance(ev, wse.CloseConnection):
                        if self.ws.state is not ConnectionState.CLOSED:
                            await self._send(ev.response())
                        return
            except wsproto.utilities.RemoteProtocolError:
                return
            data = await self.stream.receive_some(_READ_SIZE)
            if not data:
                return
            self.ws.receive_data(data)

    async def send_text(self, text: str) -> None:
        await self._send(wse.TextMessage(data=text))

    async def close(self, code: int = 1000, reason: str = "", *, timeout: float = 2.0) -> None:
        # REMOTE_CLOSING: Twilio's close frame was read but not answered yet.
        if self.ws.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            return
        initiated = self.ws.state is ConnectionState.OPEN
        try:
            await self._send(wse.CloseConnection(code=code, reason=reason))
        except TransportError:
            return
        if initiated:
            # The closing handshake: read (and drop) what Twilio still sends until its close
            # frame, for at most ``timeout``. Closing TCP with unread media in the buffer
            # would reset the connection, and Twilio would never see our close code.
            with self._backend.move_on_after(timeout):
                while not self._closed():
                    data = await self.stream.receive_some(_READ_SIZE)
                    if not data:
                        return
                    try:
                        self.ws.receive_data(data)
                        for _ in self.ws.events():
                            pass  # wsproto moves to CLOSED on the peer's close frame
                    except wsproto.utilities.RemoteProtocolError:
                        return

    def _closed(self) -> bool:
        # A method, not an inline check: mypy would narrow ws.state to OPEN/REMOTE_CLOSING.
        return self.ws.state is ConnectionState.CLOSED

    async def _send(self, event: wse.Event) -> None:
        async with self._lock:
            # A cancelled task must not move wsproto's state (to CLOSED, say) for a frame
            # that then never goes out: the close would be lost.
            await self._backend.checkpoint_if_cancelled()
            data = self.ws.send(event)
            if data:
                await self.stream.send_all(data)


@dataclass(frozen=True)
class _CallSettings:
    """How every call of one server (or one ``handle_twilio_stream``) is served."""

    config: VoiceConfig | RealtimeBuilder | None
    base_url: str | None
    ssl: Any
    on_event: EventHandler | None
    max_lead_ms: float
    mark_interval_ms: float
    options: dict[str, Any]


class Phone:
    """The phone entry points bound to one adapter's face (see the module docstring)."""

    def __init__(self, face: Face[Any, Any]) -> None:
        self.face = face
        self.backend: Backend = face.backend

    def _open_voice(
        self, settings: _CallSettings
    ) -> AbstractAsyncContextManager[AsyncVoiceSession]:
        """The one place the bridge opens a voice session (mu-law both ways)."""
        options = {**settings.options, **PHONE_AUDIO}
        return self.face.open_voice(
            settings.config, base_url=settings.base_url, ssl=settings.ssl, **options
        )

    async def handle_twilio_stream(
        self,
        stream: Any,
        config: VoiceConfig | RealtimeBuilder | None = None,
        *,
        base_url: str | None = None,
        ssl: Any = None,
        on_event: EventHandler | None = None,
        max_lead_ms: float = 300.0,
        mark_interval_ms: float = 100.0,
        **options: Any,
    ) -> None:
        """Serve one accepted Twilio Media Streams connection until the call ends.

        ``stream`` is the adapter's own byte stream (an anyio ``ByteStream``, a trio
        ``Stream``), which this closes. Opens a voice session with ``config`` plus
        ``options`` (``open_voice`` keywords, ``reconnect=`` included) against
        ``base_url``; ``on_event(call, event)`` gets every voice and phone event.
        """
        settings = _CallSettings(
            config, base_url, ssl, on_event, max_lead_ms, mark_interval_ms, options
        )
        await self._serve_stream(self.backend.wrap_stream(stream), settings)

    async def _serve_stream(self, stream: ByteStream, settings: _CallSettings) -> None:
        backend = self.backend
        sock = _TwilioSocket(backend, stream)
        try:
            # A peer that connects and says nothing must not hold a task and a socket.
            accepted = False
            with backend.move_on_after(HANDSHAKE_TIMEOUT):
                accepted = await sock.accept()
            if not accepted:  # also False when the handshake timed out
                return
            code = 1011  # the Realtime side failed: Twilio moves on to the next TwiML verb
            try:
                async with self._open_voice(settings) as session:
                    await self._run_call(sock, session, settings)
                code = 1000
            finally:
                # Bounded even when shielded: Twilio may have stopped reading, and the
                # close frame would wait on a full socket forever.
                with backend.move_on_after(CLOSE_TIMEOUT, shield=True):
                    await sock.close(code)
        finally:
            # Bounded: a graceful close waits for the socket to flush to a peer that may
            # have stopped reading.
            with backend.move_on_after(2.0, shield=True) as scope:
                await stream.aclose()
            if scope.cancelled_caught:
                await stream.aclose_forcefully()

    async def _run_call(
        self, sock: _TwilioSocket, session: AsyncVoiceSession, settings: _CallSettings
    ) -> None:
        backend = self.backend
        on_event = settings.on_event
        bridge = TwilioBridge(
            max_lead_ms=settings.max_lead_ms, mark_interval_ms=settings.mark_interval_ms
        )
        outbox: Buffer[str] = Buffer(backend, OUTBOX_FRAMES)
        wake = [backend.event()]
        error: list[BaseException] = []

        async with backend.task_group() as tg:
            call = PhoneCall(session, bridge, tg.cancel_scope.cancel)

            def end(exc: BaseException | None = None) -> None:
                if exc is not None and not error:
                    error.append(exc)
                tg.cancel_scope.cancel()

            async def deliver(event: Any) -> None:
                if on_event is not None:
                    result = on_event(call, event)
                    if inspect.isawaitable(result):
                        await result

            async def apply(actions: TwilioActions, *, wake_pacer: bool = True) -> None:
                # Synchronous up to the awaits below: the frames keep the bridge's order.
                for text in actions.to_twilio:
                    if not outbox.put_nowait(text):
                        bridge.hang_up()
                        actions.events.append(
                            PhoneProtocolError("Twilio is not reading its socket", fatal=True)
                        )
                        break
                for item_id, ms in actions.played:
                    session.mark_played(item_id, ms)
                if wake_pacer:  # new audio or a new stream: the pacing deadline moved
                    wake[0].set()
                for data in actions.input_audio:
                    await _append_mulaw(session, data)
                for event in actions.events:
                    await deliver(event)
                if bridge.ended:
                    end()

            # Each task ends the call when it ends, and keeps its error out of the task
            # group: the caller sees the one error that ended the call, never a group.
            async def guarded(task: Callable[[], Awaitable[None]]) -> None:
                try:
                    await task()
                except Exception as exc:
                    end(exc)
                else:
                    end()

            async def from_twilio() -> None:
                async for text in sock.messages():
                    bridge.receive_twilio(text, backend.current_time())
                    await apply(bridge.drain())
                # Twilio closed the stream

            async def from_session() -> None:
                async for event in session:
                    bridge.receive_voice(event, backend.current_time())
                    await apply(bridge.drain())
                    await deliver(event)
                # the voice session ended

            async def pace() -> None:
                while True:
                    deadline = bridge.next_deadline()
                    now = backend.current_time()
                    timeout = math.inf if deadline is None else deadline - now
                    if timeout > 0:
                        with backend.move_on_after(None if math.isinf(timeout) else timeout):
                            await wake[0].wait()
                        if wake[0].is_set():
                            wake[0] = backend.event()
                    bridge.advance(backend.current_time())
                    await apply(bridge.drain(), wake_pacer=False)

            async def to_twilio() -> None:
                try:
                    while True:
                        await sock.send_text(await outbox.get())
                except BufferClosed:
                    pass

            tg.start_soon(guarded, to_twilio)
            tg.start_soon(guarded, pace)
            tg.start_soon(guarded, from_session)
            tg.start_soon(guarded, from_twilio)
        if error:
            raise error[0]

    async def serve_twilio(
        self,
        config: VoiceConfig | RealtimeBuilder | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        base_url: str | None = None,
        ssl: Any = None,
        on_event: EventHandler | None = None,
        max_lead_ms: float = 300.0,
        mark_interval_ms: float = 100.0,
        task_status: Any = _IGNORED,
        **options: Any,
    ) -> None:
        """Accept Twilio Media Streams on ``host:port`` until cancelled; one voice session per call.

        ``config``/``options`` configure each call's voice session (its audio is always
        ``audio/pcmu``): ``VoiceConfig`` fields and ``open_voice``'s connection keywords,
        ``reconnect=ReconnectPolicy()`` to keep the call through a dropped Realtime
        connection. ``base_url`` is the Realtime endpoint (``oairt fake-server`` for
        tests). ``on_event(call, event)`` gets each call's voice and phone events.
        ``task_status.started`` receives the :class:`PhoneServer`.
        """
        from .api import check_voice_options

        check_voice_options(options)  # bad keywords fail here, not at the first call
        listener = await self.backend.listen_tcp(host, port)

        settings = _CallSettings(
            config, base_url, ssl, on_event, max_lead_ms, mark_interval_ms, options
        )

        async def handle(stream: ByteStream) -> None:
            try:
                await self._serve_stream(stream, settings)
            except Exception:  # one failed call must not stop the server
                log.exception("phone call failed")

        try:
            task_status.started(PhoneServer(host, listener.port))
            await listener.serve(handle)
        finally:
            with self.backend.cancel_scope(shield=True):
                await listener.aclose()

    @asynccontextmanager
    async def run_twilio_server(self, **kwargs: Any) -> AsyncIterator[PhoneServer]:
        """``serve_twilio(**kwargs)`` for the block (tests, embedding).

        Exceptions from the block come out unwrapped.
        """
        body_error: Exception | None = None
        async with self.backend.task_group() as tg:

            async def serve(*, task_status: Any) -> None:
                await self.serve_twilio(task_status=task_status, **kwargs)

            server: PhoneServer = await tg.start(serve)
            try:
                yield server
            except Exception as exc:  # kept out of the task group: no ExceptionGroup
                body_error = exc
            finally:
                tg.cancel_scope.cancel()
        if body_error is not None:
            raise body_error


async def _append_mulaw(session: AsyncVoiceSession, mulaw: bytes) -> None:
    """Caller audio to the model as it came: the session's input format is mu-law already.

    (``send_pcm16`` would decode and re-encode it.)
    """
    try:
        await session.send_encoded(mulaw)
    except (OairtError, TransportError):
        if session.closed or session.connection.closed is not None:
            return  # the session ended under us: the call is ending too
        raise
