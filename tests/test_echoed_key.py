"""Issue 13.7: a server that echoes the configured key, in any shape, never gets it shown.

The key here has no ``sk-`` prefix (a gateway token), so the generic credential patterns
cannot catch it: only the redactor that knows the key can. The WebSocket scenarios run
on anyio-asyncio and anyio-trio, and on the native trio adapter; the REST ones on both
REST clients.
"""

from __future__ import annotations

import base64
import json
import pickle
import traceback
from typing import Any
from urllib.parse import quote

import anyio
import pytest
import trio

import oairt_anyio
import oairt_trio
from oairt_core._redact import REDACTED, Redactor, Secret, redact_server_text
from oairt_core.connection import RealtimeConnection
from oairt_core.errors import APIError, ConnectionClosedError, HandshakeError, RemoteProtocolError
from oairt_core.rest import RealtimeRest, RestConfig, RestConnection, RestResponse
from tests.support.restserver import serve_rest
from tests.support.wsserver import ServerConn, serve

KEY = "abc123-custom-gateway-token-Q9x7Zk2L"
ENCODINGS = {
    "plain": KEY,
    "percent": "".join(f"%{b:02X}" for b in KEY.encode()),
    "percent-lower-mixed": quote(KEY, safe="").replace("-", "%2d"),
    "json-escaped": json.dumps(KEY).strip('"').replace("-", "\\u002d"),
    "bytes-repr": repr(bytearray(f"X-Echo {KEY}".encode())),
    "base64": base64.b64encode(f"user:{KEY}".encode()).decode(),
    "base64-aligned": base64.b64encode(KEY.encode()).decode(),
    "cut-by-a-cap": f"token {KEY[:20]}",
}


def assert_clean(text: str) -> None:
    # Any 12 characters of the key, in the clear or in base64, count as a leak.
    for i in range(len(KEY) - 11):
        assert KEY[i : i + 12] not in text, f"key leaked: {text[:200]!r}"
    assert base64.b64encode(KEY.encode()).decode()[4:20] not in text, "base64 key leaked"


def exception_text(exc: BaseException) -> str:
    return "\n".join(
        [str(exc), repr(exc), repr(exc.args), repr(vars(exc)), *traceback.format_exception(exc)]
    )


# -- the redactor -------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_the_redactor_removes_the_known_key_in_every_encoding(name: str) -> None:
    text = f"error: the key {ENCODINGS[name]} is not valid"
    clean = Redactor(Secret(KEY)).text(text)
    assert_clean(clean)
    assert REDACTED in clean and clean.startswith("error: the key ")
    assert redact_server_text(text, Secret(KEY)) == clean


def test_the_redactor_shows_nothing_of_itself() -> None:
    r = Redactor(Secret(KEY), "another-secret-value-123")
    assert repr(r) == "Redactor(<2 secrets>)"
    with pytest.raises(TypeError):
        pickle.dumps(r)
    assert Redactor().text("plain words stay") == "plain words stay"
    assert (
        Redactor(Secret(KEY)).text("no key here, custom gateway") == "no key here, custom gateway"
    )


# -- WebSocket ----------------------------------------------------------------------


def test_the_authorization_header_is_not_kept_in_plain_attributes() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    assert_clean(repr(vars(conn)))
    assert_clean(repr(conn))
    wire = conn.initiate()  # the header is built here, for the upgrade request only
    assert f"Authorization: Bearer {KEY}".encode() in wire
    assert_clean(repr(vars(conn)))
    with pytest.raises(TypeError):
        pickle.dumps(conn)


def _closer(reason: str) -> Any:
    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.close(1008, reason)

    return handler


CLOSE_REASONS = ["Bearer " + KEY, "key=" + ENCODINGS["percent"][:110], KEY.upper()]


@pytest.mark.anyio
@pytest.mark.parametrize("reason", CLOSE_REASONS)
async def test_a_close_reason_echoing_the_key_is_redacted(reason: str) -> None:
    with anyio.fail_after(10):
        async with serve(_closer(reason)) as server:
            with pytest.raises(ConnectionClosedError) as info:
                async with oairt_anyio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=server.url
                ) as conn:
                    async for _ in conn:
                        pass
                    await conn.next_event()
    assert info.value.code == 1008 and REDACTED in info.value.reason
    assert_clean(exception_text(info.value))


@pytest.mark.parametrize("reason", CLOSE_REASONS)
def test_a_close_reason_echoing_the_key_is_redacted_on_trio(reason: str) -> None:
    async def main() -> ConnectionClosedError:
        with trio.fail_after(10):
            async with serve(_closer(reason)) as server:
                try:
                    async with oairt_trio.open_realtime(
                        api_key=KEY, model="gpt-realtime", base_url=server.url
                    ) as conn:
                        async for _ in conn:
                            pass
                        await conn.next_event()
                except ConnectionClosedError as exc:
                    return exc
        raise AssertionError("no ConnectionClosedError")

    exc = trio.run(main)
    assert exc.code == 1008
    assert_clean(exception_text(exc))


@pytest.mark.anyio
async def test_a_rejected_handshake_echoing_the_key_anywhere_is_redacted() -> None:
    body = {
        "error": {
            "message": f"bad key {ENCODINGS['percent']}",
            "type": f"invalid_key:{KEY}",
            "code": f"key_{ENCODINGS['json-escaped']}",
            "param": f"Authorization: Bearer {KEY}",
        },
        "echo": f"https://gw.example/?key={quote(KEY, safe='')}",
    }

    async def handler(conn: ServerConn) -> None:
        await conn.reject(401, body, headers=[(b"x-echo", f"Bearer {KEY}".encode())])

    with anyio.fail_after(10):
        async with serve(handler) as server:
            with pytest.raises(HandshakeError) as info:
                async with oairt_anyio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=server.url
                ):
                    pass
    assert info.value.status_code == 401 and info.value.error_type == f"invalid_key:{REDACTED}"
    assert_clean(exception_text(info.value))


