"""A sans-IO fake of the Realtime REST endpoints (client secrets, calls, call control).

The fake WebSocket server's HTTP layer parses a request and hands it to
:meth:`FakeRestApi.handle`; what comes back is the status, headers and body to
send. The fake keeps every call it knows in :attr:`FakeRestApi.calls` so the
WebSocket side can admit ``?call_id=`` sideband connections only for live calls.

>>> api = FakeRestApi({"sk-test-1234567890"})
>>> status, headers, body = api.handle(
...     "POST", "/v1/realtime/calls",
...     [(b"authorization", b"Bearer sk-test-1234567890"), (b"content-type", b"application/sdp")],
...     b"v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\na=rtpmap:111 opus/48000/2\\r\\n")
>>> status, dict(headers)[b"location"].startswith(b"/v1/realtime/calls/rtc_")
(201, True)
"""

from __future__ import annotations

import base64
import enum
import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ..webhooks import sign_webhook
from ._keys import accepts_api_key

__all__ = [
    "DEFAULT_FAKE_WEBHOOK_SECRET",
    "FakeCall",
    "FakeCallState",
    "FakeRestApi",
]

DEFAULT_FAKE_WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"oairt-fake-webhook-secret").decode()

Headers = list[tuple[bytes, bytes]]
Reply = tuple[int, Headers, bytes]


class FakeCallState(enum.Enum):
    """incoming (SIP, waiting) -> accepted (media flowing) -> ended (hangup/refer/reject)."""

    INCOMING = "incoming"
    ACCEPTED = "accepted"
    ENDED = "ended"


@dataclass
class FakeCall:
    """One call the fake knows about."""

    call_id: str
    kind: str  # "webrtc" or "sip"
    state: FakeCallState
    session: dict[str, Any] | None = None
    sip_headers: list[dict[str, str]] = field(default_factory=list)
    reject_status: int | None = None
    refer_target: str | None = None
    end_reason: str | None = None


class _HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.param = param


def _json_reply(status: int, payload: Any) -> Reply:
    body = msgspec.json.encode(payload)
    return status, [(b"content-type", b"application/json")], body


def _error_reply(err: _HttpError) -> Reply:
    return _json_reply(
        err.status,
        {
            "error": {
                "message": err.message,
                "type": err.error_type,
                "param": err.param,
                "code": err.code,
            }
        },
    )


def _fixed_clock() -> float:
    return 1_750_000_000.0


