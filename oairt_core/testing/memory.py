"""Drive a fake server in memory, without sockets: a minimal wsproto client for tests.

:class:`MemoryClient` performs the upgrade against a :class:`FakeRealtimeServer` and moves
bytes both ways synchronously. Time only moves when the test says so.

>>> from oairt_core.testing import FakeRealtimeService, Script, say
>>> client = MemoryClient(FakeRealtimeService(script=Script(say("Hi there"))))
>>> client.events()[0]["type"]
'session.created'
>>> client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
>>> [e["type"] for e in client.events()][-1]
'response.done'
"""

from __future__ import annotations

import json
from typing import Any

import wsproto
import wsproto.events as wse
from wsproto import ConnectionType

from .server import FakeRealtimeServer, FakeRealtimeService

__all__ = ["MemoryClient"]


class MemoryClient:
    """A WebSocket client wired straight to a fake server connection."""

    def __init__(
        self,
        service: FakeRealtimeService | None = None,
        *,
        target: str = "/v1/realtime?model=gpt-realtime",
        api_key: str | None = "sk-test",
        headers: list[tuple[str, str]] | None = None,
        subprotocols: list[str] | None = None,
        now: float = 0.0,
    ) -> None:
        self.service = service if service is not None else FakeRealtimeService()
        self.server: FakeRealtimeServer = self.service.new_connection()
        self.now = now
        self.ws = wsproto.WSConnection(ConnectionType.CLIENT)
        self.accepted = False
        self.rejected_status: int | None = None
        self.rejected_body = b""
        self.closed_code: int | None = None
        self._inbox: list[dict[str, Any]] = []
        self.raw_frames: list[str] = []
        hdrs = list(headers or [])
        if api_key is not None:
            hdrs.append(("Authorization", f"Bearer {api_key}"))
        data = self.ws.send(
            wse.Request(
                host="127.0.0.1",
                target=target,
                extra_headers=[(k.encode(), v.encode()) for k, v in hdrs],
                subprotocols=subprotocols or [],
            )
        )
        self._to_server(data)

    def _to_server(self, data: bytes) -> None:
        self.server.receive_data(data, self.now)
        self._from_server()

    def _from_server(self) -> None:
        out = self.server.data_to_send()
        if not out:
            return
        self.ws.receive_data(out)
        for ev in self.ws.events():
            if isinstance(ev, wse.AcceptConnection):
                self.accepted = True
            elif isinstance(ev, wse.RejectConnection):
                self.rejected_status = ev.status_code
            elif isinstance(ev, wse.RejectData):
                self.rejected_body += ev.data
            elif isinstance(ev, wse.TextMessage):
                self.raw_frames.append(ev.data)
                try:
                    obj = json.loads(ev.data)
                except ValueError:
                    continue
                if isinstance(obj, dict):
                    self._inbox.append(obj)
            elif isinstance(ev, wse.CloseConnection):
                self.closed_code = ev.code
                if self.ws.state is not wsproto.connection.ConnectionState.CLOSED:
                    try:
                        self.server.receive_data(self.ws.send(ev.response()), self.now)
                    except wsproto.utilities.LocalProtocolError:
                        pass

    def send(self, event: dict[str, Any] | str) -> None:
        """Send one client event (a dict is JSON-encoded; a str is sent as is)."""
        text = event if isinstance(event, str) else json.dumps(event)
        self._to_server(self.ws.send(wse.TextMessage(data=text)))

    def close(self, code: int = 1000) -> None:
        self._to_server(self.ws.send(wse.CloseConnection(code=code)))

    def advance(self, now: float) -> None:
        """Move the server's clock to ``now`` and collect what it sends."""
        self.now = now
        self.server.advance(now)
        self._from_server()

    def run_until_idle(self, step: float = 0.01, limit: float = 600.0) -> None:
        """Advance through every pending deadline (realtime pacing) until none is left."""
        start = self.now
        while True:
            d = self.server.next_deadline()
            if d is None or d - start > limit:
                return
            self.advance(max(d, self.now))

    def events(self) -> list[dict[str, Any]]:
        """Server events received since the last call."""
        out, self._inbox = self._inbox, []
        return out
