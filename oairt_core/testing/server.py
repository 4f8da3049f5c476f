"""The fake Realtime server: a sans-IO state machine per connection.

One :class:`FakeRealtimeService` holds what all connections share (accepted keys, the
:class:`~oairt_core.testing.script.Script`, pacing, the REST fake, fault injection, the
recorder); each accepted TCP connection gets a :class:`FakeRealtimeServer` from
:meth:`FakeRealtimeService.new_connection`. Like h11, the state machine does no I/O and reads
no clock: the adapter feeds it bytes with the current time and sends what it produces::

    server.receive_data(data, now)      # b"" = the peer closed its side
    sock.send(server.data_to_send())
    server.next_deadline()              # when to call server.advance(now) at the latest
    server.closed                       # flush, then close the socket

The first HTTP request on a connection decides its role, as on the real host: a WebSocket
upgrade to ``/v1/realtime`` becomes a Realtime session; anything else goes to the REST fake
(:class:`~oairt_core.testing.rest_fake.FakeRestApi`) over keep-alive HTTP/1.1.

One connection's behaviour is stacked in layers, one module each (each builds on the one before):
``_wire`` (state, events out, ids, errors, faults, close/abort/stall), ``_items`` (the
conversation store), ``_session`` (``session.created``/``session.update``; defaults and merging
in ``_defaults``), ``_output`` (output items: text, paced audio, function and MCP calls),
``_player`` (response lifecycle, pacing, cancel), ``_turns`` (input buffer, VAD, commits,
transcription, idle timeout), ``_events`` (client-event checks and dispatch), ``_http`` (h11
routing, handshake checks, wsproto); :class:`FakeRealtimeServer` adds the adapter API.

>>> service = FakeRealtimeService(api_keys={"sk-test-1234567890"})
>>> server = service.new_connection()
>>> server.receive_data(b"GET /v1/realtime?model=gpt-realtime HTTP/1.1\\r\\nHost: x\\r\\n"
...     b"Upgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\n"
...     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
...     b"Authorization: Bearer sk-test-1234567890\\r\\n\\r\\n", now=0.0)
>>> server.data_to_send().startswith(b"HTTP/1.1 101 ")
True
>>> [e["type"] for e in server.sent_events]
['session.created']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from .._redact import Secret
from ._defaults import (
    DEFAULT_INSTRUCTIONS,
    KNOWN_MODELS,
    default_session,
    default_transcription_session,
)
from ._http import RestHandler, _Transport
from ._keys import API_KEY_RULE, FAKE_API_KEY, accepts_api_key
from ._wire import Faults, Phase, Violation
from .script import Script

__all__ = [
    "API_KEY_RULE",
    "DEFAULT_INSTRUCTIONS",
    "FAKE_API_KEY",
    "KNOWN_MODELS",
    "FakeRealtimeServer",
    "FakeRealtimeService",
    "Faults",
    "Phase",
    "Pacing",
    "RestHandler",
    "Violation",
    "accepts_api_key",
    "default_session",
    "default_transcription_session",
]

Pacing = Literal["fast", "realtime"]


# --------------------------------------------------------------------------- service


def _fixed_clock() -> float:
    return 1_750_000_000.0


class FakeRealtimeService:
    """Configuration and state shared by every connection of one fake server.

    Keys follow :func:`accepts_api_key` (``api_keys=None``: any key). ``script`` is shared:
    replies are taken by whichever connection creates a response first. ``rest`` answers
    non-WebSocket requests and vouches for client secrets and ``call_id`` sideband connections.
    ``max_session_seconds`` is the session cap (GA: 60 minutes; lower it in tests): at that
    age the session gets an ``error`` with code ``session_expired`` and a close with 1001.
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str | Secret] | None = None,
        script: Script | Any | None = None,
        pacing: Pacing = "fast",
        rest: RestHandler | None = None,
        faults: Faults | None = None,
        models: Iterable[str] | None = None,
        recorder_factory: Callable[[], Any] | None = None,
        base_path: str = "/v1",
        history: bool = True,
        clock: Callable[[], float] | None = None,
        obfuscation: bool = True,
        max_session_seconds: float = 3600,
    ) -> None:
        if not max_session_seconds > 0:
            raise ValueError("max_session_seconds must be positive")
        # The GA cap on a session's duration: at this age the server sends a
        # session_expired error and closes with 1001 (counted in adapter time).
        self.max_session_seconds = float(max_session_seconds)
        # Add the wire's "obfuscation" padding to transcript/argument deltas, as the real
        # server does (off: exactly the SDK-declared fields).
        self.obfuscation = obfuscation
        # Wall-clock time (epoch seconds) for expires_at fields only; the state machine's
        # own timing always comes from the `now` the adapter passes in.
        self.clock: Callable[[], float] = clock or getattr(rest, "clock", None) or _fixed_clock
        # Keep sent_events/received_events per connection (off for long-running servers).
        self.history = history
        self.api_keys: list[Secret] | None = (
            None if api_keys is None else [Secret(k) for k in api_keys]
        )
        self.script = script if script is not None else Script()
        self.pacing: Pacing = pacing
        self.rest = rest
        self.faults = faults or Faults()
        self.models = frozenset(models) if models is not None else KNOWN_MODELS
        self.recorder_factory = recorder_factory
        self.base_path = base_path.rstrip("/")
        self.connections: list[FakeRealtimeServer] = []
        self._counter = 0

    @property
    def violations(self) -> list[Violation]:
        """Every violation of every connection, in connection order."""
        return [v for c in self.connections for v in c.violations]

    def new_connection(self) -> FakeRealtimeServer:
        server = FakeRealtimeServer(self)
        self.connections.append(server)
        return server

    def _next_index(self) -> int:
        self._counter += 1
        return self._counter

    def key_ok(self, token: str) -> bool:
        rest_check = getattr(self.rest, "is_valid_token", None)
        if rest_check is not None and rest_check(token):
            return True
        return accepts_api_key(token, self.api_keys)


