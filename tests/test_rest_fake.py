"""oairt_core.testing.rest_fake: the fake REST endpoints, driven by the core builders and
parsers with no I/O at all."""

from __future__ import annotations

from typing import TypeVar

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core.errors import APIError, RemoteProtocolError
from oairt_core.models import RealtimeSessionConfig, TranscriptionSessionConfig
from oairt_core.rest import (
    PreparedRequest,
    RealtimeRest,
    RestConfig,
    RestRequest,
    RestResponse,
    parse_call_answer,
    parse_empty_response,
)
from oairt_core.testing.rest_fake import FakeCallState, FakeRestApi
from oairt_core.webhooks import RealtimeCallIncomingWebhookEvent, unwrap_webhook

T = TypeVar("T")
KEY = "sk-test-fake-1234567890"
OFFER = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\na=setup:actpass\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
)


def send(api: FakeRestApi, prepared: PreparedRequest[T]) -> T:
    return prepared.parse(raw(api, prepared.request))


def raw(api: FakeRestApi, req: RestRequest) -> RestResponse:
    headers = [(n.encode(), v.encode()) for n, v in req.headers]
    status, out_headers, body = api.handle(req.method, req.target, headers, req.body)
    return RestResponse(status, [(n.decode(), v.decode()) for n, v in out_headers], body)


@pytest.fixture
def api() -> FakeRestApi:
    return FakeRestApi({KEY})


@pytest.fixture
def rest() -> RealtimeRest:
    return RealtimeRest(RestConfig(KEY, base_url="http://127.0.0.1:1/v1"))


def test_client_secret_has_full_session_and_can_authenticate(
    api: FakeRestApi, rest: RealtimeRest
) -> None:
    secret = send(
        api,
        rest.create_client_secret(
            session=RealtimeSessionConfig(instructions="Be brief."), expires_after=60
        ),
    )
    token = secret.value.reveal()
    assert token.startswith("ek_")
    assert secret.expires_at == 1_750_000_060
    assert secret.session_id is not None and secret.session_id.startswith("sess_")
    assert secret.raw_session["object"] == "realtime.session"
    assert isinstance(secret.session, RealtimeSessionConfig)
    assert secret.session.instructions == "Be brief."
    assert secret.session.model == "gpt-realtime"
    assert api.is_valid_token(token)
    # The ek_ key creates a call whose session is the one bound to the secret.
    ek_rest = RealtimeRest(RestConfig(secret.value, base_url="http://127.0.0.1:1/v1"))
    answer = send(api, ek_rest.create_call(OFFER))
    assert answer.call_id is not None
    session = api.calls[answer.call_id].session
    assert session is not None and session["instructions"] == "Be brief."
    # A client secret cannot mint client secrets.
    with pytest.raises(APIError) as info:
        send(api, ek_rest.create_client_secret())
    assert info.value.status_code == 401


def test_transcription_client_secret(api: FakeRestApi, rest: RealtimeRest) -> None:
    secret = send(api, rest.create_client_secret(session=TranscriptionSessionConfig()))
    assert isinstance(secret.session, TranscriptionSessionConfig)
    assert secret.raw_session["object"] == "realtime.transcription_session"
    assert secret.expires_at == 1_750_000_600


def test_expired_client_secret_is_refused() -> None:
    now = [1000.0]
    api = FakeRestApi({KEY}, clock=lambda: now[0])
    rest = RealtimeRest(RestConfig(KEY, base_url="http://h/v1"))
    secret = send(api, rest.create_client_secret(expires_after=10))
    now[0] += 11
    assert not api.is_valid_token(secret.value.reveal())
    with pytest.raises(APIError) as info:
        send(api, RealtimeRest(RestConfig(secret.value, base_url="http://h/v1")).create_call(OFFER))
    assert (info.value.status_code, info.value.code) == (401, "invalid_api_key")


