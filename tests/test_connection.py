"""The sans-IO RealtimeConnection: URL and headers, state machine, framing, no I/O."""

from __future__ import annotations

import json
import ssl
import tracemalloc
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from oairt_core.connection import (
    NEED_DATA,
    Connected,
    ConnectionClosed,
    ConnectionState,
    HandshakeRejected,
    MalformedServerEvent,
    RealtimeConnection,
    resolve_ssl_context,
)
from oairt_core.errors import (
    ConnectionClosedError,
    HandshakeError,
    InvalidClientEvent,
    LocalProtocolError,
    MessageTooBig,
    RemoteProtocolError,
)
from oairt_core.events import (
    InputAudioBufferAppendEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferClearEvent,
    SessionUpdateEvent,
)
from oairt_core.models import RealtimeSessionConfig

KEY = "sk-proj-SECRETSECRET-1234"
CLEARED = json.dumps({"type": "input_audio_buffer.cleared", "event_id": "ev_1"})
NONCE = b"dGhlIHNhbXBsZSBub25jZQ=="


def make(**kw: Any) -> RealtimeConnection:
    kw.setdefault("api_key", KEY)
    if not {"model", "call_id", "intent"} & kw.keys():
        kw["model"] = "gpt-realtime"
    return RealtimeConnection(**kw)


def request_of(conn: RealtimeConnection) -> tuple[Request, WSConnection]:
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(conn.initiate())
    (req,) = list(server.events())
    assert isinstance(req, Request)
    return req, server


def headers_of(req: Request) -> dict[str, str]:
    return {k.decode().lower(): v.decode() for k, v in req.extra_headers}


def drain(conn: RealtimeConnection) -> list[Any]:
    out: list[Any] = []
    while True:
        ev = conn.next_event()
        if ev is NEED_DATA:
            return out
        out.append(ev)
        if isinstance(ev, (ConnectionClosed, HandshakeRejected)):
            return out


def opened(**kw: Any) -> tuple[RealtimeConnection, WSConnection]:
    conn = make(**kw)
    _, server = request_of(conn)
    conn.receive_data(server.send(AcceptConnection()))
    assert isinstance(drain(conn)[0], Connected)
    return conn, server


def client_frames(server: WSConnection, data: bytes) -> list[Any]:
    server.receive_data(data)
    return list(server.events())


# -- URL, query and headers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "url"),
    [
        ({"model": "gpt-realtime"}, "wss://api.openai.com/v1/realtime?model=gpt-realtime"),
        ({"call_id": "rtc_abc123"}, "wss://api.openai.com/v1/realtime?call_id=rtc_abc123"),
        ({"intent": "transcription"}, "wss://api.openai.com/v1/realtime?intent=transcription"),
        (
            {"model": "m", "intent": "realtime"},
            "wss://api.openai.com/v1/realtime?model=m&intent=realtime",
        ),
        (
            {"model": "m", "base_url": "https://api.openai.com/v1/"},
            "wss://api.openai.com/v1/realtime?model=m",
        ),
        (
            {"model": "m", "base_url": "ws://127.0.0.1:8123/v1"},
            "ws://127.0.0.1:8123/v1/realtime?model=m",
        ),
        ({"model": "m", "base_url": "http://localhost/v1"}, "ws://localhost/v1/realtime?model=m"),
        (
            {"model": "my deploy", "base_url": "https://x.azure.com/openai/v1?api-version=2025-08"},
            "wss://x.azure.com/openai/v1/realtime?api-version=2025-08&model=my%20deploy",
        ),
        (
            {"base_url": "wss://gw.example/openai/realtime?model=fixed"},
            "wss://gw.example/openai/realtime?model=fixed",
        ),
        (
            {"model": "m&x=1", "extra_query": {"foo": "a/b"}},
            "wss://api.openai.com/v1/realtime?model=m%26x%3D1&foo=a%2Fb",
        ),
        ({"model": "m", "base_url": "ws://[::1]:9000/v1"}, "ws://[::1]:9000/v1/realtime?model=m"),
        (
            {"model": "m", "base_url": "https://gw.example/a%20b/<v1>"},
            "wss://gw.example/a%20b/%3Cv1%3E/realtime?model=m",
        ),
    ],
)
def test_url(kw: dict[str, Any], url: str) -> None:
    if "base_url" in kw and "model" not in kw and "intent" not in kw and "call_id" not in kw:
        conn = RealtimeConnection(api_key=KEY, **kw)
    else:
        conn = make(**kw)
    assert conn.url == url
    req, _ = request_of(conn)
    assert req.target == conn.target