class FakeRestApi:
    """The Realtime REST endpoints, realistically enough for client tests.

    ``api_keys`` are the accepted keys (:func:`~oairt_core.testing.accepts_api_key`; ``None``:
    any key); client
    secrets it issues are accepted too until they expire. ``clock`` gives the time in seconds (the
    default is a fixed instant, so the fake reads no clock unless asked to).
    ``seed`` makes generated ids reproducible.
    """

    def __init__(
        self,
        api_keys: Iterable[str] | None,
        *,
        webhook_secret: str = DEFAULT_FAKE_WEBHOOK_SECRET,
        base_path: str = "/v1",
        clock: Callable[[], float] = _fixed_clock,
        seed: int | None = 0,
        default_model: str = "gpt-realtime",
    ) -> None:
        self.api_keys: set[str] | None = None if api_keys is None else set(api_keys)
        self.webhook_secret = webhook_secret
        self.base_path = base_path.rstrip("/")
        self.clock = clock
        self.default_model = default_model
        self.calls: dict[str, FakeCall] = {}
        self.client_secrets: dict[str, tuple[int, dict[str, Any]]] = {}
        # (method, path, status) of every request handled, for test assertions.
        self.log: list[tuple[str, str, int]] = []
        self._rng = random.Random(seed)

    # ------------------------------------------------------------------ public helpers

    def is_active_call(self, call_id: str) -> bool:
        """True if ``call_id`` is a known, accepted, not yet ended call."""
        call = self.calls.get(call_id)
        return call is not None and call.state is FakeCallState.ACCEPTED

    def is_valid_token(self, token: str) -> bool:
        """True for a configured API key or an unexpired client secret."""
        issued = self.client_secrets.get(token)
        if issued is not None:
            return issued[0] > self.clock()
        return accepts_api_key(token, self.api_keys)

    def client_secret_session(self, token: str) -> dict[str, Any] | None:
        """The session config bound to an issued client secret (``None`` if unknown)."""
        issued = self.client_secrets.get(token)
        return None if issued is None else issued[1]

    def simulate_incoming_sip_call(
        self,
        *,
        from_uri: str = "sip:+15550001111@example.com",
        to_uri: str = "sip:+15559998888@sip.api.openai.com",
        sip_headers: list[tuple[str, str]] | None = None,
        sip_media_security: str | None = "srtp",
        timestamp: int | None = None,
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """Register an incoming SIP call; return its id and a signed webhook (headers, body)."""
        call_id = self._new_id("rtc_")
        headers = sip_headers or [
            ("From", f"<{from_uri}>;tag=fake"),
            ("To", f"<{to_uri}>"),
            ("Call-ID", self._new_id("")),
        ]
        call = FakeCall(
            call_id,
            "sip",
            FakeCallState.INCOMING,
            sip_headers=[{"name": n, "value": v} for n, v in headers],
        )
        self.calls[call_id] = call
        now = int(self.clock()) if timestamp is None else timestamp
        data: dict[str, Any] = {"call_id": call_id, "sip_headers": call.sip_headers}
        if sip_media_security is not None:
            data["sip_media_security"] = sip_media_security
        event = {
            "object": "event",
            "id": self._new_id("evt_"),
            "type": "realtime.call.incoming",
            "created_at": now,
            "data": data,
        }
        body = msgspec.json.encode(event)
        webhook_headers = sign_webhook(self.webhook_secret, self._new_id("wh_"), now, body)
        return call_id, webhook_headers, body

    # ------------------------------------------------------------------ dispatch

    def handle(self, method: str, target: str, headers: Headers, body: bytes) -> Reply:
        """Answer one HTTP request: ``(status, headers, body)``."""
        path = urlsplit(target).path
        try:
            status, out_headers, out_body = self._dispatch(method.upper(), path, headers, body)
        except _HttpError as err:
            status, out_headers, out_body = _error_reply(err)
        self.log.append((method.upper(), path, status))
        return status, out_headers, out_body

    def _dispatch(self, method: str, path: str, headers: Headers, body: bytes) -> Reply:
        prefix = self.base_path + "/realtime/"
        if not path.startswith(prefix):
            raise _HttpError(404, f"Invalid URL ({method} {path})", code="not_found")
        rest = path[len(prefix) :].split("/")
        if rest == ["client_secrets"]:
            route = "client_secrets"
        elif rest == ["calls"]:
            route = "calls"
        elif len(rest) == 3 and rest[0] == "calls" and rest[2] in _CONTROL:
            route = rest[2]
        else:
            raise _HttpError(404, f"Invalid URL ({method} {path})", code="not_found")
        if method != "POST":
            raise _HttpError(405, f"Method {method} not allowed for {path}", code="not_allowed")
        token = self._authenticate(headers)
        if route == "client_secrets":
            if token in self.client_secrets:
                raise _HttpError(
                    401, "Client secrets cannot create client secrets.", code="invalid_api_key"
                )
            return self._client_secrets(body)
        if route == "calls":
            return self._create_call(token, headers, body)
        call = self.calls.get(rest[1])
        if call is None or not rest[1]:
            raise _HttpError(404, f"Call '{rest[1]}' not found.", code="call_not_found")
        return _CONTROL[route](self, call, body)

    def _authenticate(self, headers: Headers) -> str:
        auth = _header(headers, b"authorization")
        if auth is None:
            raise _HttpError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="missing_api_key",
            )
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not self.is_valid_token(token):
            # Like the real API, the key itself is never echoed in full.
            raise _HttpError(401, "Incorrect API key provided.", code="invalid_api_key")
        return token

    # ------------------------------------------------------------------ endpoints

    def _client_secrets(self, body: bytes) -> Reply:
        payload = _json_object(body or b"{}")
        seconds = 600
        expires_after = payload.get("expires_after")
        if expires_after is not None:
            if not isinstance(expires_after, dict):
                raise _HttpError(400, "expires_after must be an object.", param="expires_after")
            if expires_after.get("anchor", "created_at") != "created_at":
                raise _HttpError(400, "anchor must be 'created_at'.", param="expires_after.anchor")
            seconds = expires_after.get("seconds", 600)
            if isinstance(seconds, bool) or not isinstance(seconds, int):
                raise _HttpError(400, "seconds must be an integer.", param="expires_after.seconds")
            if not 10 <= seconds <= 7200:
                raise _HttpError(
                    400,
                    f"Invalid 'expires_after.seconds': {seconds}. Expected a value between "
                    "10 and 7200.",
                    code="integer_out_of_range",
                    param="expires_after.seconds",
                )
        session_in = payload.get("session", {"type": "realtime"})
        if not isinstance(session_in, dict):
            raise _HttpError(400, "session must be an object.", param="session")
        session = self._full_session(session_in, param="session")
        now = int(self.clock())
        value = self._new_id("ek_", 24)
        self.client_secrets[value] = (now + seconds, session)
        return _json_reply(200, {"value": value, "expires_at": now + seconds, "session": session})

    def _create_call(self, token: str, headers: Headers, body: bytes) -> Reply:
        content_type = (_header(headers, b"content-type") or "").strip()
        mime = content_type.split(";", 1)[0].strip().lower()
        session: dict[str, Any] | None = None
        if mime == "application/sdp":
            sdp_bytes = body
        elif mime == "multipart/form-data":
            parts = _parse_multipart(content_type, body)
            if "sdp" not in parts:
                raise _HttpError(400, "Missing required parameter: 'sdp'.", param="sdp")
            sdp_bytes = parts["sdp"]
            if "session" in parts:
                session_in = _json_object(parts["session"], param="session")
                if session_in.get("type") != "realtime":
                    raise _HttpError(400, "session.type must be 'realtime'.", param="session.type")
                session = self._full_session(session_in, param="session")
        else:
            raise _HttpError(
                400,
                "Content-Type must be application/sdp or multipart/form-data.",
                param="content-type",
            )
        if session is None:
            session = self.client_secret_session(token) or self._full_session(
                {"type": "realtime"}, param="session"
            )
        try:
            offer = sdp_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise _HttpError(400, "The SDP offer is not valid UTF-8.", param="sdp") from None
        answer = self._sdp_answer(offer)
        call_id = self._new_id("rtc_")
        self.calls[call_id] = FakeCall(call_id, "webrtc", FakeCallState.ACCEPTED, session=session)
        location = f"{self.base_path}/realtime/calls/{call_id}".encode()
        return (
            201,
            [(b"content-type", b"application/sdp"), (b"location", location)],
            answer.encode(),
        )

    def _accept(self, call: FakeCall, body: bytes) -> Reply:
        if call.state is not FakeCallState.INCOMING:
            raise _HttpError(
                400,
                f"Call '{call.call_id}' is {call.state.value}, not incoming.",
                code="invalid_call_state",
            )
        session_in = _json_object(body)
        if session_in.get("type") != "realtime":
            raise _HttpError(400, "Missing required parameter: 'type'.", param="type")
        call.session = self._full_session(session_in, param="")
        call.state = FakeCallState.ACCEPTED
        return 200, [], b""

    def _reject(self, call: FakeCall, body: bytes) -> Reply:
        if call.state is not FakeCallState.INCOMING:
            raise _HttpError(
                400,
                f"Call '{call.call_id}' is {call.state.value}, not incoming.",
                code="invalid_call_state",
            )
        payload = _json_object(body or b"{}")
        status = payload.get("status_code", 603)
        if isinstance(status, bool) or not isinstance(status, int) or not 300 <= status <= 699:
            raise _HttpError(400, "status_code must be a SIP status code.", param="status_code")
        call.reject_status = status
        call.state = FakeCallState.ENDED
        call.end_reason = "rejected"
        return 200, [], b""

    def _refer(self, call: FakeCall, body: bytes) -> Reply:
        if call.state is not FakeCallState.ACCEPTED:
            raise _HttpError(
                400,
                f"Call '{call.call_id}' is {call.state.value}, not accepted.",
                code="invalid_call_state",
            )
        payload = _json_object(body)
        target = payload.get("target_uri")
        if not isinstance(target, str):
            raise _HttpError(400, "Missing required parameter: 'target_uri'.", param="target_uri")
        if not target.lower().startswith(("tel:", "sip:", "sips:")) or any(
            c.isspace() for c in target
        ):
            raise _HttpError(400, "target_uri must be a tel: or sip: URI.", param="target_uri")
        call.refer_target = target
        call.state = FakeCallState.ENDED
        call.end_reason = "referred"
        return 200, [], b""

    def _hangup(self, call: FakeCall, body: bytes) -> Reply:
        if call.state is FakeCallState.ENDED:
            raise _HttpError(
                400, f"Call '{call.call_id}' has already ended.", code="invalid_call_state"
            )
        call.state = FakeCallState.ENDED
        call.end_reason = "hangup"
        return 200, [], b""

    # ------------------------------------------------------------------ helpers

    def _new_id(self, prefix: str, length: int = 20) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return prefix + "".join(self._rng.choice(alphabet) for _ in range(length))

    def _full_session(self, session: dict[str, Any], *, param: str) -> dict[str, Any]:
        """The server's view of a session: the request plus id, object and defaults."""
        kind = session.get("type")
        p = f"{param}.type" if param else "type"
        if kind not in ("realtime", "transcription"):
            raise _HttpError(
                400,
                f"Invalid value for '{p}': expected 'realtime' or 'transcription'.",
                param=p,
            )
        if kind == "transcription":
            out: dict[str, Any] = {
                "type": "transcription",
                "object": "realtime.transcription_session",
                "id": self._new_id("sess_"),
                "expires_at": 0,
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "noise_reduction": None,
                        "transcription": None,
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 200,
                        },
                    }
                },
                "include": None,
            }
        else:
            out = {
                "type": "realtime",
                "object": "realtime.session",
                "id": self._new_id("sess_"),
                "model": self.default_model,
                "output_modalities": ["audio"],
                "instructions": "You are a helpful, witty, and friendly AI.",
                "tools": [],
                "tool_choice": "auto",
                "max_output_tokens": "inf",
                "tracing": None,
                "truncation": "auto",
                "prompt": None,
                "expires_at": 0,
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "transcription": None,
                        "noise_reduction": None,
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 200,
                            "idle_timeout_ms": None,
                            "create_response": True,
                            "interrupt_response": True,
                        },
                    },
                    "output": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "voice": "alloy",
                        "speed": 1.0,
                    },
                },
                "include": None,
            }
        _merge(out, {k: v for k, v in session.items() if k not in ("id", "object")})
        return out

    def _sdp_answer(self, offer: str) -> str:
        """A plausible SDP answer mirroring the offer's media sections."""
        lines = [ln.strip() for ln in offer.replace("\r\n", "\n").split("\n") if ln.strip()]
        if not lines or lines[0] != "v=0" or not any(ln.startswith("m=") for ln in lines):
            raise _HttpError(
                400, "Invalid SDP offer: expected 'v=0' and at least one m= line.", param="sdp"
            )
        sections: list[list[str]] = []
        for ln in lines:
            if ln.startswith("m="):
                sections.append([ln])
            elif sections:
                sections[-1].append(ln)
        digest = hashlib.sha256(offer.encode()).hexdigest()
        fingerprint = ":".join(digest[i : i + 2].upper() for i in range(0, 64, 2))
        ufrag, pwd = digest[:8], digest[8:32]
        mids = []
        body: list[str] = []
        for index, section in enumerate(sections):
            media = section[0][2:].split()
            if len(media) < 3:
                raise _HttpError(400, "Invalid SDP offer: malformed m= line.", param="sdp")
            kind, proto, fmts = media[0], media[2], media[3:]
            mid = next((a[6:] for a in section if a.startswith("a=mid:")), str(index))
            mids.append(mid)
            if kind == "application":
                body += [
                    f"m=application 9 {proto} {' '.join(fmts)}".rstrip(),
                    "c=IN IP4 0.0.0.0",
                    f"a=mid:{mid}",
                    "a=sctp-port:5000",
                ]
            else:
                rtpmaps = {
                    a[9:].split(" ", 1)[0]: a
                    for a in section
                    if a.startswith("a=rtpmap:") and " " in a
                }
                opus = [f for f in fmts if "opus/" in rtpmaps.get(f, "").lower()]
                chosen = opus[:1] or fmts[:1]
                direction = "sendrecv"
                for a in section:
                    if a in ("a=recvonly", "a=sendonly", "a=inactive", "a=sendrecv"):
                        direction = {
                            "a=recvonly": "sendonly",
                            "a=sendonly": "recvonly",
                            "a=inactive": "inactive",
                            "a=sendrecv": "sendrecv",
                        }[a]
                body += [f"m={kind} 9 {proto} {' '.join(chosen)}", "c=IN IP4 0.0.0.0"]
                body += [rtpmaps[f] for f in chosen if f in rtpmaps]
                body += [f"a=mid:{mid}", f"a={direction}", "a=rtcp-mux"]
            body += [
                f"a=ice-ufrag:{ufrag}",
                f"a=ice-pwd:{pwd}",
                f"a=fingerprint:sha-256 {fingerprint}",
                "a=setup:active",
                "a=candidate:1 1 udp 2130706431 127.0.0.1 3478 typ host",
            ]
        head = [
            "v=0",
            f"o=- {int(digest[:12], 16)} 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            f"a=group:BUNDLE {' '.join(mids)}",
            "a=ice-lite",
        ]
        return "\r\n".join(head + body) + "\r\n"


