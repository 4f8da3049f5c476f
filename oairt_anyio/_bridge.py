"""Phone calls on anyio: a Twilio Media Streams WebSocket server bridged to voice sessions.

All decisions (pacing, marks, ``clear`` on barge-in, DTMF, ``stop``) are made by the sans-IO
:class:`oairt_core.twilio.TwilioBridge`; this module owns the sockets (a wsproto WebSocket
server on an anyio TCP listener), the clock and the tasks. Each Twilio stream gets its own
voice session (``audio/pcmu`` both ways) against ``base_url``.

>>> import anyio
>>> async def main() -> bool:
...     async with anyio.create_task_group() as tg:
...         server = await tg.start(serve_twilio, None)
...         tg.cancel_scope.cancel()
...     return server.url.startswith("ws://127.0.0.1:")
>>> anyio.run(main)
True
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import anyio
import anyio.abc
import wsproto
import wsproto.events as wse
from anyio.abc import SocketAttribute
from wsproto import ConnectionType
from wsproto.connection import ConnectionState

from oairt_core.errors import OairtError
from oairt_core.reconnect import ReconnectNotice
from oairt_core.twilio import (
    PHONE_AUDIO,
    PhoneEvent,
    PhoneProtocolError,
    TwilioActions,
    TwilioBridge,
)
from oairt_core.voice import RealtimeBuilder, VoiceConfig, VoiceEvent

from ._face import RealtimeSession

__all__ = [
    "PhoneCall",
    "PhoneServer",
    "handle_twilio_stream",
    "run_twilio_server",
    "serve_twilio",
]

log = logging.getLogger("oairt.twilio")

_READ_SIZE = 65536
MAX_MESSAGE_CHARS = 1 << 20
OUTBOX_FRAMES = 2048
"""Frames waiting for a Twilio socket that does not drain (about 40 s of audio): beyond
that the call is ended instead of growing memory."""

CallEvent: TypeAlias = VoiceEvent | ReconnectNotice | PhoneEvent
EventHandler: TypeAlias = Callable[["PhoneCall", CallEvent], Awaitable[None] | None]


def _open_voice(
    config: VoiceConfig | RealtimeBuilder | None,
    base_url: str | None,
    ssl: Any,
    options: dict[str, Any],
) -> AbstractAsyncContextManager[RealtimeSession]:
    """The one place the bridge opens a voice session (mu-law both ways)."""
    from ._face import open_voice

    return open_voice(config, base_url=base_url, ssl=ssl, **{**options, **PHONE_AUDIO})


async def _append_mulaw(session: RealtimeSession, mulaw: bytes) -> None:
    """Caller audio to the model as it came: the session's input format is mu-law already.

    (``send_pcm16`` would decode and re-encode it.)
    """
    try:
        await session.send_encoded(mulaw)
    except (OairtError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        if session.closed or session.connection.closed is not None:
            return  # the session ended under us: the call is ending too
        raise


@dataclass
class PhoneCall:
    """One live phone call: its Twilio stream and its voice session.

    ``session`` is the voice session (``send_text``, ``create_response``, ``update``, ...;
    its events come to the ``on_event`` handler, do not iterate it). ``bridge`` is the
    sans-IO state (``stream_sid``, ``call_sid``, ``custom_parameters``, ``played_ms``).
    """

    session: RealtimeSession
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


class _TwilioSocket:
    """The server side of one Media Streams WebSocket (wsproto over an anyio stream)."""

    def __init__(self, stream: anyio.abc.ByteStream) -> None:
        self.stream = stream
        self.ws = wsproto.WSConnection(ConnectionType.SERVER)
        self._frags: list[str] = []
        self._size = 0
        self._lock = anyio.Lock()

    async def accept(self) -> bool:
        """Complete the handshake; ``False`` if the peer went away or was no WebSocket."""
        while True:
            data = await self._receive()
            if not data:
                return False
            self.ws.receive_data(data)
            for ev in self.ws.events():
                if isinstance(ev, wse.Request):
                    await self._send(wse.AcceptConnection())
                    return True
                return False

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
                        await self._send(ev.response())
                    elif isinstance(ev, wse.CloseConnection):
                        if self.ws.state is not ConnectionState.CLOSED:
                            await self._send(ev.response())
                        return
            except wsproto.utilities.RemoteProtocolError:
                return
            data = await self._receive()
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
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            return
        if initiated:
            # The closing handshake: read (and drop) what Twilio still sends until its close
            # frame, for at most ``timeout``. Closing TCP with unread media in the buffer
            # would reset the connection, and Twilio would never see our close code.
            with anyio.move_on_after(timeout):
                while not self._closed():
                    data = await self._receive()
                    if not data:
                        return
                    try:
                        self.ws.receive_data(data)
                        for _ in self.ws.events():
                            pass  # wsproto moves to CLOSED on the peer's close frame
                    except wsproto.utilities.RemoteProtocolError:
                        return

    def _closed(self) -> bool:
        return self.ws.state is ConnectionState.CLOSED

    async def _send(self, event: wse.Event) -> None:
        async with self._lock:
            data = self.ws.send(event)
            if data:
                await self.stream.send(data)

    async def _receive(self) -> bytes:
        try:
            return await self.stream.receive(_READ_SIZE)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
            return b""


async def handle_twilio_stream(
    stream: anyio.abc.ByteStream,
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

    Opens a voice session with ``config`` (plus ``options``, :class:`VoiceConfig` keywords)
    against ``base_url``; ``on_event(call, event)`` gets every voice and phone event.
    """
    sock = _TwilioSocket(stream)
    async with stream:
        if not await sock.accept():
            return
        code = 1011  # the Realtime side failed: Twilio moves on to the next TwiML verb
        try:
            async with _open_voice(config, base_url, ssl, options) as session:
                await _run_call(sock, session, on_event, max_lead_ms, mark_interval_ms)
            code = 1000
        finally:
            with anyio.CancelScope(shield=True):
                await sock.close(code)