def test_host_port_secure_and_host_header() -> None:
    c = make(base_url="ws://127.0.0.1:8123/v1")
    assert (c.host, c.port, c.secure) == ("127.0.0.1", 8123, False)
    req, _ = request_of(c)
    assert req.host == "127.0.0.1:8123"
    d = make()
    assert (d.host, d.port, d.secure) == ("api.openai.com", 443, True)
    assert request_of(d)[0].host == "api.openai.com"
    assert make(base_url="ws://[::1]:9/v1").host == "::1"


@pytest.mark.parametrize(
    "kw",
    [
        {},  # no target
        {"model": "m", "call_id": "rtc_1"},
        {"call_id": "rtc_1", "intent": "realtime"},
        {"model": "m", "intent": "transcription"},
        {"model": "m", "intent": "translation"},
        {"call_id": "rtc/../x"},
        {"call_id": "rtc_1?model=x"},
        {"call_id": "rtc 1"},
        {"call_id": "rtc_1#x"},
        {"call_id": "rtc\r\n1"},
        {"call_id": ""},
        {"model": "m\r\nX-Evil: 1"},
        {"model": "m", "organization": "org\r\nX-Evil: 1"},
        {"model": "m", "extra_headers": {"X-A": "v\nx"}},
        {"model": "m", "extra_headers": {"Bad Name": "v"}},
        {"model": "m", "extra_headers": {"OpenAI-Beta": "realtime=v1"}},
        {"model": "m", "extra_headers": {"Authorization": "Bearer other"}},
        {"model": "m", "extra_headers": {"Sec-WebSocket-Key": "x"}},
        {"model": "m", "extra_query": {"model": "again"}},
        {"model": "m", "base_url": "ftp://x/v1"},
        {"model": "m", "base_url": "wss://user:pw@x/v1"},
        {"model": "m", "base_url": "wss://x/v1#frag"},
        {"model": "m", "base_url": "wss://x:99999/v1"},
        {"model": "m", "base_url": "wss://x/v1?model=y"},
        {"model": "m", "base_url": "wss://x/v1\r\nX-Evil: 1"},
        {"model": "m", "base_url": "wss://x/v 1"},
        {"model": "m", "base_url": "wss://x/v1\x00"},
        {"model": "m", "base_url": "wss://x/v1\u00e9"},
        {"model": "m", "subprotocols": ["openai-beta.realtime-v1"]},
        {"model": "m", "max_message_size": 0},
    ],
)
def test_invalid_parameters_are_local_errors(kw: dict[str, Any]) -> None:
    with pytest.raises(LocalProtocolError) as info:
        RealtimeConnection(api_key=KEY + "\r\n" if kw == {} else KEY, **kw)
    assert KEY not in str(info.value)


def test_api_key_with_newline_rejected_without_echoing_it() -> None:
    with pytest.raises(LocalProtocolError) as info:
        RealtimeConnection(api_key="sk-abc\r\nX-Evil: 1", model="m")
    assert "sk-abc" not in str(info.value)


def test_headers() -> None:
    conn = make(
        organization="org_1",
        project="proj_1",
        safety_identifier="user-hash",
        extra_headers=[("X-Trace", "t1")],
    )
    h = headers_of(request_of(conn)[0])
    assert h["authorization"] == f"Bearer {KEY}"
    assert h["openai-organization"] == "org_1"
    assert h["openai-project"] == "proj_1"
    assert h["openai-safety-identifier"] == "user-hash"
    assert h["x-trace"] == "t1"
    assert h["user-agent"].startswith("oairt/") and "Python/" in h["user-agent"]
    assert "openai-beta" not in h
    plain = headers_of(request_of(make(user_agent="app/1"))[0])
    assert plain["user-agent"] == "app/1"
    assert "openai-organization" not in plain and "openai-project" not in plain


def test_subprotocols_sent_and_reported() -> None:
    conn = make(subprotocols=["realtime"])
    req, server = request_of(conn)
    assert req.subprotocols == ["realtime"]
    conn.receive_data(server.send(AcceptConnection(subprotocol="realtime")))
    (ev,) = drain(conn)
    assert isinstance(ev, Connected) and ev.subprotocol == "realtime"
    assert conn.subprotocol == "realtime"