_CONTROL: dict[str, Callable[[FakeRestApi, FakeCall, bytes], Reply]] = {
    "accept": FakeRestApi._accept,
    "reject": FakeRestApi._reject,
    "refer": FakeRestApi._refer,
    "hangup": FakeRestApi._hangup,
}


def _merge(base: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def _header(headers: Headers, name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _json_object(data: bytes, *, param: str | None = None) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(data)
    except (msgspec.MsgspecError, UnicodeError, RecursionError):  # all of them: bad JSON
        raise _HttpError(
            400,
            "We could not parse the JSON body of your request.",
            code="invalid_json",
            param=param,
        ) from None
    if not isinstance(value, dict):
        raise _HttpError(400, "The request body must be a JSON object.", param=param)
    return value


def _parse_multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    boundary = None
    for piece in content_type.split(";")[1:]:
        key, _, value = piece.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip().strip('"')
    if not boundary:
        raise _HttpError(400, "multipart/form-data without a boundary.", param="content-type")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise _HttpError(400, "Malformed multipart body.", param="body")
    parts: dict[str, bytes] = {}
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise _HttpError(400, "Malformed multipart body.", param="body")
        head, sep, content = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise _HttpError(400, "Malformed multipart part.", param="body")
        name = None
        for line in head.split(b"\r\n"):
            key, _, value = line.decode("latin-1").partition(":")
            if key.strip().lower() == "content-disposition":
                for attr in value.split(";"):
                    k, _, v = attr.strip().partition("=")
                    if k.lower() == "name":
                        name = v.strip('"')
        if name is None:
            raise _HttpError(400, "Multipart part without a name.", param="body")
        parts[name] = content
    return parts