async def _run_call(
    sock: _TwilioSocket,
    session: RealtimeSession,
    on_event: EventHandler | None,
    max_lead_ms: float,
    mark_interval_ms: float,
) -> None:
    bridge = TwilioBridge(max_lead_ms=max_lead_ms, mark_interval_ms=mark_interval_ms)
    outbox_tx, outbox_rx = anyio.create_memory_object_stream[str](OUTBOX_FRAMES)
    wake = [anyio.Event()]

    async with anyio.create_task_group() as tg:
        call = PhoneCall(session, bridge, tg.cancel_scope.cancel)

        async def deliver(event: CallEvent) -> None:
            if on_event is not None:
                result = on_event(call, event)
                if inspect.isawaitable(result):
                    await result

        async def apply(actions: TwilioActions, *, wake_pacer: bool = True) -> None:
            # Synchronous up to the awaits below: the frames keep the bridge's order.
            for text in actions.to_twilio:
                try:
                    outbox_tx.send_nowait(text)
                except anyio.WouldBlock:
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
                tg.cancel_scope.cancel()

        async def from_twilio() -> None:
            async for text in sock.messages():
                bridge.receive_twilio(text, anyio.current_time())
                await apply(bridge.drain())
            tg.cancel_scope.cancel()  # Twilio closed the stream

        async def from_session() -> None:
            async for event in session:
                bridge.receive_voice(event, anyio.current_time())
                await apply(bridge.drain())
                await deliver(event)
            tg.cancel_scope.cancel()  # the voice session ended

        async def pace() -> None:
            while True:
                deadline = bridge.next_deadline()
                timeout = math.inf if deadline is None else deadline - anyio.current_time()
                if timeout > 0:
                    with anyio.move_on_after(timeout):
                        await wake[0].wait()
                    if wake[0].is_set():
                        wake[0] = anyio.Event()
                bridge.advance(anyio.current_time())
                await apply(bridge.drain(), wake_pacer=False)

        async def to_twilio() -> None:
            async for text in outbox_rx:
                await sock.send_text(text)

        tg.start_soon(to_twilio)
        tg.start_soon(pace)
        tg.start_soon(from_session)
        tg.start_soon(from_twilio)


@dataclass(frozen=True)
class PhoneServer:
    """Where :func:`serve_twilio` listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """The WebSocket URL (put a ``wss://`` proxy or tunnel in front for Twilio)."""
        return f"ws://{self.host}:{self.port}/"


async def serve_twilio(
    config: VoiceConfig | RealtimeBuilder | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    base_url: str | None = None,
    ssl: Any = None,
    on_event: EventHandler | None = None,
    max_lead_ms: float = 300.0,
    mark_interval_ms: float = 100.0,
    task_status: anyio.abc.TaskStatus[PhoneServer] = anyio.TASK_STATUS_IGNORED,
    **options: Any,
) -> None:
    """Accept Twilio Media Streams on ``host:port`` until cancelled; one voice session per call.

    ``config``/``options`` configure each call's voice session (its audio is always
    ``audio/pcmu``); ``base_url`` is the Realtime endpoint (``oairt fake-server`` for
    tests). ``on_event(call, event)`` gets each call's voice and phone events.
    ``task_status.started`` receives the :class:`PhoneServer`.
    """
    if options:
        VoiceConfig().replace(**options)  # bad keywords fail here, not at the first call
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)

    async def handle(stream: anyio.abc.SocketStream) -> None:
        try:
            await handle_twilio_stream(
                stream,
                config,
                base_url=base_url,
                ssl=ssl,
                on_event=on_event,
                max_lead_ms=max_lead_ms,
                mark_interval_ms=mark_interval_ms,
                **options,
            )
        except Exception:  # one failed call must not stop the server
            log.exception("phone call failed")

    async with listener:
        task_status.started(PhoneServer(host, listener.extra(SocketAttribute.local_port)))
        await listener.serve(handle)


@asynccontextmanager
async def run_twilio_server(**kwargs: Any) -> AsyncIterator[PhoneServer]:
    """``serve_twilio(**kwargs)`` for the block (tests)."""
    async with anyio.create_task_group() as tg:
        server: PhoneServer = await tg.start(functools.partial(serve_twilio, **kwargs))
        try:
            yield server
        finally:
            tg.cancel_scope.cancel()
