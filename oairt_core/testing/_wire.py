"""Per-connection state of the fake server and everything that goes out on the wire.

Server events (with ids, obfuscation padding and the recorder), ``error`` events for rejected
client events (:class:`Violation`), fault injection (:class:`Faults`) and the connection
controls (close, abort, stall, raw frames, DTMF).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import h11
import wsproto
import wsproto.events as wse
from wsproto.connection import ConnectionState

from .script import McpApprovalRequest
from .vad import EnergyVad

if TYPE_CHECKING:
    from ._items import _Item
    from ._output import _Response
    from .server import FakeRealtimeService


__all__ = ["CLOSE_TIMEOUT", "Faults", "Phase", "Violation"]

_OBFUSCATED = frozenset(
    {
        "response.output_audio_transcript.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.mcp_call_arguments.delta",
    }
)

CLOSE_TIMEOUT = 2.0


@dataclass(frozen=True)
class Violation:
    """A client event the server rejected (and answered with an ``error`` event)."""

    code: str
    message: str
    param: str | None = None
    event_id: str | None = None
    event_type: str | None = None


@dataclass
class Faults:
    """Fault injection, triggered the first time the server sends an event of a given type.

    >>> Faults(close_after="response.output_audio.delta", close_code=1011)  # doctest: +ELLIPSIS
    Faults(...)
    """

    reject_status: int | None = None
    """Refuse every WebSocket upgrade with this HTTP status (OpenAI error JSON body)."""
    close_after: str | None = None
    close_code: int = 1011
    close_reason: str = "fault injected"
    abort_after: str | None = None
    """Drop the TCP connection without a close frame (``server.aborted``)."""
    stall_after: str | None = None
    """Stop sending anything (the connection stays open)."""
    inject_after: tuple[str, str] | None = None
    """``(event type, raw text)``: send this text frame after the event (malformed JSON,
    an unknown event type, ...)."""


class Phase(enum.Enum):
    """What a connection is: HTTP until an upgrade, then a Realtime WebSocket."""

    HTTP = "http"
    WEBSOCKET = "websocket"
    CLOSED = "closed"


class _ApiError(Exception):
    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = "invalid_request_error",
        violation: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.violation = violation


class _Wire:
    """Per-connection state and the way out: events, ids, client errors, faults, control.

    The protocol layers stack on this one (conversation, session, output items, response
    player, turns, client events, HTTP/WebSocket transport); ``FakeRealtimeServer`` is the top.
    """

    def __init__(self, service: FakeRealtimeService) -> None:
        self.service = service
        self.index = self.service._next_index()
        self.phase = Phase.HTTP
        self.closed = False
        self.aborted = False
        self.stalled = False
        self.close_code: int | None = None
        self.violations: list[Violation] = []
        self.sent_events: list[dict[str, Any]] = []
        self.received_events: list[dict[str, Any]] = []
        self.query: dict[str, str] = {}
        self.session: dict[str, Any] = {}
        self.sideband = False
        self.recorder = (
            self.service.recorder_factory() if self.service.recorder_factory is not None else None
        )
        self._h11 = h11.Connection(h11.SERVER)
        self._ws: wsproto.WSConnection | None = None
        self._out = bytearray()
        self._req: h11.Request | None = None
        self._req_body = bytearray()
        self._frag: list[str] = []
        self._frag_size = 0
        self._now = 0.0
        self._ids: dict[str, int] = {}
        self._fired: set[str] = set()
        # conversation state
        self.conversation: list[_Item] = []
        self._buffer = bytearray()
        self._buffer_start_ms = 0.0
        self._timeline_ms = 0.0
        self._vad = EnergyVad()
        self._vad_item: str | None = None
        self._responses: list[_Response] = []
        self._audio_started = False
        self._approvals: dict[str, McpApprovalRequest] = {}
        self._approved: list[tuple[str, McpApprovalRequest]] = []
        self._idle_deadline: float | None = None
        self._idle_from_ms = 0.0
        self._last_user_text = ""
        self._replay: Any = None
        self._closing_deadline: float | None = None
        self._last_response_id: str | None = None
        self._token = ""

    def _internal_error(self, exc: BaseException) -> None:
        """Record a bug of the fake itself as a violation and close with 1011."""
        self.violations.append(Violation("internal_error", f"{type(exc).__name__}: {exc}"))
        try:
            self.close(1011, "internal error")
        except Exception:  # noqa: BLE001
            self.abort()

    # ------------------------------------------------------------------ faults and control

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the WebSocket closing handshake (or close an HTTP connection).

        ``closed`` turns true once the client answers the close frame, or
        ``CLOSE_TIMEOUT`` seconds later (see :meth:`next_deadline`).
        """
        self._stop_responses()
        ws = self._ws
        if self.phase is Phase.WEBSOCKET and ws is not None and ws.state is ConnectionState.OPEN:
            self._out += ws.send(wse.CloseConnection(code=code, reason=reason))
            self.close_code = code
            self._closing_deadline = self._now + CLOSE_TIMEOUT
            return
        self.phase = Phase.CLOSED
        self.closed = True

    def abort(self) -> None:
        """Drop the connection: the adapter closes the socket without a close frame."""
        self._stop_responses()
        self.aborted = True
        self.closed = True
        self.phase = Phase.CLOSED

    def stall(self, stalled: bool = True) -> None:
        """Stop (or resume) sending; queued bytes are kept."""
        self.stalled = stalled

    def send_dtmf(self, digit: str, received_at: int) -> None:
        """SIP only: a keypad press, ``input_audio_buffer.dtmf_event_received`` (the one server
        event without an ``event_id``)."""
        ev: dict[str, Any] = {
            "type": "input_audio_buffer.dtmf_event_received",
            "event": digit,
            "received_at": received_at,
        }
        self.send_raw(json.dumps(ev, separators=(",", ":")))
        if self.service.history:
            self.sent_events.append(ev)

    def send_raw(self, text: str) -> None:
        """Send an arbitrary text frame (for malformed-frame tests)."""
        ws = self._ws
        if ws is not None and ws.state is ConnectionState.OPEN and not self.closed:
            self._out += ws.send(wse.TextMessage(data=text))
            if self.recorder is not None:
                self.recorder.record("server", text, self._now)

    def _emit(self, event: dict[str, Any]) -> None:
        """Send one server event now (fault hooks run here)."""
        if self.closed or self._ws is None or self._closing_deadline is not None:
            return
        if self.service.obfuscation and event["type"] in _OBFUSCATED:
            # The real server pads some deltas against length side channels; clients must
            # ignore the extra key (GA_PROTOCOL.md x.1).
            n = self._ids.get("event", 0) % 7 + 3
            event["obfuscation"] = "xQ3vT9kLmZ2p"[:n]
        event.setdefault("event_id", self._new_id("event"))
        if "event_id" in event:
            # Keep event_id first on the wire, like the real server.
            event = {"type": event["type"], "event_id": event["event_id"], **event}
        text = json.dumps(event, separators=(",", ":"))
        if self.service.history:
            self.sent_events.append(event)
        self._out += self._ws.send(wse.TextMessage(data=text))
        if self.recorder is not None:
            self.recorder.record("server", text, self._now)
        self._after_send(event["type"])

    def _emit_raw_event(self, text: str) -> None:
        """Send a prepared event (replay) verbatim."""
        if self.closed or self._ws is None or self._closing_deadline is not None:
            return
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict) and self.service.history:
            self.sent_events.append(parsed)
        self._out += self._ws.send(wse.TextMessage(data=text))
        if self.recorder is not None:
            self.recorder.record("server", text, self._now)

    def _after_send(self, etype: str) -> None:
        f = self.service.faults
        if (
            f.inject_after is not None
            and f.inject_after[0] == etype
            and "inject" not in self._fired
        ):
            self._fired.add("inject")
            self.send_raw(f.inject_after[1])
        if f.stall_after == etype and "stall" not in self._fired:
            self._fired.add("stall")
            self.stall()
        if f.close_after == etype and "close" not in self._fired:
            self._fired.add("close")
            self.close(f.close_code, f.close_reason)
        if f.abort_after == etype and "abort" not in self._fired:
            self._fired.add("abort")
            self.abort()

    def _new_id(self, prefix: str) -> str:
        n = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = n
        # Real ids are random base62; these are deterministic and unique per server.
        return f"{prefix}_{self.index:04d}{n:012d}" if prefix != "event" else f"event_{n:08d}"

    def _client_error(self, err: _ApiError, event_id: str | None, etype: str | None) -> None:
        if err.violation:
            self.violations.append(
                Violation(err.code or err.type, err.message, err.param, event_id, etype)
            )
        self._emit(
            {
                "type": "error",
                "error": {
                    "type": err.type,
                    "code": err.code,
                    "message": err.message,
                    "param": err.param,
                    "event_id": event_id,
                },
            }
        )

    def _violation(self, code: str, message: str, *, param: str | None = None) -> None:
        self.violations.append(Violation(code, message, param))

    def _turn_detection(self) -> dict[str, Any] | None:
        td = self.session.get("audio", {}).get("input", {}).get("turn_detection")
        return td if isinstance(td, dict) else None

    def _input_format(self) -> str:
        fmt = self.session.get("audio", {}).get("input", {}).get("format") or {}
        return str(fmt.get("type") or "audio/pcm")

    def _last_item_id(self) -> str | None:
        return self.conversation[-1].id if self.conversation else None

    def _stop_responses(self) -> None:
        for r in self._responses:
            if r.gen is not None:
                gen, r.gen = r.gen, None
                try:
                    gen.close()
                except ValueError:
                    pass  # it is the generator running now (a fault fired inside it)
        self._responses.clear()
        self._idle_deadline = None