def test_secrets_never_shown() -> None:
    conn = make()
    assert KEY not in repr(conn) and "SECRET" not in repr(conn)
    assert "SECRET" not in str(conn.__dict__.get("_api_key"))
    _, server = request_of(conn)
    conn.receive_data(
        server.send(AcceptConnection(extra_headers=[(b"set-cookie", b"sk-proj-SECRETSECRET-1234")]))
    )
    (ev,) = drain(conn)
    assert "SECRET" not in repr(ev)


def test_sideband_flag() -> None:
    assert make(call_id="rtc_1").is_sideband
    assert not make().is_sideband


def test_resolve_ssl_context() -> None:
    assert resolve_ssl_context(False, None, default=ssl.create_default_context) is None
    assert resolve_ssl_context(False, False, default=ssl.create_default_context) is None
    ctx = resolve_ssl_context(True, None, default=ssl.create_default_context)
    assert ctx is not None and ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    mine = ssl.create_default_context()
    assert resolve_ssl_context(True, mine, default=ssl.create_default_context) is mine
    with pytest.raises(LocalProtocolError):
        resolve_ssl_context(True, False, default=ssl.create_default_context)
    with pytest.raises(LocalProtocolError):
        resolve_ssl_context(False, True, default=ssl.create_default_context)


# -- state machine -------------------------------------------------------------------


def test_send_before_open_and_before_initiate() -> None:
    conn = make()
    with pytest.raises(LocalProtocolError):
        conn.receive_data(b"HTTP/1.1 101")
    with pytest.raises(LocalProtocolError):
        conn.send(InputAudioBufferClearEvent())
    conn.initiate()
    with pytest.raises(LocalProtocolError):
        conn.initiate()
    assert conn.state is ConnectionState.CONNECTING
    with pytest.raises(LocalProtocolError):
        conn.send(InputAudioBufferClearEvent())
    with pytest.raises(LocalProtocolError):
        conn.close()
    assert conn.next_event() is NEED_DATA


def test_send_encodes_and_validates() -> None:
    conn, server = opened()
    (msg,) = client_frames(server, conn.send(InputAudioBufferAppendEvent(audio=b"\x01\x02")))
    assert isinstance(msg, TextMessage)
    assert json.loads(msg.data) == {"type": "input_audio_buffer.append", "audio": "AQI="}
    with pytest.raises(InvalidClientEvent):
        conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(max_output_tokens=0)))
    (raw,) = client_frames(server, conn.send_raw('{"type":"x"}'))
    assert raw.data == '{"type":"x"}'
    assert conn.data_to_send() == b""


def test_server_close_is_echoed() -> None:
    conn, server = opened()
    conn.receive_data(server.send(CloseConnection(code=1000, reason="bye")))
    (ev,) = drain(conn)
    assert ev == ConnectionClosed(1000, "bye", clean=True)
    assert ev.normal and conn.state is ConnectionState.CLOSED
    (echo,) = client_frames(server, conn.data_to_send())
    assert isinstance(echo, CloseConnection) and echo.code == 1000
    with pytest.raises(LocalProtocolError):
        conn.send(InputAudioBufferClearEvent())
    assert conn.close() == b""
    assert conn.next_event() == ev  # sticky
    conn.receive_data(b"garbage after close is ignored")
    assert isinstance(ev.exception(), ConnectionClosedError)


def test_client_close_handshake() -> None:
    conn, server = opened()
    close_bytes = conn.close(4000, "done")
    assert conn.state is ConnectionState.CLOSING
    assert conn.close() == b""
    with pytest.raises(LocalProtocolError):
        conn.send(InputAudioBufferClearEvent())
    # Events sent by the server before it saw our close still arrive.
    data = server.send(TextMessage(data=CLEARED))
    (frame,) = client_frames(server, close_bytes)
    assert isinstance(frame, CloseConnection) and (frame.code, frame.reason) == (4000, "done")
    conn.receive_data(data + server.send(frame.response()))
    evs = drain(conn)
    assert isinstance(evs[0], InputAudioBufferClearedEvent)
    assert evs[1] == ConnectionClosed(4000, "done", clean=True, initiated_locally=True)
    assert evs[1].normal


def test_close_arguments_checked() -> None:
    conn, _ = opened()
    with pytest.raises(LocalProtocolError):
        conn.close(1006)
    with pytest.raises(LocalProtocolError):
        conn.close(1000, "x" * 124)
    assert conn.state is ConnectionState.OPEN


