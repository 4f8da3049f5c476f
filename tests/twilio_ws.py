"""Drive a :class:`FakeTwilioCall` over a real WebSocket (wsproto client on anyio), in real time."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.abc
import wsproto
import wsproto.events as wse
from wsproto import ConnectionType
from wsproto.connection import ConnectionState

from oairt_core.testing import FakeTwilioCall


class TwilioWsClient:
    """Twilio's side of a Media Streams WebSocket, played by a fake call."""

    def __init__(self, call: FakeTwilioCall) -> None:
        self.call = call
        self.ws = wsproto.WSConnection(ConnectionType.CLIENT)
        self.close_code: int | None = None
        self.stream: anyio.abc.SocketStream | None = None

    async def run(
        self,
        host: str,
        port: int,
        *,
        on_step: Callable[[FakeTwilioCall, float], None] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Connect, stream until the server closes the WebSocket (a safety-net timeout)."""
        with anyio.fail_after(timeout):
            async with await anyio.connect_tcp(host, port) as stream:
                self.stream = stream
                await stream.send(self.ws.send(wse.Request(host=host, target="/twilio")))
                accepted = False
                while not accepted:
                    self.ws.receive_data(await stream.receive())
                    for ev in self.ws.events():
                        assert isinstance(ev, wse.AcceptConnection), ev
                        accepted = True
                self.call.start(anyio.current_time())
                while self.close_code is None:
                    now = anyio.current_time()
                    self.call.advance(now)
                    if on_step is not None:
                        on_step(self.call, now)
                    await self._flush()
                    deadline = self.call.next_deadline()
                    wait = None if deadline is None else max(0.0, deadline - now)
                    data: bytes | None = None
                    with anyio.move_on_after(wait):
                        try:
                            data = await stream.receive()
                        except (anyio.EndOfStream, anyio.BrokenResourceError):
                            data = b""
                    if data is None:
                        continue
                    if data == b"":
                        self.close_code = self.close_code or 1006
                        return
                    self.ws.receive_data(data)
                    for ev in self.ws.events():
                        if isinstance(ev, wse.TextMessage):
                            self.call.receive(ev.data, anyio.current_time())
                        elif isinstance(ev, wse.CloseConnection):
                            self.close_code = ev.code
                            if self.ws.state is not ConnectionState.CLOSED:
                                await stream.send(self.ws.send(ev.response()))

    async def _flush(self) -> None:
        assert self.stream is not None
        for text in self.call.messages_to_send():
            if self.ws.state is not ConnectionState.OPEN:
                return
            await self.stream.send(self.ws.send(wse.TextMessage(data=text)))
        if self.call.stopped and self.ws.state is ConnectionState.OPEN:
            # Twilio closes the WebSocket after ``stop``.
            await self.stream.send(self.ws.send(wse.CloseConnection(code=1000)))