def test_webrtc_call_raw_and_multipart(api: FakeRestApi, rest: RealtimeRest) -> None:
    for session in (None, RealtimeSessionConfig(instructions="multipart")):
        answer = send(api, rest.create_call(OFFER, session=session))
        assert answer.call_id is not None and answer.call_id.startswith("rtc_")
        assert api.is_active_call(answer.call_id)
        lines = answer.sdp.split("\r\n")
        assert lines[0] == "v=0"
        m_lines = [ln for ln in lines if ln.startswith("m=")]
        assert m_lines == [
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        ]
        assert "a=setup:active" in lines and "a=group:BUNDLE 0 1" in lines
        assert any(ln.startswith("a=fingerprint:sha-256 ") for ln in lines)
    assert answer.call_id is not None
    multipart_call = api.calls[answer.call_id]
    assert multipart_call.kind == "webrtc" and multipart_call.session is not None
    assert multipart_call.session["instructions"] == "multipart"
    send(api, rest.hangup_call(answer.call_id))
    assert not api.is_active_call(answer.call_id)
    assert api.calls[answer.call_id].state is FakeCallState.ENDED


def test_sip_flow_accept_refer(api: FakeRestApi, rest: RealtimeRest) -> None:
    call_id, headers, body = api.simulate_incoming_sip_call()
    event = unwrap_webhook(body, headers, secret=api.webhook_secret, now=1_750_000_001)
    assert isinstance(event, RealtimeCallIncomingWebhookEvent)
    assert event.data.call_id == call_id
    assert [h.name for h in event.data.sip_headers] == ["From", "To", "Call-ID"]
    assert event.data.sip_media_security == "srtp"
    assert not api.is_active_call(call_id)
    with pytest.raises(APIError) as info:
        send(api, rest.refer_call(call_id, "tel:+14155550100"))
    assert (info.value.status_code, info.value.code) == (400, "invalid_call_state")
    send(api, rest.accept_call(call_id, RealtimeSessionConfig(instructions="Answer calls.")))
    assert api.is_active_call(call_id)
    with pytest.raises(APIError):
        send(api, rest.accept_call(call_id, {"type": "realtime"}))
    send(api, rest.refer_call(call_id, "sip:frontdesk@example.com"))
    call = api.calls[call_id]
    assert (call.state, call.refer_target, call.end_reason) == (
        FakeCallState.ENDED,
        "sip:frontdesk@example.com",
        "referred",
    )
    with pytest.raises(APIError):
        send(api, rest.hangup_call(call_id))


def test_sip_reject(api: FakeRestApi, rest: RealtimeRest) -> None:
    call_id, _, _ = api.simulate_incoming_sip_call(sip_headers=[("X-Tenant", "t1")])
    send(api, rest.reject_call(call_id, 486))
    assert api.calls[call_id].reject_status == 486
    assert not api.is_active_call(call_id)
    other, _, _ = api.simulate_incoming_sip_call()
    send(api, rest.reject_call(other))
    assert api.calls[other].reject_status == 603
    with pytest.raises(APIError):
        send(api, rest.accept_call(other, {"type": "realtime"}))


def test_unknown_call_is_404(api: FakeRestApi, rest: RealtimeRest) -> None:
    for prepared in (
        rest.hangup_call("rtc_nope"),
        rest.accept_call("rtc_nope", {"type": "realtime"}),
        rest.reject_call("rtc_nope"),
        rest.refer_call("rtc_nope", "tel:+1"),
    ):
        with pytest.raises(APIError) as info:
            send(api, prepared)
        assert (info.value.status_code, info.value.code) == (404, "call_not_found")
        assert info.value.error_type == "invalid_request_error"


def test_auth_errors(api: FakeRestApi, rest: RealtimeRest) -> None:
    req = rest.hangup_call("rtc_1").request
    no_auth = RestRequest(
        req.method, req.target, [h for h in req.headers if h[0] != "Authorization"], b""
    )
    with pytest.raises(APIError) as info:
        parse_empty_response(raw(api, no_auth))
    assert (info.value.status_code, info.value.code) == (401, "missing_api_key")
    bad = RealtimeRest(RestConfig("sk-wrong-0000000000", base_url="http://h/v1"))
    with pytest.raises(APIError) as info:
        send(api, bad.create_client_secret())
    assert (info.value.status_code, info.value.code) == (401, "invalid_api_key")
    assert "sk-wrong" not in str(info.value)