def test_tcp_drop_gives_1006() -> None:
    conn, server = opened()
    partial = server.send(TextMessage(data=CLEARED))[:10]
    conn.receive_data(partial)
    conn.receive_data(None)
    (ev,) = drain(conn)
    assert ev == ConnectionClosed(1006, ev.reason, clean=False)
    assert not ev.normal
    exc = ev.exception()
    assert isinstance(exc, ConnectionClosedError) and exc.code == 1006


def test_tcp_drop_while_closing_is_normal() -> None:
    conn, _ = opened()
    conn.close()
    conn.receive_data(b"")
    (ev,) = drain(conn)
    assert ev.code == 1006 and ev.initiated_locally and ev.normal


def test_tcp_drop_during_handshake() -> None:
    conn = make()
    conn.initiate()
    conn.receive_data(b"HTTP/1.1 101 Switching")
    conn.receive_data(None)
    (ev,) = drain(conn)
    assert isinstance(ev, ConnectionClosed) and ev.code == 1006


def test_ping_answered_pong_absorbed() -> None:
    conn, server = opened()
    conn.receive_data(server.send(Ping(payload=b"abc")) + server.send(Pong(payload=b"x")))
    assert drain(conn) == []
    (pong,) = client_frames(server, conn.data_to_send())
    assert isinstance(pong, Pong) and pong.payload == b"abc"
    (ping,) = client_frames(server, conn.ping(b"k"))
    assert isinstance(ping, Ping)


def test_oversized_fragmented_message_fails_with_1009() -> None:
    conn, server = opened(max_message_size=100)
    ok = server.send(TextMessage(data=CLEARED))
    frags = b"".join(
        server.send(TextMessage(data="x" * 40, message_finished=i == 3)) for i in range(4)
    )
    conn.receive_data(ok + frags)
    evs = drain(conn)
    assert isinstance(evs[0], InputAudioBufferClearedEvent)
    closed = evs[1]
    assert isinstance(closed, ConnectionClosed) and closed.code == 1009
    assert isinstance(closed.error, MessageTooBig) and closed.error.limit == 100
    assert closed.exception() is closed.error and not closed.normal
    (frame,) = client_frames(server, conn.data_to_send())
    assert isinstance(frame, CloseConnection) and frame.code == 1009
    assert conn.state is ConnectionState.CLOSED


def test_multibyte_text_counts_bytes() -> None:
    conn, server = opened(max_message_size=30)
    conn.receive_data(server.send(TextMessage(data="é" * 20)))  # 40 bytes, 20 characters
    (ev,) = drain(conn)
    assert isinstance(ev, ConnectionClosed) and ev.code == 1009


def test_message_at_limit_passes() -> None:
    conn, server = opened(max_message_size=len(CLEARED))
    conn.receive_data(server.send(TextMessage(data=CLEARED)))
    assert isinstance(drain(conn)[0], InputAudioBufferClearedEvent)


def test_malformed_and_binary_are_events_and_session_goes_on() -> None:
    conn, server = opened()
    data = server.send(TextMessage(data="{nope"))
    data += server.send(BytesMessage(data=b"\x00"))
    data += server.send(TextMessage(data=CLEARED))
    conn.receive_data(data)
    a, b, c = drain(conn)
    assert isinstance(a, MalformedServerEvent) and a.raw == b"{nope"
    assert isinstance(a.error, RemoteProtocolError)
    assert isinstance(b, MalformedServerEvent) and b.raw == b"\x00"
    assert isinstance(c, InputAudioBufferClearedEvent)
    assert conn.state is ConnectionState.OPEN


def test_unknown_type_is_not_malformed() -> None:
    conn, server = opened()
    conn.receive_data(server.send(TextMessage(data='{"type":"brand.new","x":1}')))
    (ev,) = drain(conn)
    assert type(ev).__name__ == "UnknownServerEvent"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\x83\x00", 1002),  # reserved opcode
        (b"\x81\x02\xff\xfe", 1007),  # invalid UTF-8
        (b"\x89\x7e\x00\x80" + b"x" * 128, 1002),  # control frame too long
        (b"\x81\x81abcdx", 1002),  # masked frame from the server
    ],
)
def test_protocol_violations_fail_the_connection(raw: bytes, code: int) -> None:
    conn, server = opened()
    conn.receive_data(raw)
    (ev,) = drain(conn)
    assert isinstance(ev, ConnectionClosed) and ev.code == code and not ev.clean
    assert isinstance(ev.error, RemoteProtocolError)
    (frame,) = client_frames(server, conn.data_to_send())
    assert isinstance(frame, CloseConnection) and frame.code == code


