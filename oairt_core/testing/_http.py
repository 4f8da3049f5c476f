"""The transport of a fake-server connection: HTTP routing, the WebSocket upgrade, frames.

The first request decides: an upgrade to ``/v1/realtime`` (after the ``Authorization`` and
``model`` / ``call_id`` / ``intent`` checks) becomes a Realtime session; anything else is
answered by the REST fake over keep-alive HTTP/1.1.
"""

from __future__ import annotations

import json
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import h11
import wsproto
import wsproto.events as wse
from wsproto import ConnectionType
from wsproto.connection import ConnectionState

from .._redact import Secret
from ._events import _Events
from ._wire import Phase, _ApiError

__all__ = ["RestHandler"]

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class RestHandler(Protocol):
    """What the HTTP layer needs from the REST fake (``FakeRestApi`` satisfies it)."""

    def handle(
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]: ...

    def is_active_call(self, call_id: str) -> bool: ...


class _Transport(_Events):
    """HTTP/1.1 (h11) until a WebSocket upgrade (wsproto), then WebSocket frames."""

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
                    # Bounded like WebSocket messages: a client streaming an endless
                    # (chunked) body gets a 413 instead of growing the buffer forever.
                    if len(self._req_body) + len(ev.data) > MAX_MESSAGE_BYTES:
                        self._req_body.clear()
                        self._http_reply(
                            413,
                            _error_body("Request body too large.", "invalid_request_error", None),
                            close=True,
                        )
                        return
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


def _is_upgrade(req: h11.Request) -> bool:
    return any(k == b"upgrade" and v.lower() == b"websocket" for k, v in req.headers)


def _error_body(
    message: str, type: str | None, code: str | None, param: str | None = None
) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type, "param": param, "code": code}}
    ).encode()