def _post(
    rest: RealtimeRest, path: str, body: bytes, ctype: str = "application/json"
) -> RestRequest:
    headers = rest.config.headers() + [("Content-Type", ctype)]
    return RestRequest("POST", "/v1/realtime/" + path, headers, body)


@pytest.mark.parametrize(
    ("path", "body", "ctype", "param"),
    [
        ("client_secrets", b"{not json", "application/json", None),
        ("client_secrets", b"[]", "application/json", None),
        ("client_secrets", b'"\x80"', "application/json", None),  # invalid UTF-8 in a string
        ("client_secrets", b"[" * 100_000 + b"]" * 100_000, "application/json", None),
        (
            "client_secrets",
            b'{"expires_after":{"seconds":5}}',
            "application/json",
            "expires_after.seconds",
        ),
        (
            "client_secrets",
            b'{"expires_after":{"anchor":"now"}}',
            "application/json",
            "expires_after.anchor",
        ),
        ("client_secrets", b'{"session":{"model":"x"}}', "application/json", "session.type"),
        ("client_secrets", b'{"session":"realtime"}', "application/json", "session"),
        ("calls", b"hello", "application/sdp", "sdp"),
        ("calls", b"\xff\xfe", "application/sdp", "sdp"),
        ("calls", b"v=0\r\n", "application/sdp", "sdp"),
        ("calls", b"v=0\r\nm=audio\r\n", "application/sdp", "sdp"),
        ("calls", b"v=0", "text/plain", "content-type"),
        ("calls", b"--b\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b", "body"),
        ("calls", b"junk", "multipart/form-data", "content-type"),
        ("calls", b"junk", "multipart/form-data; boundary=b", "body"),
        (
            "calls",
            b'--b\r\nContent-Disposition: form-data; name="session"\r\n\r\n{}\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "sdp",
        ),
        (
            "calls",
            b'--b\r\nContent-Disposition: form-data; name="sdp"\r\n\r\n'
            b"v=0\r\nm=audio 9 RTP/AVP 0\r\n"
            b'--b\r\nContent-Disposition: form-data; name="session"\r\n\r\n{"type":"transcription"}'
            b"\r\n--b--\r\n",
            "multipart/form-data; boundary=b",
            "session.type",
        ),
    ],
)
def test_bad_bodies_are_400_with_param(
    api: FakeRestApi, rest: RealtimeRest, path: str, body: bytes, ctype: str, param: str | None
) -> None:
    with pytest.raises(APIError) as info:
        parse_empty_response(raw(api, _post(rest, path, body, ctype)))
    assert info.value.status_code == 400
    assert info.value.error_type == "invalid_request_error"
    assert info.value.param == param


def test_control_call_bad_bodies(api: FakeRestApi, rest: RealtimeRest) -> None:
    call_id, _, _ = api.simulate_incoming_sip_call()
    for action, body, param in (
        ("accept", b"{}", "type"),
        ("accept", b'{"type":"transcription"}', "type"),
        ("reject", b'{"status_code":200}', "status_code"),
        ("reject", b"nope", None),
    ):
        with pytest.raises(APIError) as info:
            parse_empty_response(raw(api, _post(rest, f"calls/{call_id}/{action}", body)))
        assert (info.value.status_code, info.value.param) == (400, param)
    send(api, rest.accept_call(call_id, {"type": "realtime"}))
    for body, param in ((b"{}", "target_uri"), (b'{"target_uri":"http://x"}', "target_uri")):
        with pytest.raises(APIError) as info:
            parse_empty_response(raw(api, _post(rest, f"calls/{call_id}/refer", body)))
        assert (info.value.status_code, info.value.param) == (400, param)
    assert api.is_active_call(call_id)