def test_bad_handshake_response() -> None:
    conn = make()
    conn.initiate()
    conn.receive_data(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: wrong\r\n\r\n"
    )
    (ev,) = drain(conn)
    assert isinstance(ev, ConnectionClosed) and isinstance(ev.error, RemoteProtocolError)
    assert conn.state is ConnectionState.CLOSED


# -- rejection -----------------------------------------------------------------------


def reject(conn: RealtimeConnection, status: int, body: bytes, content_length: bool = True) -> None:
    _, server = request_of(conn)
    headers = [(b"content-length", str(len(body)).encode())] if content_length else []
    data = server.send(RejectConnection(status_code=status, headers=headers, has_body=True))
    data += server.send(RejectData(data=body, body_finished=True))
    conn.receive_data(data)


def test_rejection_parses_openai_error() -> None:
    conn = make()
    body = {
        "error": {
            "message": "Incorrect API key provided: sk-proj-SECRETSECRET-1234.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
            "param": None,
        }
    }
    reject(conn, 401, json.dumps(body).encode())
    (ev,) = drain(conn)
    assert isinstance(ev, HandshakeRejected)
    assert (ev.status_code, ev.error_type, ev.code) == (
        401,
        "invalid_request_error",
        "invalid_api_key",
    )
    assert ev.message.startswith("Incorrect API key provided: ")
    assert "SECRET" not in ev.message and b"SECRET" not in ev.body and "SECRET" not in repr(ev)
    exc = ev.exception()
    assert isinstance(exc, HandshakeError) and exc.status_code == 401
    assert "SECRET" not in str(exc)
    assert conn.state is ConnectionState.REJECTED
    with pytest.raises(LocalProtocolError):
        conn.send(InputAudioBufferClearEvent())


@pytest.mark.parametrize(
    "body",
    [
        b'{"error":{"message":"\x80 bad byte","type":"invalid_request_error"}}',
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe not even text",
    ],
    ids=["invalid-utf8-in-string", "nested-deeper-than-the-stack", "binary"],
)
def test_rejection_with_a_hostile_body_is_still_a_typed_rejection(body: bytes) -> None:
    conn = make()
    reject(conn, 401, body)
    (ev,) = drain(conn)
    assert isinstance(ev, HandshakeRejected)
    assert ev.status_code == 401
    assert isinstance(ev.exception(), HandshakeError)


def test_rejection_body_until_eof_and_capped() -> None:
    conn = make(max_rejection_body=10)
    conn.initiate()
    conn.receive_data(b"HTTP/1.1 429 Too Many Requests\r\n\r\n" + b"x" * 5)  # body until EOF
    assert drain(conn) == []
    conn.receive_data(b"y" * 50)
    (ev,) = drain(conn)
    assert isinstance(ev, HandshakeRejected) and ev.truncated and ev.body == b"xxxxxyyyyy"
    assert ev.message == "xxxxxyyyyy"

    conn2 = make()
    conn2.initiate()
    conn2.receive_data(b"HTTP/1.1 503 Unavailable\r\n\r\ndo")
    conn2.receive_data(b"wn")
    conn2.receive_data(None)
    (ev2,) = drain(conn2)
    assert isinstance(ev2, HandshakeRejected) and ev2.message == "down" and not ev2.truncated


def test_rejection_empty_body() -> None:
    conn = make()
    reject(conn, 404, b"")
    (ev,) = drain(conn)
    assert isinstance(ev, HandshakeRejected) and ev.message == "HTTP 404"


# -- split property ------------------------------------------------------------------


PINGS = 0


def _server_stream() -> bytes:
    global PINGS
    with mock.patch("wsproto.handshake.generate_nonce", return_value=NONCE):
        conn = make()
        _, server = request_of(conn)
    out = server.send(AcceptConnection())
    for i in range(12):
        text = json.dumps({"type": "input_audio_buffer.cleared", "event_id": f"e{i}", "é": "ü"})
        if i % 3 == 0:
            parts = [text[j : j + 7] for j in range(0, len(text), 7)]
            for k, part in enumerate(parts):
                out += server.send(TextMessage(data=part, message_finished=k == len(parts) - 1))
                if k % 2:
                    out += server.send(Ping(payload=f"{i}-{k}".encode()))
                    PINGS += 1
        else:
            out += server.send(TextMessage(data=text))
    out += server.send(TextMessage(data='{"type": 1}'))
    out += server.send(BytesMessage(data=b"bin"))
    out += server.send(TextMessage(data=json.dumps({"type": "future.event"})))
    out += server.send(CloseConnection(code=1001, reason="going away"))
    return out