def test_a_rejection_body_and_its_fields_are_redacted_in_the_core() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    conn.initiate()
    body = (
        json.dumps(
            {"error": {"message": "no", "type": KEY, "code": ENCODINGS["percent"], "param": KEY}}
        ).encode()
        + f" ?key={quote(KEY, safe='')}".encode()
    )
    conn.receive_data(
        b"HTTP/1.1 401 Unauthorized\r\ncontent-length: %d\r\nx-echo: %s\r\n\r\n%s"
        % (len(body), KEY.encode(), body)
    )
    rejected = conn.next_event()
    assert_clean(repr(rejected))
    assert_clean(exception_text(rejected.exception()))  # type: ignore[union-attr]


# -- REST ---------------------------------------------------------------------------


def test_rest_error_fields_echoing_the_key_are_redacted() -> None:
    api = RealtimeRest(RestConfig(KEY, base_url="http://127.0.0.1:9/v1"))
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {ENCODINGS['percent']}",
                "type": f"invalid:{KEY}",
                "code": KEY,
                "param": ENCODINGS["base64"],
            }
        }
    ).encode()
    prepared = api.hangup_call("rtc_1")
    with pytest.raises(APIError) as info:
        prepared.parse(RestResponse(401, [], body))
    assert info.value.status_code == 401 and info.value.code == REDACTED
    assert_clean(exception_text(info.value))


def test_h11_messages_quoting_an_echoed_header_are_redacted() -> None:
    # h11 quotes the bad header line: "illegal header line: bytearray(b'X-Echo ...')".
    conn = RestConnection(redactor=Redactor(Secret(KEY)))
    conn.send_request(RealtimeRest(RestConfig(KEY)).hangup_call("rtc_1").request)
    conn.receive_data(b"HTTP/1.1 200 OK\r\nX-Echo Bearer " + KEY.encode() + b"\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="invalid HTTP response") as info:
        conn.next_response()
    assert_clean(exception_text(info.value))


async def _rest_errors(make: Any) -> list[BaseException]:
    def handler(method: str, target: str, headers: Any, body: bytes) -> Any:
        err = {"error": {"message": "denied", "type": KEY, "code": KEY, "param": KEY}}
        return 403, [(b"content-type", b"application/json")], json.dumps(err).encode()

    errors: list[BaseException] = []
    async with (
        serve_rest(handler) as server,
        make(KEY, base_url=server.base_url, timeout=10) as rest,
    ):
        try:
            await rest.hangup_call("rtc_1")
        except APIError as exc:
            errors.append(exc)
        server.raw_response = b"HTTP/1.1 200 OK\r\nX-Echo Bearer " + KEY.encode() + b"\r\n\r\n"
        try:
            await rest.hangup_call("rtc_1")
        except RemoteProtocolError as exc:
            errors.append(exc)
    return errors


@pytest.mark.anyio
async def test_the_anyio_rest_client_redacts_the_key_a_server_echoes() -> None:
    errors = await _rest_errors(oairt_anyio.RealtimeRestClient)
    assert [type(e) for e in errors] == [APIError, RemoteProtocolError]
    for exc in errors:
        assert_clean(exception_text(exc))


def test_the_trio_rest_client_redacts_the_key_a_server_echoes() -> None:
    errors = trio.run(_rest_errors, oairt_trio.RealtimeRestClient)
    assert [type(e) for e in errors] == [APIError, RemoteProtocolError]
    for exc in errors:
        assert_clean(exception_text(exc))


def test_a_huge_error_field_is_cut_and_still_redacted() -> None:
    api = RealtimeRest(RestConfig(KEY, base_url="http://127.0.0.1:9/v1"))
    message = "x" * 4090 + KEY + "y" * 1_000_000
    body = json.dumps({"error": {"message": message, "type": "t" * 1_000_000}}).encode()
    with pytest.raises(APIError) as info:
        api.hangup_call("rtc_1").parse(RestResponse(400, [], body))
    assert info.value.message.endswith(f"...({len(message)} chars)")
    assert len(info.value.message) < 4200 and len(info.value.error_type or "") < 4200
    assert_clean(exception_text(info.value))  # the key, cut by the cap, is still scrubbed


def test_voice_error_event_redacts_the_known_key_in_every_field() -> None:
    """A server ``error`` event quoting the configured key reaches the app redacted."""
    from oairt_core import codec
    from oairt_core.voice import Error, VoiceConfig, VoiceSession

    key = "abc123-custom-gateway-token"
    session = VoiceSession(VoiceConfig(api_key=Secret(key)))
    raw = (
        '{"type":"error","event_id":"e1","error":{"type":"invalid_request_error KEY",'
        '"code":"bad KEY","param":"p KEY","message":"key KEY refused"}}'
    ).replace("KEY", key)
    actions = session.feed(codec.decode_server_event(raw.encode()), now=0.0)
    errors = [e for e in actions.deliver if isinstance(e, Error)]
    assert len(errors) == 1
    err = errors[0]
    for value in (err.message, err.type, err.code, err.param, repr(err)):
        assert value is not None
        assert key not in value
    assert "[REDACTED]" in err.message
