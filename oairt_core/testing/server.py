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

import base64
import binascii
import copy
import enum
import json
import math
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

import h11
import wsproto
import wsproto.events as wse
from wsproto import ConnectionType
from wsproto.connection import ConnectionState

from ..codec import decode_client_event
from ..errors import InvalidClientEvent, RemoteProtocolError
from ..redact import Secret
from ..validation import validate_client_event
from . import _audio
from ._strict import Problem, check_client_event
from .script import (
    DEFAULT_CHUNK_MS,
    Fail,
    FunctionCall,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    Reply,
    Say,
    Script,
    Step,
    Transcription,
)
from .vad import EnergyVad, SpeechStarted, semantic_silence_ms

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "KNOWN_MODELS",
    "FakeRealtimeServer",
    "FakeRealtimeService",
    "Faults",
    "Phase",
    "Pacing",
    "RestHandler",
    "Violation",
    "default_session",
    "default_transcription_session",
]

Pacing = Literal["fast", "realtime"]

KNOWN_MODELS = frozenset(
    {
        "gpt-realtime",
        "gpt-realtime-1.5",
        "gpt-realtime-2",
        "gpt-realtime-2.1",
        "gpt-realtime-2.1-mini",
        "gpt-realtime-2025-08-28",
        "gpt-4o-realtime-preview",
        "gpt-4o-realtime-preview-2024-10-01",
        "gpt-4o-realtime-preview-2024-12-17",
        "gpt-4o-realtime-preview-2025-06-03",
        "gpt-4o-mini-realtime-preview",
        "gpt-4o-mini-realtime-preview-2024-12-17",
        "gpt-realtime-mini",
        "gpt-realtime-mini-2025-10-06",
        "gpt-realtime-mini-2025-12-15",
        "gpt-audio-1.5",
        "gpt-audio-mini",
        "gpt-audio-mini-2025-10-06",
        "gpt-audio-mini-2025-12-15",
    }
)

DEFAULT_INSTRUCTIONS = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. Act like a "
    "human, but remember that you aren't a human and that you can't do human things in the "
    "real world. Your voice and personality should be warm and engaging, with a lively and "
    "playful tone."
)

_OBFUSCATED = frozenset(
    {
        "response.output_audio_transcript.delta",
        "conversation.item.input_audio_transcription.delta",
        "response.mcp_call_arguments.delta",
    }
)

MAX_APPEND_BYTES = 15 * 1024 * 1024
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
MIN_COMMIT_MS = 100.0
SESSION_TTL_S = 3600
CLOSE_TIMEOUT = 2.0


class RestHandler(Protocol):
    """What the HTTP layer needs from the REST fake (``FakeRestApi`` satisfies it)."""

    def handle(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]: ...

    def is_active_call(self, call_id: str) -> bool: ...


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


# --------------------------------------------------------------------------- defaults


def _server_vad() -> dict[str, Any]:
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


def _semantic_vad() -> dict[str, Any]:
    return {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    }


def default_session(model: str, session_id: str, expires_at: int) -> dict[str, Any]:
    """The session the real server reports in ``session.created`` for a realtime session."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": _server_vad(),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
        "include": None,
    }


def default_transcription_session(session_id: str, expires_at: int) -> dict[str, Any]:
    """The session a transcription (``intent=transcription``) connection starts with."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {
                    "model": "gpt-4o-mini-transcribe",
                    "language": None,
                    "prompt": "",
                },
                "noise_reduction": None,
                "turn_detection": _server_vad(),
            }
        },
        "include": None,
    }


# --------------------------------------------------------------------------- service


def _fixed_clock() -> float:
    return 1_750_000_000.0