STREAM = _server_stream()


def _normalise(ev: object) -> object:
    if isinstance(ev, Message):
        return ev
    if isinstance(ev, MalformedServerEvent):
        return ("malformed", ev.raw, str(ev.error))
    return ev


def _run(chunks: list[bytes]) -> list[object]:
    with mock.patch("wsproto.handshake.generate_nonce", return_value=NONCE):
        conn = make()
        conn.initiate()
    events: list[object] = []
    for chunk in chunks:
        conn.receive_data(chunk)
        events.extend(_normalise(e) for e in drain(conn))
    return events


REFERENCE = _run([STREAM])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_random_splits_give_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    chunks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    events = _run([c for c in chunks if c])
    assert events == REFERENCE


def test_reference_stream_events() -> None:
    names = [type(e).__name__ if not isinstance(e, tuple) else e[0] for e in REFERENCE]
    assert names[0] == "Connected"
    assert names[1:13] == ["InputAudioBufferClearedEvent"] * 12
    assert names[13:15] == ["malformed", "malformed"]
    assert names[15] == "UnknownServerEvent"
    last = REFERENCE[-1]
    assert isinstance(last, ConnectionClosed) and (last.code, last.reason) == (1001, "going away")


def test_byte_at_a_time_answers_every_ping() -> None:
    with mock.patch("wsproto.handshake.generate_nonce", return_value=NONCE):
        conn = make()
        conn.initiate()
    server_side = WSConnection(ConnectionType.SERVER)
    with mock.patch("wsproto.handshake.generate_nonce", return_value=NONCE):
        probe = make()
        server_side.receive_data(probe.initiate())
        list(server_side.events())
        server_side.send(AcceptConnection())
    out = b""
    for i in range(len(STREAM)):
        conn.receive_data(STREAM[i : i + 1])
        drain(conn)
        out += conn.data_to_send()
    frames = client_frames(server_side, out)
    assert PINGS > 5 and sum(isinstance(f, Pong) for f in frames) == PINGS
    assert isinstance(frames[-1], CloseConnection) and frames[-1].code == 1001


def test_endless_handshake_headers_are_bounded() -> None:
    conn = make()
    conn.initiate()
    conn.receive_data(b"HTTP/1.1 101 Switching Protocols\r\n")
    for _ in range(100):
        conn.receive_data(b"X-Filler: " + b"a" * 1000 + b"\r\n")
        if conn.state is not ConnectionState.CONNECTING:
            break
    (ev,) = drain(conn)
    assert isinstance(ev, ConnectionClosed) and isinstance(ev.error, RemoteProtocolError)


def test_on_message_hook_sees_text_both_ways() -> None:
    log: list[tuple[str, str]] = []
    conn, server = opened(on_message=lambda d, t: log.append((d, t)))
    conn.send(InputAudioBufferClearEvent())
    conn.receive_data(server.send(TextMessage(data=CLEARED)))
    drain(conn)
    assert log == [("client", '{"type":"input_audio_buffer.clear"}'), ("server", CLEARED)]


@pytest.mark.parametrize("binary", [False, True])
def test_trickled_message_memory_stays_proportional(binary: bool) -> None:
    # A peer trickling a few bytes per TCP segment must not cost a str object per piece.
    n = 70_000
    conn, server = opened()
    body = '{"type":"input_audio_buffer.cleared","event_id":"' + "é" * (n // 2) + '"}'
    frame = (
        server.send(BytesMessage(data=body.encode()))
        if binary
        else server.send(TextMessage(data=body))
    )
    tracemalloc.start()
    try:
        for i in range(0, len(frame) - 3, 3):
            conn.receive_data(frame[i : i + 3])
            assert conn.next_event() is NEED_DATA
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 4 * n
    conn.receive_data(frame[i + 3 :])
    event = conn.next_event()
    if binary:
        assert isinstance(event, MalformedServerEvent) and event.raw == body.encode()
    else:
        assert isinstance(event, InputAudioBufferClearedEvent)
        assert event.event_id == "é" * (n // 2)