# --------------------------------------------------------------------------- connection


class FakeRealtimeServer(_Transport):
    """One connection of the fake server (HTTP first, then maybe a Realtime WebSocket).

    Public state for assertions: ``sent_events`` (every JSON event sent), ``received_events``
    (every client event that parsed as JSON), ``violations``, ``session`` (the effective
    config), ``items`` (the conversation, in order), ``phase``, ``closed``, ``aborted``,
    ``close_code``, ``query`` (the upgrade's query parameters).
    """

    def __init__(self, service: FakeRealtimeService | None = None, **config: Any) -> None:
        if service is None:
            service = FakeRealtimeService(**config)
            service.connections.append(self)
        super().__init__(service)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The conversation as the server holds it: item dicts in order, audio as base64."""
        return [it.public(with_audio=True) for it in self.conversation]

    # ------------------------------------------------------------------ adapter API

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes from the socket (``b""`` when the peer closed its side)."""
        self._now = now
        if self.closed:
            return
        try:
            if self.phase is Phase.HTTP:
                self._receive_http(data)
            elif self.phase is Phase.WEBSOCKET:
                self._receive_ws(data)
            self._pump(now)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must not look like a hang
            self._internal_error(exc)

    def data_to_send(self) -> bytes:
        """Bytes to write to the socket now (empty while stalled or after an abort)."""
        if self.stalled or self.aborted:
            return b""
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_deadline(self) -> float | None:
        """The latest time :meth:`advance` must be called, or ``None`` if nothing is pending."""
        if self.closed or self.phase is not Phase.WEBSOCKET:
            return None
        if self._closing_deadline is not None:
            return self._closing_deadline
        times = [r.next_due for r in self._responses if r.gen is not None]
        if self._idle_deadline is not None:
            times.append(self._idle_deadline)
        if self._expire_deadline is not None:
            times.append(self._expire_deadline)
        if self._replay is not None:
            t = self._replay.next_deadline()
            if t is not None:
                times.append(t)
        return min(times) if times else None

    def advance(self, now: float) -> None:
        """Let time pass: send paced audio, fire the idle timeout, ..."""
        self._now = now
        if self._closing_deadline is not None and now >= self._closing_deadline:
            self.phase = Phase.CLOSED
            self.closed = True
        if not self.closed:
            try:
                self._pump(now)
            except Exception as exc:  # noqa: BLE001
                self._internal_error(exc)

    def _pump(self, now: float) -> None:
        if self.phase is not Phase.WEBSOCKET or self.closed or self._closing_deadline is not None:
            return
        if self._expire_deadline is not None and now >= self._expire_deadline:
            self._expire_session()
            return
        for r in list(self._responses):
            self._step(r, now)
        if self._replay is not None:
            self._replay.advance(now)
        if self._idle_deadline is not None and now >= self._idle_deadline and not self._responses:
            self._idle_deadline = None
            self._idle_timeout()