def test_routing_404_405_and_log(api: FakeRestApi, rest: RealtimeRest) -> None:
    for target in (
        "/v1/realtime/sessions",
        "/v2/realtime/calls",
        "/v1/realtime/calls/x/y/z",
        "/v1/realtime/calls/rtc_1/transfer",
    ):
        req = RestRequest("POST", target, rest.config.headers(), b"")
        assert raw(api, req).status_code == 404
    resp = raw(api, RestRequest("GET", "/v1/realtime/calls?x=1", rest.config.headers(), b""))
    assert resp.status_code == 405
    assert api.log[-1] == ("GET", "/v1/realtime/calls", 405)


def test_answer_derived_from_offer_is_stable_and_sdp_shaped(api: FakeRestApi) -> None:
    status, headers, body = api.handle(
        "POST",
        "/v1/realtime/calls",
        [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", b"application/sdp")],
        b"v=0\r\nm=audio 9 RTP/AVP 0 8\r\na=recvonly\r\n",
    )
    assert status == 201
    resp = RestResponse(status, [(n.decode(), v.decode()) for n, v in headers], body)
    answer = parse_call_answer(resp)
    assert "m=audio 9 RTP/AVP 0" in answer.sdp and "a=sendonly" in answer.sdp
    assert answer.sdp.endswith("\r\n")


def test_simulated_webhook_is_deterministic_per_seed_and_verifiable() -> None:
    a = FakeRestApi({KEY}, seed=7).simulate_incoming_sip_call(timestamp=123)
    b = FakeRestApi({KEY}, seed=7).simulate_incoming_sip_call(timestamp=123)
    assert a == b
    event = msgspec.json.decode(a[2])
    assert event["type"] == "realtime.call.incoming" and event["created_at"] == 123
    with pytest.raises(RemoteProtocolError):
        parse_call_answer(RestResponse(201, [], b"not sdp"))


def test_any_key_mode_still_checks_client_secrets() -> None:
    now = [0.0]
    api = FakeRestApi(None, clock=lambda: now[0])
    rest = RealtimeRest(RestConfig("sk-anything-goes", base_url="http://h/v1"))
    secret = send(api, rest.create_client_secret(expires_after=10))
    assert api.is_valid_token("whatever") and api.is_valid_token(secret.value.reveal())
    assert not api.is_valid_token("") and not api.is_valid_token("ek_forged123")
    now[0] = 11
    assert not api.is_valid_token(secret.value.reveal())


@settings(max_examples=40, deadline=None)
@given(
    extra=st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=40),
    instructions=st.text(st.characters(exclude_categories=["Cs"]), max_size=60),
)
def test_multipart_round_trip_property(extra: str, instructions: str) -> None:
    api = FakeRestApi({KEY})
    rest = RealtimeRest(RestConfig(KEY, base_url="http://h/v1"))
    offer = OFFER + f"a=x-note:{extra}\r\n"
    session = RealtimeSessionConfig(instructions=instructions)
    answer = send(api, rest.create_call(offer, session=session))
    assert answer.call_id is not None
    stored = api.calls[answer.call_id].session
    assert stored is not None and stored["instructions"] == instructions


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["POST", "GET", "DELETE", "post"]),
    target=st.one_of(
        st.text(max_size=40),
        st.sampled_from(["/v1/realtime/calls", "/v1/realtime/client_secrets"]),
        st.builds(
            lambda s, a: f"/v1/realtime/calls/{s}/{a}",
            st.text(max_size=8),
            st.sampled_from(["accept", "reject", "refer", "hangup"]),
        ),
    ),
    ctype=st.sampled_from(
        [b"application/json", b"application/sdp", b"multipart/form-data; boundary=b", b""]
    ),
    body=st.binary(max_size=120),
)
def test_fake_always_answers_with_a_status(
    method: str, target: str, ctype: bytes, body: bytes
) -> None:
    api = FakeRestApi({KEY})
    api.simulate_incoming_sip_call()
    headers = [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", ctype)]
    status, out_headers, out_body = api.handle(method, target, headers, body)
    assert 200 <= status < 600
    if status >= 400:
        assert "error" in msgspec.json.decode(out_body)