class FakeRealtimeService:
    """Configuration and state shared by every connection of one fake server.

    ``api_keys=None`` accepts any bearer token. ``script`` is shared: replies are taken by
    whichever connection creates a response first. ``rest`` answers non-WebSocket requests
    and vouches for client secrets and ``call_id`` sideband connections.
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
    ) -> None:
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
        if self.api_keys is None:
            return True
        s = Secret(token)
        return any(s == k for k in self.api_keys)


# --------------------------------------------------------------------------- connection


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


@dataclass
class _Item:
    data: dict[str, Any]
    audio: dict[int, bytes] = field(default_factory=dict)
    audio_format: str = "audio/pcm"

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def public(self, with_audio: bool = False) -> dict[str, Any]:
        d = copy.deepcopy(self.data)
        if with_audio:
            for i, pcm in self.audio.items():
                d["content"][i]["audio"] = base64.b64encode(pcm).decode("ascii")
        return d


@dataclass
class _Response:
    id: str
    conversation: str
    params: dict[str, Any]
    modalities: list[str]
    voice: Any
    out_format: dict[str, Any]
    max_tokens: int | None
    metadata: Any
    output: list[dict[str, Any]] = field(default_factory=list)
    gen: Generator[float, None, None] | None = None
    next_due: float = 0.0
    open_item: dict[str, Any] | None = None
    open_kind: str = ""
    partial: str = ""
    audio_ms: float = 0.0
    text_tokens: int = 0
    audio_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    sent_audio: bool = False
    status: str = "in_progress"
    status_details: dict[str, Any] | None = None
    prev_item: str | None = None

    def header(self, status: str) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": self.status_details if status != "in_progress" else None,
            "output": [],
            "conversation_id": None,
            "output_modalities": list(self.modalities),
            "max_output_tokens": "inf" if self.max_tokens is None else self.max_tokens,
            "audio": {"output": {"format": dict(self.out_format), "voice": self.voice}},
            "usage": None,
            "metadata": self.metadata,
        }


class FakeRealtimeServer:
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

    def _internal_error(self, exc: BaseException) -> None:
        """Record a bug of the fake itself as a violation and close with 1011."""
        self.violations.append(Violation("internal_error", f"{type(exc).__name__}: {exc}"))
        try:
            self.close(1011, "internal error")
        except Exception:  # noqa: BLE001
            self.abort()

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

    # ------------------------------------------------------------------ HTTP

    def _receive_http(self, data: bytes) -> None:
        try:
            self._h11.receive_data(data)
            while True:
                ev = self._h11.next_event()
                if ev is h11.NEED_DATA:
                    return
                if ev is h11.PAUSED:
                    self._maybe_upgrade()
                    return
                if isinstance(ev, h11.Request):
                    self._req = ev
                    self._req_body.clear()
                elif isinstance(ev, h11.Data):
                    self._req_body += ev.data
                elif isinstance(ev, h11.EndOfMessage):
                    if self._req is not None and not _is_upgrade(self._req):
                        self._answer_rest(self._req, bytes(self._req_body))
                        if self.closed:
                            return
                elif isinstance(ev, h11.ConnectionClosed):
                    self.closed = True
                    self.phase = Phase.CLOSED
                    return
        except h11.RemoteProtocolError:
            self._http_reply(400, _error_body("Bad HTTP request.", None, None), close=True)

    def _http_reply(
        self,
        status: int,
        body: bytes,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        close: bool = False,
    ) -> None:
        hdrs = list(headers or [(b"content-type", b"application/json")])
        hdrs = [(k, v) for k, v in hdrs if k.lower() not in (b"content-length", b"connection")]
        hdrs.append((b"content-length", str(len(body)).encode()))
        if close:
            hdrs.append((b"connection", b"close"))
        try:
            self._out += self._h11.send(h11.Response(status_code=status, headers=hdrs))
            if body:
                self._out += self._h11.send(h11.Data(data=body))
            self._out += self._h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            close = True
        if close or self._h11.our_state is h11.MUST_CLOSE:
            self.closed = True
            self.phase = Phase.CLOSED
            return
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            self._req = None

    def _answer_rest(self, req: h11.Request, body: bytes) -> None:
        method = req.method.decode("ascii", "replace")
        target = req.target.decode("ascii", "replace")
        headers = [(bytes(k), bytes(v)) for k, v in req.headers.raw_items()]
        rest = self.service.rest
        if rest is None:
            path = urlsplit(target).path
            self._http_reply(
                404, _error_body(f"Invalid URL ({method} {path})", "invalid_request_error", None)
            )
            return
        status, out_headers, out_body = rest.handle(method, target, headers, body)
        self._http_reply(status, out_body, headers=list(out_headers))

    def _maybe_upgrade(self) -> None:
        req = self._req
        assert req is not None
        target = req.target.decode("ascii", "replace")
        parts = urlsplit(target)
        if parts.path.rstrip("/") != self.service.base_path + "/realtime":
            self._http_reply(
                404,
                _error_body(f"Invalid URL (GET {parts.path})", "invalid_request_error", None),
                close=True,
            )
            return
        status, message, code, param = self._check_handshake(req, parts.query)
        if status != 101:
            self._http_reply(
                status, _error_body(message, "invalid_request_error", code, param), close=True
            )
            return
        # Hand the request to wsproto: rebuild its bytes (h11 consumed them) + trailing data.
        raw = b"GET " + req.target + b" HTTP/1.1\r\n"
        for k, v in req.headers.raw_items():
            raw += bytes(k) + b": " + bytes(v) + b"\r\n"
        raw += b"\r\n"
        trailing, _closed = self._h11.trailing_data
        ws = wsproto.WSConnection(ConnectionType.SERVER)
        offered: list[str] | None = None
        try:
            ws.receive_data(raw)
            for ev in ws.events():
                if isinstance(ev, wse.Request):
                    offered = list(ev.subprotocols)
        except wsproto.utilities.RemoteProtocolError as exc:
            self._ws = None
            self._http_reply(400, _error_body(str(exc), "invalid_request_error", None), close=True)
            return
        if offered is None:  # not a valid WebSocket handshake (e.g. no Sec-WebSocket-Key)
            self._http_reply(
                400,
                _error_body("Invalid WebSocket handshake.", "invalid_request_error", None),
                close=True,
            )
            return
        self._ws = ws
        sub = "realtime" if "realtime" in offered else None
        self._out += self._ws.send(wse.AcceptConnection(subprotocol=sub))
        self.phase = Phase.WEBSOCKET
        self._on_open()
        if trailing:
            self._receive_ws(bytes(trailing))

    def _check_handshake(
        self, req: h11.Request, query: str
    ) -> tuple[int, str, str | None, str | None]:
        svc = self.service
        if svc.faults.reject_status is not None:
            return (svc.faults.reject_status, "Fault injected: handshake rejected.", None, None)
        q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.query = q
        headers = {bytes(k).lower(): bytes(v).decode("latin-1") for k, v in req.headers.raw_items()}
        token: str | None = None
        auth = headers.get(b"authorization")
        if auth is not None and auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
        proto = headers.get(b"sec-websocket-protocol", "")
        for p in (x.strip() for x in proto.split(",")):
            if p.startswith("openai-insecure-api-key."):
                token = p[len("openai-insecure-api-key.") :]
        if b"openai-beta" in headers:
            self._violation(
                "beta_header",
                "The OpenAI-Beta header is not part of the GA protocol.",
                param="OpenAI-Beta",
            )
        if not token:
            return (
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                None,
                None,
            )
        if not svc.key_ok(token):
            masked = Secret(token)
            return (
                401,
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_api_key",
                None,
            )
        self._token = token
        intent = q.get("intent")
        if intent is not None and intent not in ("realtime", "transcription"):
            return (
                400,
                f"Invalid value: '{intent}'. Supported values are: 'realtime' and 'transcription'.",
                "invalid_value",
                "intent",
            )
        call_id = q.get("call_id")
        model = q.get("model")
        if call_id is not None:
            checker = getattr(svc.rest, "is_active_call", None)
            if checker is not None and not checker(call_id):
                return (404, f"Call '{call_id}' not found.", "call_not_found", "call_id")
            self.sideband = True
            return (101, "", None, None)
        if model is None and intent != "transcription":
            return (
                400,
                "Missing required parameter: 'model'.",
                "missing_required_parameter",
                "model",
            )
        if model is not None and model not in svc.models:
            return (
                404,
                f"The model '{model}' does not exist or you do not have access to it.",
                "model_not_found",
                None,
            )
        return (101, "", None, None)

    # ------------------------------------------------------------------ WebSocket

    def _receive_ws(self, data: bytes) -> None:
        assert self._ws is not None
        if not data:
            # TCP EOF without a close frame.
            self._stop_responses()
            self.closed = True
            self.phase = Phase.CLOSED
            return
        try:
            self._ws.receive_data(data)
            for ev in self._ws.events():
                if self.closed:
                    return
                if isinstance(ev, wse.TextMessage):
                    self._frag.append(ev.data)
                    self._frag_size += len(ev.data)
                    if self._frag_size > MAX_MESSAGE_BYTES:
                        self.close(1009, "message too big")
                        return
                    if ev.message_finished:
                        text = "".join(self._frag)
                        self._frag.clear()
                        self._frag_size = 0
                        self._on_text(text)
                elif isinstance(ev, wse.BytesMessage):
                    if ev.message_finished:
                        self._client_error(
                            _ApiError(
                                "Binary frames are not supported; send JSON text frames.",
                                code="invalid_event",
                            ),
                            None,
                            None,
                        )
                elif isinstance(ev, wse.Ping):
                    if self._ws.state is ConnectionState.OPEN:
                        self._out += self._ws.send(ev.response())
                elif isinstance(ev, wse.CloseConnection):
                    self._stop_responses()
                    if self._ws.state is not ConnectionState.CLOSED:
                        self._out += self._ws.send(ev.response())
                    if self.close_code is None:
                        self.close_code = ev.code
                    self.closed = True
                    self.phase = Phase.CLOSED
                    return
        except wsproto.utilities.RemoteProtocolError:
            self._stop_responses()
            self.closed = True
            self.phase = Phase.CLOSED

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
        except ValueError:
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

    # ------------------------------------------------------------------ session start

    def _on_open(self) -> None:
        from .recording import ReplayScript  # local: recording imports this module

        if isinstance(self.service.script, ReplayScript):
            self._replay = self.service.script.start(self)
            return
        expires = int(self.service.clock()) + SESSION_TTL_S
        sid = self._new_id("sess")
        if self.query.get("intent") == "transcription":
            self.session = default_transcription_session(sid, expires)
        else:
            model = self.query.get("model") or getattr(self.service.rest, "default_model", None)
            self.session = default_session(model or "gpt-realtime", sid, expires)
            secret_session = getattr(self.service.rest, "client_secret_session", None)
            bound = secret_session(self._token) if secret_session is not None else None
            if self.sideband:
                # A sideband connection controls the session the call was accepted with.
                calls = getattr(self.service.rest, "calls", None)
                call = calls.get(self.query.get("call_id")) if isinstance(calls, dict) else None
                bound = getattr(call, "session", None)
            if isinstance(bound, dict):
                # An ek_ client secret carries the session config it was minted with.
                _merge_session(
                    self.session,
                    {
                        k: v
                        for k, v in bound.items()
                        if k not in ("id", "object", "expires_at", "client_secret")
                    },
                )
        self._configure_vad()
        self._emit({"type": "session.created", "session": copy.deepcopy(self.session)})

    # ------------------------------------------------------------------ client events

    def _on_text(self, text: str) -> None:
        if self._closing_deadline is not None:
            return  # we are closing: late client frames are dropped, as after a close frame
        if self.recorder is not None:
            self.recorder.record("client", text, self._now)
        try:
            event = json.loads(text)
        except ValueError:
            self._client_error(
                _ApiError(
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)",
                    code="invalid_json",
                ),
                None,
                None,
            )
            return
        if not isinstance(event, dict):
            self._client_error(_ApiError("Expected an object.", code="invalid_event"), None, None)
            return
        if self.service.history:
            self.received_events.append(event)
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        etype = event.get("type") if isinstance(event.get("type"), str) else None
        problems = check_client_event(event)
        if not problems:
            problems = _semantic_problems(event)
        if not problems:
            problems = _library_problems(text)
        if problems:
            p = problems[0]
            self._client_error(_ApiError(p.message, code=p.code, param=p.param), event_id, etype)
            return
        if self._replay is not None:
            self._replay.on_client_event(event, self._now)
            return
        handler = getattr(self, "_on_" + str(etype).replace(".", "_"))
        try:
            handler(event)
        except _ApiError as err:
            self._client_error(err, event_id, etype)

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

    # session.update -------------------------------------------------------------------

    def _on_session_update(self, event: dict[str, Any]) -> None:
        upd: dict[str, Any] = event["session"]
        if upd.get("type") != self.session.get("type"):
            raise _ApiError(
                f"Cannot update session type from '{self.session.get('type')}' to "
                f"'{upd.get('type')}'.",
                code="invalid_value",
                param="session.type",
            )
        if "model" in upd and upd["model"] != self.session.get("model"):
            raise _ApiError(
                "Cannot update a session's model.", code="invalid_value", param="session.model"
            )
        new_voice = (
            upd.get("audio", {}).get("output", {}) if isinstance(upd.get("audio"), dict) else {}
        )
        if (
            isinstance(new_voice, dict)
            and "voice" in new_voice
            and self._audio_started
            and new_voice["voice"] != self.session["audio"]["output"].get("voice")
        ):
            raise _ApiError(
                "Cannot update a conversation's voice if assistant audio is present.",
                code="cannot_update_voice",
                param="session.audio.output.voice",
            )
        tracing = self.session.get("tracing")
        if "tracing" in upd and tracing is not None and upd["tracing"] != tracing:
            raise _ApiError(
                "Tracing cannot be modified once it is enabled.",
                code="invalid_value",
                param="session.tracing",
            )
        old_tools = {
            t.get("server_label") for t in self.session.get("tools") or [] if t.get("type") == "mcp"
        }
        _merge_session(self.session, upd)
        self._configure_vad()
        self._emit({"type": "session.updated", "session": copy.deepcopy(self.session)})
        for tool in self.session.get("tools") or []:
            if tool.get("type") == "mcp" and tool.get("server_label") not in old_tools:
                self._list_mcp_tools_for_session(tool)

    def _list_mcp_tools_for_session(self, tool: dict[str, Any]) -> None:
        """The real server lists an MCP server's tools when the session gains it."""
        label = str(tool.get("server_label"))
        script = self.service.script
        tools = script.mcp_servers.get(label, []) if isinstance(script, Script) else []
        item: dict[str, Any] = {
            "type": "mcp_list_tools",
            "id": self._new_id("mcpl"),
            "server_label": label,
            "tools": [],
        }
        prev = self._last_item_id()
        self.conversation.append(_Item(dict(item)))
        self._emit(
            {"type": "conversation.item.added", "previous_item_id": prev, "item": dict(item)}
        )
        self._emit({"type": "mcp_list_tools.in_progress", "item_id": item["id"]})
        self._emit({"type": "mcp_list_tools.completed", "item_id": item["id"]})
        item["tools"] = [dict(t) for t in tools]
        self.conversation[-1].data = dict(item)
        self._emit({"type": "conversation.item.done", "previous_item_id": prev, "item": dict(item)})

    def _configure_vad(self) -> None:
        td = self._turn_detection()
        fmt = self._input_format()
        self._vad.set_rate(_audio.input_rate(fmt))
        if td is None:
            return
        if td.get("type") == "semantic_vad":
            self._vad.configure(
                threshold=0.5,
                prefix_padding_ms=300,
                silence_duration_ms=semantic_silence_ms(str(td.get("eagerness") or "auto")),
            )
        else:
            self._vad.configure(
                threshold=float(
                    td.get("threshold", 0.5) if td.get("threshold") is not None else 0.5
                ),
                prefix_padding_ms=int(td.get("prefix_padding_ms") or 0),
                silence_duration_ms=int(td.get("silence_duration_ms") or 0),
            )

    def _turn_detection(self) -> dict[str, Any] | None:
        td = self.session.get("audio", {}).get("input", {}).get("turn_detection")
        return td if isinstance(td, dict) else None

    def _input_format(self) -> str:
        fmt = self.session.get("audio", {}).get("input", {}).get("format") or {}
        return str(fmt.get("type") or "audio/pcm")

    # input audio buffer --------------------------------------------------------------

    def _on_input_audio_buffer_append(self, event: dict[str, Any]) -> None:
        try:
            audio = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise _ApiError(
                "Invalid 'audio'. Expected base64-encoded audio data.",
                code="invalid_value",
                param="audio",
            ) from None
        if len(audio) > MAX_APPEND_BYTES:
            raise _ApiError(
                "Audio chunk too large: at most 15 MiB per input_audio_buffer.append.",
                code="invalid_value",
                param="audio",
            )
        fmt = self._input_format()
        self._buffer += audio
        self._timeline_ms += _audio.ms_of(len(audio), fmt)
        td = self._turn_detection()
        if td is None:
            return
        for ev in self._vad.feed(_audio.decode_input(audio, fmt)):
            if self.closed:
                return
            if isinstance(ev, SpeechStarted):
                self._idle_deadline = None
                self._vad_item = self._new_id("item")
                self._emit(
                    {
                        "type": "input_audio_buffer.speech_started",
                        "audio_start_ms": ev.audio_start_ms,
                        "item_id": self._vad_item,
                    }
                )
                if td.get("interrupt_response", True):
                    for r in list(self._responses):
                        if r.conversation != "none":
                            self._cancel(r, "turn_detected")
            else:
                item_id = self._vad_item or self._new_id("item")
                self._emit(
                    {
                        "type": "input_audio_buffer.speech_stopped",
                        "audio_end_ms": ev.audio_end_ms,
                        "item_id": item_id,
                    }
                )
                self._commit(item_id, upto_ms=ev.audio_end_ms)
                if (
                    td.get("create_response", True)
                    and self.session.get("type") == "realtime"
                    and not any(r.conversation != "none" for r in self._responses)
                ):
                    self._start_response({})

    def _on_input_audio_buffer_commit(self, event: dict[str, Any]) -> None:
        ms = _audio.ms_of(len(self._buffer), self._input_format())
        if ms < MIN_COMMIT_MS:
            raise _ApiError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"100ms of audio, but buffer only has {ms:.2f}ms of audio.",
                code="input_audio_buffer_commit_empty",
                param=None,
            )
        self._commit(
            self._vad_item if self._vad.in_speech and self._vad_item else self._new_id("item")
        )

    def _on_input_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        self._buffer.clear()
        self._buffer_start_ms = self._timeline_ms
        self._vad.reset(floor_ms=int(self._timeline_ms))
        self._vad_item = None
        self._emit({"type": "input_audio_buffer.cleared"})

    def _on_output_audio_buffer_clear(self, event: dict[str, Any]) -> None:
        if not self.sideband:
            raise _ApiError(
                "output_audio_buffer.clear is only supported for WebRTC and SIP sessions.",
                code="invalid_value",
                param="type",
            )
        rid = self._responses[-1].id if self._responses else (self._last_response_id or "")
        for r in list(self._responses):
            self._cancel(r, "client_cancelled")
        self._emit({"type": "output_audio_buffer.cleared", "response_id": rid})

    def _commit(self, item_id: str, *, upto_ms: float | None = None) -> None:
        """Commit the buffer (VAD: only the audio up to ``upto_ms``; the rest stays)."""
        fmt = self._input_format()
        cut = len(self._buffer)
        if upto_ms is not None:
            bpm = _audio.bytes_per_ms(fmt)
            cut = int(round((upto_ms - self._buffer_start_ms) * bpm))
            cut = min(len(self._buffer), max(0, cut - cut % (2 if fmt == "audio/pcm" else 1)))
        audio = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        self._buffer_start_ms = (
            self._timeline_ms if upto_ms is None else self._buffer_start_ms + _audio.ms_of(cut, fmt)
        )
        self._vad.reset(floor_ms=int(self._buffer_start_ms))
        self._vad_item = None
        prev = self._last_item_id()
        item: dict[str, Any] = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        self.conversation.append(_Item(item, {0: audio}, fmt))
        self._emit(
            {"type": "input_audio_buffer.committed", "previous_item_id": prev, "item_id": item_id}
        )
        self._emit(
            {
                "type": "conversation.item.added",
                "previous_item_id": prev,
                "item": copy.deepcopy(item),
            }
        )
        self._emit(
            {
                "type": "conversation.item.done",
                "previous_item_id": prev,
                "item": copy.deepcopy(item),
            }
        )
        self._transcribe(item_id, _audio.ms_of(len(audio), fmt))

    def _transcribe(self, item_id: str, ms: float) -> None:
        script = self.service.script
        tr: Transcription | None = (
            script.next_transcription() if isinstance(script, Script) else None
        )
        text = tr.text if tr is not None and tr.text is not None else None
        if text is None and (tr is None or tr.error is None):
            text = script.default_transcript if isinstance(script, Script) else "hello"
        self._last_user_text = text or ""
        cfg = self.session.get("audio", {}).get("input", {}).get("transcription")
        if not cfg:
            return
        if tr is not None and tr.error is not None:
            err = {
                "type": "transcription_error",
                "code": "audio_unintelligible",
                "message": "Audio could not be transcribed.",
                "param": None,
            }
            err.update(dict(tr.error))
            self._emit(
                {
                    "type": "conversation.item.input_audio_transcription.failed",
                    "item_id": item_id,
                    "content_index": 0,
                    "error": err,
                }
            )
            return
        assert text is not None
        model = str(cfg.get("model") or "") if isinstance(cfg, dict) else ""
        logprobs = "item.input_audio_transcription.logprobs" in (self.session.get("include") or [])
        step = tr.chunk_chars if tr is not None else 12
        for i in range(0, len(text), step):
            delta: dict[str, Any] = {
                "type": "conversation.item.input_audio_transcription.delta",
                "item_id": item_id,
                "content_index": 0,
                "delta": text[i : i + step],
            }
            if logprobs:
                delta["logprobs"] = _logprobs(text[i : i + step])
            self._emit(delta)
        if str(cfg.get("model", "")).endswith("diarize") if isinstance(cfg, dict) else False:
            # Diarization models also report who spoke when (one speaker here).
            self._emit(
                {
                    "type": "conversation.item.input_audio_transcription.segment",
                    "id": self._new_id("seg"),
                    "item_id": item_id,
                    "content_index": 0,
                    "text": text,
                    "speaker": "A",
                    "start": 0.0,
                    "end": round(ms / 1000.0, 3),
                }
            )
        for it in self.conversation:
            if it.id == item_id:
                it.data["content"][0]["transcript"] = text
        if model.startswith("whisper"):
            usage: dict[str, Any] = {"type": "duration", "seconds": round(ms / 1000.0, 3)}
        else:
            audio_tokens, text_tokens = int(ms / 100), len(text) // 4 + 1
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "output_tokens": text_tokens,
                "total_tokens": audio_tokens + text_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            }
        completed: dict[str, Any] = {
            "type": "conversation.item.input_audio_transcription.completed",
            "item_id": item_id,
            "content_index": 0,
            "transcript": text,
            "usage": usage,
        }
        if logprobs:
            completed["logprobs"] = _logprobs(text)
        self._emit(completed)

    # conversation items ---------------------------------------------------------------

    def _last_item_id(self) -> str | None:
        return self.conversation[-1].id if self.conversation else None

    def _find(self, item_id: str) -> _Item:
        for it in self.conversation:
            if it.id == item_id:
                return it
        raise _ApiError(
            f"Item with item_id not found: {item_id}", code="item_not_found", param="item_id"
        )

    def _on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = copy.deepcopy(event["item"])
        prev_req = event.get("previous_item_id")
        if prev_req is None:
            pos = len(self.conversation)
        elif prev_req == "root":
            pos = 0
        else:
            ids = [it.id for it in self.conversation]
            if prev_req not in ids:
                raise _ApiError(
                    f"Previous item with item_id not found: {prev_req}",
                    code="item_not_found",
                    param="previous_item_id",
                )
            pos = ids.index(prev_req) + 1
        if item.get("id") is not None and any(it.id == item["id"] for it in self.conversation):
            raise _ApiError(
                f"Item with item_id already exists: {item['id']}",
                code="item_already_exists",
                param="item.id",
            )
        audio: dict[int, bytes] = {}
        if item.get("type") == "message":
            for i, part in enumerate(item.get("content") or []):
                if part.get("type") == "output_audio" or (
                    item.get("role") == "assistant" and part.get("type") == "input_audio"
                ):
                    raise _ApiError(
                        "Assistant messages cannot contain audio content; use output_text.",
                        code="invalid_value",
                        param=f"item.content[{i}].type",
                    )
                if part.get("type") == "input_audio" and part.get("audio"):
                    try:
                        audio[i] = base64.b64decode(part.pop("audio"), validate=True)
                    except (binascii.Error, ValueError):
                        raise _ApiError(
                            "Invalid 'audio'. Expected base64-encoded audio data.",
                            code="invalid_value",
                            param=f"item.content[{i}].audio",
                        ) from None
                    part.setdefault("transcript", None)
            texts = [
                p.get("text", "")
                for p in item.get("content") or []
                if p.get("type") == "input_text"
            ]
            if item.get("role") == "user" and texts:
                self._last_user_text = " ".join(t for t in texts if t)
        if item.get("type") == "mcp_approval_response":
            req = self._approvals.pop(str(item.get("approval_request_id")), None)
            if req is None:
                raise _ApiError(
                    f"No pending MCP approval request: {item.get('approval_request_id')}",
                    code="item_not_found",
                    param="item.approval_request_id",
                )
            if item.get("approve"):
                self._approved.append((str(item["approval_request_id"]), req))
        item.setdefault("id", None)
        if item["id"] is None:
            item["id"] = self._new_id("item")
        if item.get("type") in ("message", "function_call", "function_call_output"):
            item.setdefault("object", "realtime.item")
            item["status"] = "completed"
        prev = self.conversation[pos - 1].id if pos > 0 else None
        self.conversation.insert(pos, _Item(item, audio, self._input_format()))
        self._emit(
            {
                "type": "conversation.item.added",
                "previous_item_id": prev,
                "item": copy.deepcopy(item),
            }
        )
        self._emit(
            {
                "type": "conversation.item.done",
                "previous_item_id": prev,
                "item": copy.deepcopy(item),
            }
        )

    def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        it = self._find(event["item_id"])
        self._emit({"type": "conversation.item.retrieved", "item": it.public(with_audio=True)})

    def _on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        it = self._find(event["item_id"])
        self.conversation.remove(it)
        self._emit({"type": "conversation.item.deleted", "item_id": it.id})

    def _on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        it = self._find(event["item_id"])
        idx = event["content_index"]
        end = event["audio_end_ms"]
        if it.data.get("role") != "assistant":
            raise _ApiError(
                "Only assistant messages can be truncated.", code="invalid_value", param="item_id"
            )
        content = it.data.get("content") or []
        if not (0 <= idx < len(content)) or content[idx].get("type") != "output_audio":
            raise _ApiError(
                f"Content index {idx} is not an audio part of item {it.id}.",
                code="invalid_value",
                param="content_index",
            )
        pcm = it.audio.get(idx, b"")
        dur = _audio.ms_of(len(pcm), it.audio_format)
        if end < 0 or end > dur:
            raise _ApiError(
                f"Audio content of {int(dur)}ms is already shorter than {end}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
        keep = int(end * _audio.bytes_per_ms(it.audio_format))
        it.audio[idx] = pcm[:keep]
        content[idx]["transcript"] = ""
        self._emit(
            {
                "type": "conversation.item.truncated",
                "item_id": it.id,
                "content_index": idx,
                "audio_end_ms": end,
            }
        )

    # responses ----------------------------------------------------------------------

    def _on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response") or {}
        if self.session.get("type") != "realtime":
            raise _ApiError(
                "Responses cannot be created in a transcription session.",
                code="invalid_value",
                param="type",
            )
        conv = params.get("conversation") or "auto"
        if conv != "none":
            active = [r for r in self._responses if r.conversation != "none"]
            if active:
                raise _ApiError(
                    f"Conversation already has an active response in progress: {active[0].id}. "
                    "Wait until the response is finished before creating a new one.",
                    code="conversation_already_has_active_response",
                    param=None,
                )
        self._start_response(params)

    def _on_response_cancel(self, event: dict[str, Any]) -> None:
        rid = event.get("response_id")
        targets = [r for r in self._responses if rid is None or r.id == rid]
        if rid is None:
            targets = [r for r in targets if r.conversation != "none"] or targets
        if not targets:
            # Harmless race (the response just finished); not recorded as a violation.
            raise _ApiError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                violation=False,
            )
        self._cancel(targets[0], "client_cancelled")

    def _start_response(self, params: dict[str, Any]) -> None:
        s = self.session
        out = s.get("audio", {}).get("output", {})
        p_out = (params.get("audio") or {}).get("output") or {}
        mt = params.get("max_output_tokens", s.get("max_output_tokens", "inf"))
        resp = _Response(
            id=self._new_id("resp"),
            conversation=params.get("conversation") or "auto",
            params=params,
            modalities=list(
                params.get("output_modalities") or s.get("output_modalities") or ["audio"]
            ),
            voice=p_out.get("voice", out.get("voice", "alloy")),
            out_format=dict(
                p_out.get("format") or out.get("format") or {"type": "audio/pcm", "rate": 24000}
            ),
            max_tokens=None if mt in (None, "inf") else int(mt),
            metadata=params.get("metadata"),
        )
        resp.input_text_tokens, resp.input_audio_tokens = self._input_token_estimate(params)
        script = self.service.script
        reply = script.next_reply(self._last_user_text) if isinstance(script, Script) else None
        if reply is None:
            if isinstance(script, Script) and not script.echo:
                reply = Reply(Say(""))
            else:
                reply = Reply(
                    Say(
                        f"You said: {self._last_user_text}"
                        if self._last_user_text
                        else "Hello! How can I help you today?"
                    )
                )
        steps: list[Step] = []
        approvals: dict[int, str] = {}
        for approval_id, req in self._approved:
            # An approved MCP request runs first in the next response.
            approvals[len(steps)] = approval_id
            steps.append(
                McpCall(req.server_label, req.name, req.arguments, output=req.output or "")
            )
        self._approved.clear()
        steps.extend(reply.steps)
        resp.gen = self._run_response(resp, steps, reply.delay_ms, approvals)
        resp.next_due = self._now
        self._responses.append(resp)
        self._last_response_id = resp.id
        self._step(resp, self._now)

    def _input_token_estimate(self, params: dict[str, Any]) -> tuple[int, int]:
        chars = len(str(self.session.get("instructions") or ""))
        audio_ms = 0.0
        for it in self.conversation:
            for part in it.data.get("content") or []:
                chars += len(str(part.get("text") or part.get("transcript") or ""))
            audio_ms += sum(_audio.ms_of(len(a), it.audio_format) for a in it.audio.values())
        # Rough but stable: 4 characters per text token, 10 audio tokens per second.
        return chars // 4, int(audio_ms / 100)

    def _run_response(
        self,
        resp: _Response,
        steps: list[Step],
        delay_ms: int,
        approvals: Mapping[int, str],
    ) -> Generator[float, None, None]:
        """The response as a generator: it emits events and yields seconds to wait."""
        self._emit({"type": "response.created", "response": resp.header("in_progress")})
        self._emit(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                    {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5},
                ],
            }
        )
        if delay_ms:
            yield delay_ms / 1000.0
        budget = None if resp.max_tokens is None else resp.max_tokens * 4
        for i, step in enumerate(steps):
            if isinstance(step, Fail):
                resp.status = "failed"
                resp.status_details = {
                    "type": "failed",
                    "error": {"type": step.type, "code": step.code, "message": step.message},
                }
                break
            if isinstance(step, Say):
                text = step.text
                if budget is not None and len(text) > budget:
                    text = text[:budget]
                    resp.status = "incomplete"
                    resp.status_details = {"type": "incomplete", "reason": "max_output_tokens"}
                yield from self._say(resp, step, text)
                if budget is not None:
                    budget -= len(text)
                if resp.status == "incomplete":
                    break
            elif isinstance(step, FunctionCall):
                self._function_call(resp, step)
            elif isinstance(step, McpListTools):
                self._mcp_list_tools(resp, step)
            elif isinstance(step, McpCall):
                self._mcp_call(resp, step, approvals.get(i))
            elif isinstance(step, McpApprovalRequest):
                self._mcp_approval(resp, step)
        self._finish(resp, resp.status if resp.status != "in_progress" else "completed")

    # --- output items

    def _open(self, resp: _Response, item: dict[str, Any], kind: str) -> None:
        resp.open_item = item
        resp.open_kind = kind
        resp.partial = ""
        resp.audio_ms = 0.0
        resp.output.append(item)
        idx = len(resp.output) - 1
        self._emit(
            {
                "type": "response.output_item.added",
                "response_id": resp.id,
                "output_index": idx,
                "item": copy.deepcopy(item),
            }
        )
        if resp.conversation != "none":
            resp.prev_item = self._last_item_id()
            self.conversation.append(_Item(item, {}, str(resp.out_format.get("type", "audio/pcm"))))
            self._emit(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": resp.prev_item,
                    "item": copy.deepcopy(item),
                }
            )

    def _close_item(self, resp: _Response, status: str) -> None:
        item = resp.open_item
        if item is None:
            return
        idx = len(resp.output) - 1
        rid = resp.id
        kind = resp.open_kind
        if kind in ("audio", "text"):
            text = resp.partial
            if kind == "audio":
                base = {
                    "response_id": rid,
                    "item_id": item["id"],
                    "output_index": idx,
                    "content_index": 0,
                }
                self._emit({"type": "response.output_audio.done", **base})
                self._emit(
                    {"type": "response.output_audio_transcript.done", **base, "transcript": text}
                )
                self._emit(
                    {
                        "type": "response.content_part.done",
                        **base,
                        "part": {"type": "audio", "transcript": text},
                    }
                )
                item["content"] = [{"type": "output_audio", "transcript": text}]
                resp.text_tokens += len(text) // 4 + 1
                resp.audio_tokens += int(resp.audio_ms / 50)
            else:
                base = {
                    "response_id": rid,
                    "item_id": item["id"],
                    "output_index": idx,
                    "content_index": 0,
                }
                self._emit({"type": "response.output_text.done", **base, "text": text})
                self._emit(
                    {
                        "type": "response.content_part.done",
                        **base,
                        "part": {"type": "text", "text": text},
                    }
                )
                item["content"] = [{"type": "output_text", "text": text}]
                resp.text_tokens += len(text) // 4 + 1
        if "status" in item:
            item["status"] = status
        self._emit(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": idx,
                "item": copy.deepcopy(item),
            }
        )
        if resp.conversation != "none":
            self._emit(
                {
                    "type": "conversation.item.done",
                    "previous_item_id": resp.prev_item,
                    "item": copy.deepcopy(item),
                }
            )
        resp.open_item = None
        resp.open_kind = ""

    def _say(self, resp: _Response, step: Say, text: str) -> Generator[float, None, None]:
        item: dict[str, Any] = {
            "id": self._new_id("item"),
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        audio_mode = "audio" in resp.modalities
        self._open(resp, item, "audio" if audio_mode else "text")
        idx = len(resp.output) - 1
        base = {
            "response_id": resp.id,
            "item_id": item["id"],
            "output_index": idx,
            "content_index": 0,
        }
        if not audio_mode:
            self._emit(
                {
                    "type": "response.content_part.added",
                    **base,
                    "part": {"type": "text", "text": ""},
                }
            )
            words = _split_words(text, 3)
            for w in words:
                resp.partial += w
                self._emit({"type": "response.output_text.delta", **base, "delta": w})
                yield 0.05
            self._close_item(resp, "completed")
            return
        self._emit(
            {
                "type": "response.content_part.added",
                **base,
                "part": {"type": "audio", "transcript": ""},
            }
        )
        fmt = str(resp.out_format.get("type", "audio/pcm"))
        total_ms = step.audio_ms() if text == step.text else max(200, len(text) * 55)
        chunk_ms = max(10, step.chunk_ms or DEFAULT_CHUNK_MS)
        pcm = _audio.synth(total_ms, seed=_audio.text_seed(text))
        wire = _audio.pcm16_to_wire(pcm, fmt)
        conv_item = self.conversation[-1] if resp.conversation != "none" else None
        bpm = _audio.bytes_per_ms(fmt)
        n_chunks = max(1, math.ceil(total_ms / chunk_ms))
        words = _split_words(text, max(1, math.ceil(len(text.split()) / n_chunks)) if text else 1)
        per_chunk = [""] * n_chunks
        for i, w in enumerate(words):
            per_chunk[min(n_chunks - 1, i * n_chunks // max(1, len(words)))] += w
        for i in range(n_chunks):
            chunk = wire[i * chunk_ms * bpm : (i + 1) * chunk_ms * bpm]
            if per_chunk[i]:
                resp.partial += per_chunk[i]
                self._emit(
                    {
                        "type": "response.output_audio_transcript.delta",
                        **base,
                        "delta": per_chunk[i],
                    }
                )
            if chunk:
                if self.sideband:
                    if not resp.sent_audio:
                        self._emit({"type": "output_audio_buffer.started", "response_id": resp.id})
                else:
                    self._emit(
                        {
                            "type": "response.output_audio.delta",
                            **base,
                            "delta": base64.b64encode(chunk).decode("ascii"),
                        }
                    )
                resp.sent_audio = True
                self._audio_started = True
                resp.audio_ms += _audio.ms_of(len(chunk), fmt)
                if conv_item is not None:
                    conv_item.audio[0] = conv_item.audio.get(0, b"") + chunk
            yield len(chunk) / bpm / 1000.0
        self._close_item(resp, "completed")

    def _function_call(self, resp: _Response, step: FunctionCall) -> None:
        call_id = step.call_id or self._new_id("call")
        item: dict[str, Any] = {
            "id": self._new_id("item"),
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "name": step.name,
            "call_id": call_id,
            "arguments": "",
        }
        self._open(resp, item, "function_call")
        idx = len(resp.output) - 1
        base = {
            "response_id": resp.id,
            "item_id": item["id"],
            "output_index": idx,
            "call_id": call_id,
        }
        args = step.arguments
        for i in range(0, len(args), max(1, step.chunk_chars)):
            self._emit(
                {
                    "type": "response.function_call_arguments.delta",
                    **base,
                    "delta": args[i : i + step.chunk_chars],
                }
            )
        self._emit(
            {
                "type": "response.function_call_arguments.done",
                **base,
                "name": step.name,
                "arguments": args,
            }
        )
        item["arguments"] = args
        resp.text_tokens += len(args) // 4 + 1
        self._close_item(resp, "completed")

    def _mcp_list_tools(self, resp: _Response, step: McpListTools) -> None:
        item: dict[str, Any] = {
            "id": self._new_id("mcpl"),
            "type": "mcp_list_tools",
            "server_label": step.server_label,
            "tools": [],
        }
        self._open(resp, item, "mcp_list_tools")
        self._emit({"type": "mcp_list_tools.in_progress", "item_id": item["id"]})
        if step.failed:
            self._emit({"type": "mcp_list_tools.failed", "item_id": item["id"]})
        else:
            self._emit({"type": "mcp_list_tools.completed", "item_id": item["id"]})
            item["tools"] = [dict(t) for t in step.tools]
        self._close_item(resp, "completed")

    def _mcp_call(self, resp: _Response, step: McpCall, approval_id: str | None) -> None:
        item: dict[str, Any] = {
            "id": self._new_id("mcp"),
            "type": "mcp_call",
            "server_label": step.server_label,
            "name": step.name,
            "arguments": "",
            "approval_request_id": approval_id,
            "output": None,
            "error": None,
        }
        self._open(resp, item, "mcp_call")
        idx = len(resp.output) - 1
        base = {"response_id": resp.id, "item_id": item["id"], "output_index": idx}
        self._emit({"type": "response.mcp_call_arguments.delta", **base, "delta": step.arguments})
        self._emit(
            {"type": "response.mcp_call_arguments.done", **base, "arguments": step.arguments}
        )
        item["arguments"] = step.arguments
        self._emit(
            {"type": "response.mcp_call.in_progress", "item_id": item["id"], "output_index": idx}
        )
        if step.error is not None:
            item["error"] = dict(step.error)
            self._emit(
                {"type": "response.mcp_call.failed", "item_id": item["id"], "output_index": idx}
            )
        else:
            item["output"] = step.output if step.output is not None else ""
            self._emit(
                {"type": "response.mcp_call.completed", "item_id": item["id"], "output_index": idx}
            )
        self._close_item(resp, "completed")

    def _mcp_approval(self, resp: _Response, step: McpApprovalRequest) -> None:
        item: dict[str, Any] = {
            "id": self._new_id("mcpr"),
            "type": "mcp_approval_request",
            "server_label": step.server_label,
            "name": step.name,
            "arguments": step.arguments,
        }
        self._approvals[item["id"]] = step
        self._open(resp, item, "mcp_approval_request")
        self._close_item(resp, "completed")

    def _finish(self, resp: _Response, status: str) -> None:
        if resp not in self._responses:
            return
        self._responses.remove(resp)
        resp.gen = None
        header = resp.header(status)
        header["status_details"] = resp.status_details if status != "completed" else None
        if status == "cancelled" and resp.status_details is None:
            header["status_details"] = {"type": "cancelled", "reason": "client_cancelled"}
        header["output"] = copy.deepcopy(resp.output)
        header["conversation_id"] = self._conversation_id() if resp.conversation != "none" else None
        out_tokens = resp.text_tokens + resp.audio_tokens
        in_tokens = resp.input_text_tokens + resp.input_audio_tokens
        header["usage"] = {
            "total_tokens": in_tokens + out_tokens,
            "input_tokens": in_tokens,
            "output_tokens": out_tokens,
            "input_token_details": {
                "text_tokens": resp.input_text_tokens,
                "audio_tokens": resp.input_audio_tokens,
                "image_tokens": 0,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {
                "text_tokens": resp.text_tokens,
                "audio_tokens": resp.audio_tokens,
            },
        }
        self._emit({"type": "response.done", "response": header})
        if self.sideband and resp.sent_audio:
            self._emit({"type": "output_audio_buffer.stopped", "response_id": resp.id})
        td = self._turn_detection()
        if td is not None and td.get("type") == "server_vad" and td.get("idle_timeout_ms"):
            # Armed from the end of the reply's playback (response.done + audio duration).
            self._idle_deadline = self._now + (resp.audio_ms + int(td["idle_timeout_ms"])) / 1000.0
            self._idle_from_ms = self._timeline_ms

    def _conversation_id(self) -> str:
        return f"conv_{self.index:04d}{0:012d}"

    def _cancel(self, resp: _Response, reason: str) -> None:
        if resp.gen is not None:
            gen = resp.gen
            resp.gen = None
            gen.close()
        resp.status_details = {"type": "cancelled", "reason": reason}
        self._close_item(resp, "incomplete")
        self._finish(resp, "cancelled")
        if reason == "turn_detected" and self.sideband and resp.sent_audio:
            # On WebRTC/SIP the server also drops the audio not yet played.
            self._emit({"type": "output_audio_buffer.cleared", "response_id": resp.id})

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

    def _step(self, resp: _Response, now: float) -> None:
        """Run a response generator until it must wait past ``now``."""
        fast = self.service.pacing == "fast"
        while resp.gen is not None and resp.next_due <= now and not self.closed:
            try:
                wait = next(resp.gen)
            except StopIteration:
                resp.gen = None
                return
            if not fast:
                resp.next_due += wait

    def _pump(self, now: float) -> None:
        if self.phase is not Phase.WEBSOCKET or self.closed or self._closing_deadline is not None:
            return
        for r in list(self._responses):
            self._step(r, now)
        if self._replay is not None:
            self._replay.advance(now)
        if self._idle_deadline is not None and now >= self._idle_deadline and not self._responses:
            self._idle_deadline = None
            self._idle_timeout()

    def _idle_timeout(self) -> None:
        item_id = self._new_id("item")
        self._emit(
            {
                "type": "input_audio_buffer.timeout_triggered",
                "audio_start_ms": int(self._idle_from_ms),
                "audio_end_ms": int(self._timeline_ms),
                "item_id": item_id,
            }
        )
        self._commit(item_id)
        self._start_response({})


# --------------------------------------------------------------------------- helpers


def _is_upgrade(req: h11.Request) -> bool:
    return any(k == b"upgrade" and v.lower() == b"websocket" for k, v in req.headers)


def _error_body(
    message: str, type: str | None, code: str | None, param: str | None = None
) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type, "param": param, "code": code}}
    ).encode()


def _logprobs(text: str) -> list[dict[str, Any]]:
    """Confident per-word log probabilities (the fake is always sure)."""
    return [
        {"token": w, "bytes": list(w.encode("utf-8")), "logprob": -0.01}
        for w in _split_words(text, 1)
    ]


def _split_words(text: str, per: int) -> list[str]:
    """Split into groups of ``per`` words, keeping the spaces, so ``"".join`` is ``text``."""
    if not text:
        return []
    tokens: list[str] = []
    cur = ""
    for ch in text:
        cur += ch
        if ch == " ":
            tokens.append(cur)
            cur = ""
    if cur:
        tokens.append(cur)
    return ["".join(tokens[i : i + per]) for i in range(0, len(tokens), per)]


_REPLACE_WHOLE = {
    "turn_detection",
    "format",
    "transcription",
    "noise_reduction",
    "tracing",
    "prompt",
    "truncation",
    "voice",
}


def _merge_session(session: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Apply a ``session.update``: only the fields sent change; ``null`` clears an object."""
    for key, value in update.items():
        if key == "turn_detection" and isinstance(value, dict):
            base = _semantic_vad() if value.get("type") == "semantic_vad" else _server_vad()
            base.update(value)
            session[key] = base
        elif key == "noise_reduction" and isinstance(value, dict):
            session[key] = {"type": value.get("type", "near_field"), **value}
        elif (
            isinstance(value, dict)
            and isinstance(session.get(key), dict)
            and key not in _REPLACE_WHOLE
        ):
            _merge_session(session[key], value)
        else:
            session[key] = copy.deepcopy(value)


def _library_problems(text: str) -> list[Problem]:
    """The GA rules as oairt's own codec and validator state them.

    The strict schema check above has passed, so a decode failure here means oairt's codec
    disagrees with the official SDK models; it is reported like any invalid event so the
    disagreement cannot go unnoticed.
    """
    try:
        validate_client_event(decode_client_event(text))
    except InvalidClientEvent as exc:
        return [Problem("invalid_value", f"Invalid '{exc.field}': {exc.rule}.", exc.field)]
    except RemoteProtocolError as exc:
        return [Problem("invalid_event", str(exc), None)]
    return []


def _semantic_problems(event: dict[str, Any]) -> list[Problem]:
    """Value rules the schema cannot express (ranges, exclusive choices)."""
    out: list[Problem] = []

    def bad(param: str, msg: str) -> None:
        out.append(Problem("invalid_value", msg, param))

    def check_session_like(obj: Mapping[str, Any], prefix: str) -> None:
        mods = obj.get("output_modalities")
        if isinstance(mods, list) and len(mods) > 1:
            bad(
                f"{prefix}.output_modalities",
                "Invalid 'output_modalities': only one of 'audio' or 'text' may be requested.",
            )
        mot = obj.get("max_output_tokens")
        if isinstance(mot, int) and not isinstance(mot, bool) and not 1 <= mot <= 4096:
            bad(
                f"{prefix}.max_output_tokens",
                f"Invalid 'max_output_tokens': integer must be between 1 and 4096, got {mot}.",
            )
        audio = obj.get("audio")
        if isinstance(audio, dict):
            o = audio.get("output")
            if isinstance(o, dict):
                sp = o.get("speed")
                if isinstance(sp, (int, float)) and not 0.25 <= sp <= 1.5:
                    bad(
                        f"{prefix}.audio.output.speed",
                        f"Invalid 'speed': {sp} is not between 0.25 and 1.5.",
                    )
            i = audio.get("input")
            if isinstance(i, dict):
                td = i.get("turn_detection")
                if isinstance(td, dict):
                    th = td.get("threshold")
                    if isinstance(th, (int, float)) and not 0.0 <= th <= 1.0:
                        bad(
                            f"{prefix}.audio.input.turn_detection.threshold",
                            f"Invalid 'threshold': {th} is not between 0 and 1.",
                        )
                    for k in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
                        v = td.get(k)
                        if isinstance(v, int) and v < 0:
                            bad(
                                f"{prefix}.audio.input.turn_detection.{k}",
                                f"Invalid '{k}': must be non-negative.",
                            )
        md = obj.get("metadata")
        if isinstance(md, dict):
            if len(md) > 16:
                bad(f"{prefix}.metadata", "Invalid 'metadata': at most 16 key-value pairs.")
            for k, v in md.items():
                if len(str(k)) > 64 or (isinstance(v, str) and len(v) > 512):
                    bad(
                        f"{prefix}.metadata",
                        "Invalid 'metadata': keys up to 64 and values up to 512 characters.",
                    )
                    break

    t = event.get("type")
    if t == "input_audio_buffer.append":
        try:
            base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            bad("audio", "Invalid 'audio'. Expected base64-encoded audio data.")
    elif t == "session.update":
        check_session_like(event["session"], "session")
    elif t == "response.create" and isinstance(event.get("response"), dict):
        check_session_like(event["response"], "response")
    elif t == "conversation.item.truncate" and event["audio_end_ms"] < 0:
        bad("audio_end_ms", "Invalid 'audio_end_ms': must be non-negative.")
    return out
