"""oairt_core.rest: request builders, response parsers and the sans-IO h11 connection."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core._redact import Secret
from oairt_core.connection import NEED_DATA
from oairt_core.errors import APIError, LocalProtocolError, RemoteProtocolError
from oairt_core.models import (
    AudioConfig,
    AudioOutputConfig,
    RealtimeSessionConfig,
    TranscriptionSessionConfig,
)
from oairt_core.rest import (
    CallAnswer,
    ClientSecret,
    ExpiresAfter,
    RealtimeRest,
    RestConfig,
    RestConnection,
    RestRequest,
    RestResponse,
    api_error_from_response,
    build_accept_call,
    build_create_call,
    build_create_client_secret,
    build_hangup_call,
    build_refer_call,
    build_reject_call,
    parse_call_answer,
    parse_client_secret,
    parse_empty_response,
    validate_call_id,
)

KEY = "sk-test-SECRETKEY1234567890"
CFG = RestConfig(KEY, base_url="http://127.0.0.1:8123/v1")
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def _json(body: bytes) -> object:
    return msgspec.json.decode(body)


# --------------------------------------------------------------------------- config


def test_default_base_url_is_the_public_api_over_tls() -> None:
    cfg = RestConfig(KEY)
    assert (cfg.tls, cfg.host, cfg.port, cfg.host_header, cfg.base_path) == (
        True,
        "api.openai.com",
        443,
        "api.openai.com",
        "/v1",
    )


def test_custom_base_url_and_ipv6_host_header() -> None:
    assert (CFG.tls, CFG.host, CFG.port, CFG.host_header) == (
        False,
        "127.0.0.1",
        8123,
        "127.0.0.1:8123",
    )
    v6 = RestConfig(KEY, base_url="http://[::1]:9000/")
    assert (v6.host, v6.host_header, v6.base_path) == ("::1", "[::1]:9000", "")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://x/v1",
        "api.openai.com/v1",
        "https://x/v1?a=b",
        "https://u:p@x/v1",
        "https://x:99999/v1",
        "https://x/v1\r\nX: y",
    ],
)
def test_bad_base_urls_are_rejected(url: str) -> None:
    with pytest.raises(LocalProtocolError):
        RestConfig(KEY, base_url=url)


def test_headers_carry_auth_org_project_and_user_agent() -> None:
    cfg = RestConfig(KEY, organization="org-1", project="proj_1")
    req = build_hangup_call(cfg, "rtc_1")
    assert req.header("authorization") == f"Bearer {KEY}"
    assert req.header("openai-organization") == "org-1"
    assert req.header("openai-project") == "proj_1"
    assert req.header(
        "user-agent",
    ).startswith("oairt/")  # type: ignore[union-attr]
    assert req.header("host") == "api.openai.com"
    assert req.header("openai-beta") is None


@pytest.mark.parametrize("field", ["organization", "project", "user_agent"])
@pytest.mark.parametrize("bad", ["a\r\nX-Injected: 1", "a\nb", "a\x00b", " lead", "é\u2028"])
def test_header_values_with_control_characters_are_refused(field: str, bad: str) -> None:
    with pytest.raises(LocalProtocolError) as info:
        RestConfig(KEY, **{field: bad})
    assert bad not in str(info.value)


def test_api_key_with_crlf_is_refused_without_echoing_it() -> None:
    with pytest.raises(LocalProtocolError) as info:
        RestConfig("sk-abc\r\nX-Evil: 1")
    assert "sk-abc" not in str(info.value)
    with pytest.raises(LocalProtocolError):
        RestConfig("")


def test_reprs_hide_the_api_key() -> None:
    req = build_hangup_call(CFG, "rtc_1")
    for text in (repr(CFG), repr(req), repr(RealtimeRest(CFG))):
        assert "SECRETKEY" not in text
    assert "[REDACTED]" in repr(req)
    assert isinstance(CFG.api_key, Secret)


# --------------------------------------------------------------------------- builders


def test_client_secret_request_with_expiry_and_realtime_session() -> None:
    session = RealtimeSessionConfig(
        model="gpt-realtime", audio=AudioConfig(output=AudioOutputConfig(voice="marin"))
    )
    req = build_create_client_secret(CFG, session=session, expires_after=120)
    assert (req.method, req.target) == ("POST", "/v1/realtime/client_secrets")
    assert req.header("content-type") == "application/json"
    assert req.header("content-length") == str(len(req.body))
    assert _json(req.body) == {
        "expires_after": {"anchor": "created_at", "seconds": 120},
        "session": {
            "type": "realtime",
            "model": "gpt-realtime",
            "audio": {"output": {"voice": "marin"}},
        },
    }


def test_client_secret_request_minimal_and_transcription() -> None:
    assert _json(build_create_client_secret(CFG).body) == {}
    req = build_create_client_secret(
        CFG, session=TranscriptionSessionConfig(), expires_after=ExpiresAfter(seconds=10)
    )
    assert _json(req.body) == {
        "expires_after": {"anchor": "created_at", "seconds": 10},
        "session": {"type": "transcription"},
    }


@pytest.mark.parametrize("seconds", [9, 7201, 0, -5])
def test_expires_after_range(seconds: int) -> None:
    with pytest.raises(LocalProtocolError):
        ExpiresAfter(seconds=seconds)
    with pytest.raises(LocalProtocolError):
        build_create_client_secret(CFG, expires_after=seconds)
    assert ExpiresAfter(seconds=7200).seconds == 7200


def test_session_without_type_or_not_encodable_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="session.type"):
        build_create_client_secret(CFG, session={"model": "gpt-realtime"})
    with pytest.raises(LocalProtocolError):
        build_create_client_secret(CFG, session={"type": "realtime", "x": object()})


def test_create_call_raw_sdp() -> None:
    req = build_create_call(CFG, OFFER)
    assert req.target == "/v1/realtime/calls"
    assert req.header("content-type") == "application/sdp"
    assert req.header("accept") == "application/sdp"
    assert req.body == OFFER.encode()


def test_create_call_multipart_is_byte_exact() -> None:
    req = build_create_call(
        CFG, OFFER, session=RealtimeSessionConfig(model="gpt-realtime"), boundary="b0undary"
    )
    assert req.header("content-type") == "multipart/form-data; boundary=b0undary"
    assert req.header("accept") == "application/sdp"
    assert req.body == (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="sdp"\r\n'
        b"Content-Type: application/sdp\r\n\r\n" + OFFER.encode() + b"\r\n"
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="session"\r\n'
        b"Content-Type: application/json\r\n\r\n"
        b'{"type":"realtime","model":"gpt-realtime"}\r\n'
        b"--b0undary--\r\n"
    )
    # Random boundaries differ between calls.
    a = build_create_call(CFG, OFFER, session={"type": "realtime"}).header("content-type")
    b = build_create_call(CFG, OFFER, session={"type": "realtime"}).header("content-type")
    assert a != b


def test_create_call_refusals() -> None:
    with pytest.raises(LocalProtocolError):
        build_create_call(CFG, "  ")
    with pytest.raises(LocalProtocolError, match="boundary"):
        build_create_call(CFG, OFFER + "--xx\r\n", session={"type": "realtime"}, boundary="xx")
    with pytest.raises(LocalProtocolError, match="boundary"):
        build_create_call(CFG, OFFER, session={"type": "realtime"}, boundary="a\r\nb")
    with pytest.raises(LocalProtocolError, match="realtime"):
        build_create_call(CFG, OFFER, session=TranscriptionSessionConfig())


def test_control_calls() -> None:
    accept = build_accept_call(CFG, "rtc_1", RealtimeSessionConfig(instructions="Hi"))
    assert accept.target == "/v1/realtime/calls/rtc_1/accept"
    assert accept.header("accept") == "*/*"
    assert _json(accept.body) == {"type": "realtime", "instructions": "Hi"}
    with pytest.raises(LocalProtocolError):
        build_accept_call(CFG, "rtc_1", TranscriptionSessionConfig())

    assert _json(build_reject_call(CFG, "rtc_1").body) == {}
    assert _json(build_reject_call(CFG, "rtc_1", 486).body) == {"status_code": 486}
    for bad in (200, 700, True):
        with pytest.raises(LocalProtocolError):
            build_reject_call(CFG, "rtc_1", bad)

    refer = build_refer_call(CFG, "rtc_1", "tel:+14155550123")
    assert refer.target.endswith("/refer")
    assert _json(refer.body) == {"target_uri": "tel:+14155550123"}
    assert _json(build_refer_call(CFG, "rtc_1", "SIPS:bob@example.com").body) == {
        "target_uri": "SIPS:bob@example.com"
    }
    for uri in ("http://x", "sip:", "sip:a b", "tel:+1\r\nX: y", "mailto:a@b", ""):
        with pytest.raises(LocalProtocolError):
            build_refer_call(CFG, "rtc_1", uri)

    hangup = build_hangup_call(CFG, "rtc_1")
    assert hangup.body == b"" and hangup.header("content-length") == "0"
    assert hangup.header("content-type") is None


@pytest.mark.parametrize(
    "call_id",
    [
        "",
        ".",
        "..",
        "a/b",
        "../admin",
        "a?b=1",
        "a#b",
        "a b",
        "a\r\nb",
        "a\nb",
        "a\tb",
        "a%2Fb",
        "é",
        "a\x00",
        "x" * 257,
    ],
)
def test_bad_call_ids_never_reach_the_wire(call_id: str) -> None:
    for build in (
        lambda: build_hangup_call(CFG, call_id),
        lambda: build_reject_call(CFG, call_id),
        lambda: build_refer_call(CFG, call_id, "tel:+1"),
        lambda: build_accept_call(CFG, call_id, {"type": "realtime"}),
    ):
        with pytest.raises(LocalProtocolError):
            build()


@settings(max_examples=200)
@given(st.text(max_size=40))
def test_call_id_validation_property(call_id: str) -> None:
    try:
        validate_call_id(call_id)
    except LocalProtocolError:
        return
    # Accepted ids stay one path segment, whatever they are.
    target = build_hangup_call(CFG, call_id).target
    assert target == f"/v1/realtime/calls/{call_id}/hangup"
    assert not any(c in call_id for c in "/?#% \r\n\t")
    assert call_id not in (".", "..")


# --------------------------------------------------------------------------- parsers


def _resp(status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> RestResponse:
    return RestResponse(status, headers or [], body)


def test_parse_client_secret() -> None:
    body = msgspec.json.encode(
        {
            "value": "ek_abcdefSECRET123",
            "expires_at": 1750000600,
            "session": {
                "type": "realtime",
                "object": "realtime.session",
                "id": "sess_1",
                "model": "gpt-realtime",
                "future_field": {"x": 1},
            },
        }
    )
    secret = parse_client_secret(_resp(200, body))
    assert isinstance(secret, ClientSecret)
    assert secret.value.reveal() == "ek_abcdefSECRET123"
    assert secret.expires_at == 1750000600
    assert secret.session_id == "sess_1"
    assert isinstance(secret.session, RealtimeSessionConfig)
    assert secret.session.model == "gpt-realtime"
    assert secret.raw_session["future_field"] == {"x": 1}
    assert "SECRET123" not in repr(secret)
    assert "SECRET123" not in repr(_resp(200, body))


def test_parse_client_secret_keeps_raw_session_the_models_reject() -> None:
    body = msgspec.json.encode(
        {"value": "ek_x123456789", "expires_at": 1, "session": {"type": "translation", "id": "s"}}
    )
    secret = parse_client_secret(_resp(200, body))
    assert secret.session is None
    assert secret.raw_session == {"type": "translation", "id": "s"}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"value":"ek_1"}',
        b'{"value":1,"expires_at":1,"session":{}}',
        b'{"value":"","expires_at":1,"session":{}}',
        b"\xff\xfe",
    ],
)
def test_unexpected_2xx_body_is_a_remote_protocol_error(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_client_secret(_resp(200, body))


def test_unexpected_2xx_error_message_does_not_leak_the_secret() -> None:
    body = b'{"value":"ek_leakme12345678","expires_at":"soon","session":{}}'
    with pytest.raises(RemoteProtocolError) as info:
        parse_client_secret(_resp(200, body))
    assert "leakme" not in str(info.value)


def test_api_error_fields_from_error_body() -> None:
    body = (
        b'{"error":{"message":"Call not found.","type":"invalid_request_error",'
        b'"code":"call_not_found","param":null}}'
    )
    with pytest.raises(APIError) as info:
        parse_empty_response(_resp(404, body))
    err = info.value
    assert (err.status_code, err.message, err.error_type, err.code, err.param) == (
        404,
        "Call not found.",
        "invalid_request_error",
        "call_not_found",
        None,
    )
    err2 = api_error_from_response(_resp(400, b'{"error":{"message":"m","code":42,"param":"sdp"}}'))
    assert (err2.code, err2.param, err2.error_type) == ("42", "sdp", None)


@pytest.mark.parametrize("body", [b"<html>502</html>", b"", b'{"error":"nope"}', b"[1]", b"\xff"])
def test_api_error_fallback_for_other_bodies(body: bytes) -> None:
    with pytest.raises(APIError) as info:
        parse_call_answer(_resp(502, body))
    assert info.value.status_code == 502
    assert "502" in info.value.message


def test_api_error_message_is_redacted() -> None:
    body = (
        b'{"error":{"message":"Incorrect API key provided: sk-proj-abcdefgh1234.",'
        b'"type":"invalid_request_error","code":"invalid_api_key"}}'
    )
    with pytest.raises(APIError) as info:
        parse_client_secret(_resp(401, body))
    assert "abcdefgh1234" not in str(info.value)
    assert info.value.code == "invalid_api_key"


def test_parse_call_answer() -> None:
    answer = parse_call_answer(
        _resp(201, b"v=0\r\ns=-\r\n", [("Location", "/v1/realtime/calls/rtc_u1_abc")])
    )
    assert answer == CallAnswer(sdp="v=0\r\ns=-\r\n", call_id="rtc_u1_abc")
    absolute = parse_call_answer(
        _resp(201, b"v=0\r\n", [("location", "https://api.openai.com/v1/realtime/calls/rtc_9?x=1")])
    )
    assert absolute.call_id == "rtc_9"
    assert parse_call_answer(_resp(201, b"v=0\r\n")).call_id is None


@pytest.mark.parametrize(
    ("body", "location"),
    [
        (b"", "/v1/realtime/calls/rtc_1"),
        (b"<html>", "/v1/realtime/calls/rtc_1"),
        (b"\xff", None),
        (b"v=0\r\n", "/v1/realtime/calls/bad%20id"),
        (b"v=0\r\n", "/"),
    ],
)
def test_parse_call_answer_bad_shapes(body: bytes, location: str | None) -> None:
    headers = [("location", location)] if location is not None else []
    with pytest.raises(RemoteProtocolError):
        parse_call_answer(_resp(201, body, headers))


def test_parse_empty_response_ignores_body_but_not_status() -> None:
    parse_empty_response(_resp(200, b""))
    parse_empty_response(_resp(204, b"whatever"))
    with pytest.raises(APIError):
        parse_empty_response(_resp(301, b""))


# --------------------------------------------------------------------------- connection


def _feed(conn: RestConnection, data: bytes, step: int | None = None) -> RestResponse:
    step = step or len(data) or 1
    for i in range(0, len(data), step):
        conn.receive_data(data[i : i + step])
    result = conn.next_response()
    assert isinstance(result, RestResponse)
    return result


def test_connection_content_length_and_keep_alive() -> None:
    conn = RestConnection()
    assert conn.reusable
    wire = conn.send_request(build_hangup_call(CFG, "rtc_1"))
    assert wire.startswith(b"POST /v1/realtime/calls/rtc_1/hangup HTTP/1.1\r\n")
    assert b"host: 127.0.0.1:8123\r\n" in wire.lower()
    assert conn.next_response() is NEED_DATA
    assert not conn.reusable
    resp = _feed(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nok")
    assert (resp.status_code, resp.body, resp.header("x-a")) == (200, b"ok", "b")
    assert conn.reusable
    wire2 = conn.send_request(build_reject_call(CFG, "rtc_1", 486))
    assert wire2.endswith(b'{"status_code":486}')
    resp2 = _feed(conn, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    assert resp2.status_code == 404 and conn.requests_sent == 2 and conn.reusable


def test_connection_close_header_makes_it_not_reusable() -> None:
    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    _feed(conn, b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not conn.reusable
    with pytest.raises(LocalProtocolError):
        conn.send_request(build_hangup_call(CFG, "rtc_1"))


def test_request_in_progress_refuses_a_second_one() -> None:
    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    with pytest.raises(LocalProtocolError):
        conn.send_request(build_hangup_call(CFG, "rtc_2"))


CHUNKED = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
    b"Location: /v1/realtime/calls/rtc_7\r\n\r\n"
    b"4\r\nv=0\r\r\n3\r\n\ns=\r\n2\r\n-\n\r\n0\r\n\r\n"
)


@settings(max_examples=50)
@given(st.integers(min_value=1, max_value=len(CHUNKED)))
def test_chunked_response_in_any_split(step: int) -> None:
    conn = RestConnection()
    conn.send_request(build_create_call(CFG, OFFER))
    resp = _feed(conn, CHUNKED, step)
    assert parse_call_answer(resp) == CallAnswer(sdp="v=0\r\ns=-\n", call_id="rtc_7")
    assert conn.reusable


def test_informational_response_is_skipped() -> None:
    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    resp = _feed(conn, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert resp.status_code == 200


def test_oversized_content_length_is_refused_before_the_body() -> None:
    conn = RestConnection(max_response_size=10)
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    conn.receive_data(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="limit"):
        conn.next_response()
    assert not conn.reusable


def test_oversized_chunked_body_is_refused() -> None:
    conn = RestConnection(max_response_size=10)
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    conn.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert conn.next_response() is NEED_DATA
    conn.receive_data(b"6\r\nabcdef\r\n")
    assert conn.next_response() is NEED_DATA
    conn.receive_data(b"6\r\nabcdef\r\n")
    with pytest.raises(RemoteProtocolError, match="limit"):
        conn.next_response()
    with pytest.raises(LocalProtocolError):
        conn.send_request(build_hangup_call(CFG, "rtc_1"))


@pytest.mark.parametrize(
    "data",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
    ],
)
def test_malformed_or_truncated_responses(data: bytes) -> None:
    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    conn.receive_data(data)
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        while conn.next_response() is NEED_DATA:
            pass


def test_eof_before_response_and_retry_safety() -> None:
    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.next_response()
    assert not conn.retry_safe  # first request on a fresh connection: not a keep-alive race

    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    _feed(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn.send_request(build_hangup_call(CFG, "rtc_2"))
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.next_response()
    # Reused, no byte of an answer: the server may have read the POST and acted on it
    # before dropping the connection (issue 13.6), so it is not safe to send again.
    assert not conn.retry_safe and not conn.response_started

    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    _feed(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn.send_request(RestRequest("GET", "/v1/models", CFG.headers(), b""))
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.next_response()
    assert conn.retry_safe  # an idempotent method may be repeated (RFC 9110 9.2.2)

    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    _feed(conn, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    conn.send_request(build_hangup_call(CFG, "rtc_2"))
    conn.receive_data(b"HTTP/1.1 2")
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.next_response()
    assert not conn.retry_safe  # the server started answering: never resend


def test_data_after_eof_is_a_remote_error() -> None:
    conn = RestConnection()
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    conn.receive_data(b"")
    with pytest.raises(RemoteProtocolError):
        conn.receive_data(b"HTTP/1.1 200 OK\r\n")


def test_realtime_rest_pairs_requests_with_parsers() -> None:
    api = RealtimeRest(CFG)
    prepared = api.create_call(OFFER, session={"type": "realtime"}, boundary="zz")
    assert prepared.request.header("content-type") == "multipart/form-data; boundary=zz"
    assert prepared.parse(_resp(201, b"v=0\r\n", [("location", "/v1/realtime/calls/rtc_1")])) == (
        CallAnswer("v=0\r\n", "rtc_1")
    )
    api.reject_call("rtc_1").parse(_resp(200, b""))
    assert api.refer_call("rtc_1", "sip:a@b").request.target.endswith("/refer")
    assert api.accept_call("rtc_1", {"type": "realtime"}).request.target.endswith("/accept")
    assert api.hangup_call("rtc_1").request.target.endswith("/hangup")
    secret = api.create_client_secret(expires_after=60)
    assert _json(secret.request.body) == {"expires_after": {"anchor": "created_at", "seconds": 60}}


def test_body_delimited_by_connection_close() -> None:
    conn = RestConnection()
    conn.send_request(build_create_call(CFG, OFFER))
    conn.receive_data(b"HTTP/1.1 201 Created\r\nLocation: /v1/realtime/calls/rtc_5\r\n\r\nv=0\r\n")
    assert conn.next_response() is NEED_DATA
    conn.receive_data(b"s=-\r\n")
    conn.receive_data(b"")
    resp = conn.next_response()
    assert isinstance(resp, RestResponse)
    assert parse_call_answer(resp) == CallAnswer("v=0\r\ns=-\r\n", "rtc_5")
    assert not conn.reusable


@settings(max_examples=150)
@given(data=st.binary(max_size=300), splits=st.lists(st.integers(0, 300), max_size=5))
def test_connection_never_crashes_on_arbitrary_bytes(data: bytes, splits: list[int]) -> None:
    conn = RestConnection(max_response_size=64)
    conn.send_request(build_hangup_call(CFG, "rtc_1"))
    cuts = sorted({0, len(data), *[min(s, len(data)) for s in splits]})
    try:
        for a, b in zip(cuts, cuts[1:], strict=False):
            conn.receive_data(data[a:b])
        conn.receive_data(b"")
        while conn.next_response() is NEED_DATA:
            pass
    except RemoteProtocolError:
        assert not conn.reusable


@settings(max_examples=150)
@given(status=st.integers(100, 599), body=st.binary(max_size=200), location=st.text(max_size=30))
def test_parsers_raise_only_typed_errors(status: int, body: bytes, location: str) -> None:
    resp = _resp(status, body, [("location", location)])
    for parse in (parse_client_secret, parse_call_answer, parse_empty_response):
        try:
            parse(resp)
        except (APIError, RemoteProtocolError):
            pass


@pytest.mark.parametrize("parse", [parse_client_secret, parse_empty_response])
@pytest.mark.parametrize("status", [200, 400])
def test_deeply_nested_json_body_is_a_protocol_error(
    parse: Callable[[RestResponse], object], status: int
) -> None:
    # msgspec raises RecursionError on nesting this deep; it must not escape as such.
    body = b"[" * 200_000 + b"]" * 200_000
    response = RestResponse(status, [], body)
    if status == 200 and parse is parse_empty_response:
        assert parse(response) is None
        return
    with pytest.raises((RemoteProtocolError, APIError)):
        parse(response)
