"""``RealtimeRestClient`` over loopback against FakeRestApi, on every adapter.

Each test runs on anyio-asyncio, anyio-trio and native trio (the ``adapter`` fixture
behind ``make_client``).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

import anyio
import pytest

from oairt_core.errors import (
    APIError,
    ConnectError,
    ConnectionClosedError,
    LocalProtocolError,
    RemoteProtocolError,
    RequestOutcomeUnknown,
    RequestTimeout,
)
from oairt_core.models import AudioConfig, AudioOutputConfig, RealtimeSessionConfig
from oairt_core.rest import ClientSecret, PreparedRequest, RestRequest, parse_empty_response
from oairt_core.testing.rest_fake import FakeCallState, FakeRestApi
from oairt_core.webhooks import RealtimeCallIncomingWebhookEvent, unwrap_webhook
from tests.conftest import Adapter
from tests.support.restserver import make_test_tls_contexts, serve_rest

KEY = "sk-test-adapter-SECRET-1234"
OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
)

pytestmark = pytest.mark.anyio


class Client(Protocol):
    connections_opened: int

    async def __aenter__(self) -> Client: ...
    async def __aexit__(self, *exc: object) -> None: ...
    async def aclose(self) -> None: ...
    async def create_client_secret(
        self, *, session: Any = None, expires_after: Any = None
    ) -> ClientSecret: ...
    async def create_call(self, sdp: str, *, session: Any = None) -> Any: ...
    async def accept_call(self, call_id: str, session: Any) -> None: ...
    async def reject_call(self, call_id: str, status_code: int | None = None) -> None: ...
    async def refer_call(self, call_id: str, target_uri: str) -> None: ...
    async def hangup_call(self, call_id: str) -> None: ...
    async def request(self, prepared: PreparedRequest[Any]) -> Any: ...


MakeClient = Callable[..., Client]


@pytest.fixture
def make_client(adapter: Adapter) -> MakeClient:
    client: MakeClient = adapter.RealtimeRestClient
    return client


def test_the_adapter_client_is_the_one_under_test(
    adapter: Adapter, make_client: MakeClient
) -> None:
    assert make_client is adapter.module.RealtimeRestClient
    assert make_client.__module__.split(".")[0] == adapter.module.__name__


@pytest.fixture
def fake() -> FakeRestApi:
    return FakeRestApi({KEY})


async def test_webrtc_flow(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with serve_rest(fake.handle) as server:
        async with make_client(KEY, base_url=server.base_url, timeout=10) as rest:
            secret = await rest.create_client_secret(
                session=RealtimeSessionConfig(
                    model="gpt-realtime", audio=AudioConfig(output=AudioOutputConfig(voice="marin"))
                ),
                expires_after=600,
            )
            assert secret.value.reveal().startswith("ek_")
            assert isinstance(secret.session, RealtimeSessionConfig)
        # The browser side: the ek_ key posts the offer.
        async with make_client(secret.value, base_url=server.base_url, timeout=10) as browser:
            answer = await browser.create_call(OFFER)
        assert answer.sdp.startswith("v=0\r\n") and "m=audio" in answer.sdp
        assert answer.call_id is not None and fake.is_active_call(answer.call_id)
        async with make_client(KEY, base_url=server.base_url, timeout=10) as rest:
            await rest.hangup_call(answer.call_id)
        assert fake.calls[answer.call_id].state is FakeCallState.ENDED
        # Each request carried the right credentials and content types.
        calls_req = [r for r in server.requests if r[1] == "/v1/realtime/calls"][0]
        hdrs = {k.lower(): v for k, v in calls_req[2]}
        assert hdrs[b"content-type"] == b"application/sdp"
        assert hdrs[b"accept"] == b"application/sdp"
        assert hdrs[b"authorization"] == b"Bearer " + secret.value.reveal().encode()


async def test_webrtc_multipart_with_session(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with (
        serve_rest(fake.handle) as server,
        make_client(KEY, base_url=server.base_url) as rest,
    ):
        answer = await rest.create_call(OFFER, session=RealtimeSessionConfig(instructions="Hi"))
        assert answer.call_id is not None
        session = fake.calls[answer.call_id].session
        assert session is not None and session["instructions"] == "Hi"
        await rest.hangup_call(answer.call_id)


async def test_sip_flow_accept_then_refer(make_client: MakeClient, fake: FakeRestApi) -> None:
    call_id, headers, body = fake.simulate_incoming_sip_call(timestamp=int(time.time()))
    # What a webhook endpoint does with the POST it receives:
    event = unwrap_webhook(body, headers, secret=fake.webhook_secret, now=time.time())
    assert isinstance(event, RealtimeCallIncomingWebhookEvent)
    assert event.data.call_id == call_id
    async with serve_rest(fake.handle) as server:
        async with make_client(KEY, base_url=server.base_url) as rest:
            await rest.accept_call(
                event.data.call_id,
                RealtimeSessionConfig(model="gpt-realtime", instructions="You answer the phone."),
            )
            # Here the app would open the sideband WebSocket with ?call_id=...
            assert fake.is_active_call(call_id)
            await rest.refer_call(call_id, "tel:+14155550123")
        assert fake.calls[call_id].refer_target == "tel:+14155550123"
        assert not fake.is_active_call(call_id)


async def test_sip_flow_reject_and_hangup(make_client: MakeClient, fake: FakeRestApi) -> None:
    rejected, _, _ = fake.simulate_incoming_sip_call()
    answered, _, _ = fake.simulate_incoming_sip_call()
    async with (
        serve_rest(fake.handle) as server,
        make_client(KEY, base_url=server.base_url) as rest,
    ):
        await rest.reject_call(rejected, 486)
        await rest.accept_call(answered, {"type": "realtime", "instructions": "Hello"})
        await rest.hangup_call(answered)
    assert fake.calls[rejected].reject_status == 486
    assert fake.calls[answered].end_reason == "hangup"


async def test_401_404_400_are_typed_api_errors(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with serve_rest(fake.handle) as server:
        async with make_client("sk-wrong-key-0000", base_url=server.base_url) as bad:
            with pytest.raises(APIError) as info:
                await bad.create_client_secret()
            assert (info.value.status_code, info.value.code) == (401, "invalid_api_key")
        async with make_client(KEY, base_url=server.base_url) as rest:
            with pytest.raises(APIError) as info:
                await rest.hangup_call("rtc_unknown")
            assert (info.value.status_code, info.value.code) == (404, "call_not_found")
            bad_body = RestRequest(
                "POST",
                "/v1/realtime/client_secrets",
                rest.api.config.headers()  # type: ignore[attr-defined]
                + [("Content-Type", "application/json"), ("Content-Length", "8")],
                b"{broken}",
            )
            with pytest.raises(APIError) as info:
                await rest.request(PreparedRequest(bad_body, parse_empty_response))
            assert (info.value.status_code, info.value.code) == (400, "invalid_json")
            # Errors left the kept-alive connection usable.
            assert rest.connections_opened == 1
            await rest.create_client_secret()
            assert rest.connections_opened == 1


async def test_keep_alive_reuses_one_connection(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with serve_rest(fake.handle) as server:
        async with make_client(KEY, base_url=server.base_url) as rest:
            for _ in range(4):
                await rest.create_client_secret()
            assert rest.connections_opened == 1
        assert server.connections == 1
        assert len(server.requests) == 4


async def test_chunked_responses(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with serve_rest(fake.handle) as server:
        server.chunked = True
        async with make_client(KEY, base_url=server.base_url) as rest:
            secret = await rest.create_client_secret()
            answer = await rest.create_call(OFFER)
            assert secret.value.reveal().startswith("ek_")
            assert answer.sdp.startswith("v=0") and answer.call_id is not None
            assert rest.connections_opened == 1


async def test_server_closing_between_requests(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with serve_rest(fake.handle) as server:
        server.close_after_response = True
        async with make_client(KEY, base_url=server.base_url) as rest:
            for n in range(1, 4):
                await rest.create_client_secret()
                await server.wait_closed(n)
        # Every request after the first found its idle connection closed before writing
        # (the probe) and went out once on a new one.
        assert server.connections == 3
        assert len(server.requests) == 3


def _ok(method: str, target: str, headers: Any, body: bytes) -> Any:
    return 200, [(b"content-length", b"0")], b""


async def test_a_post_the_server_read_then_dropped_is_not_sent_again(
    make_client: MakeClient,
) -> None:
    # Issue 13.6: the server reads the refer on the kept-alive connection, acts on it
    # (the call is transferred) and drops the connection before answering. Sending it
    # again would transfer the call twice (RFC 9110 9.2.2).
    async with (
        serve_rest(_ok) as server,
        make_client(KEY, base_url=server.base_url, timeout=10) as rest,
    ):
        await rest.hangup_call("rtc_0")
        server.drop_unanswered = frozenset({2})
        with pytest.raises(RequestOutcomeUnknown, match="may or may not have processed it") as info:
            await rest.refer_call("rtc_1", "tel:+15550100")
        assert info.value.method == "POST" and info.value.target.endswith("/rtc_1/refer")
        targets = [target for _, target, _, _ in server.requests]
        assert targets == ["/v1/realtime/calls/rtc_0/hangup", "/v1/realtime/calls/rtc_1/refer"]
        # The client goes on, on a new connection.
        await rest.hangup_call("rtc_1")
        assert len(server.requests) == 3 and rest.connections_opened == 2


async def test_a_first_request_dropped_unanswered_is_an_unknown_outcome(
    make_client: MakeClient,
) -> None:
    async with (
        serve_rest(_ok) as server,
        make_client(KEY, base_url=server.base_url, timeout=10) as rest,
    ):
        server.drop_unanswered = frozenset({1})
        with pytest.raises(RequestOutcomeUnknown):
            await rest.accept_call("rtc_1", RealtimeSessionConfig(model="gpt-realtime"))
        assert len(server.requests) == 1


async def test_connection_close_header_is_honoured(make_client: MakeClient) -> None:
    def handler(method: str, target: str, headers: Any, body: bytes) -> Any:
        return 200, [(b"connection", b"close"), (b"content-length", b"0")], b""

    async with (
        serve_rest(handler) as server,
        make_client(KEY, base_url=server.base_url) as rest,
    ):
        await rest.hangup_call("rtc_1")
        await rest.hangup_call("rtc_2")
        assert rest.connections_opened == 2


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nnot json!",
        b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"value":"x"',
        b"garbage that is not http\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ntruncated",
        b"",
    ],
)
async def test_malformed_responses_are_remote_protocol_errors(
    make_client: MakeClient, fake: FakeRestApi, raw: bytes
) -> None:
    async with (
        serve_rest(fake.handle) as server,
        make_client(KEY, base_url=server.base_url) as rest,
    ):
        server.raw_response = raw
        with pytest.raises(RemoteProtocolError):
            await rest.create_client_secret()
        # The client recovers on a fresh connection.
        server.raw_response = None
        secret = await rest.create_client_secret()
        assert secret.value.reveal().startswith("ek_")


async def test_oversized_response_is_refused(make_client: MakeClient, fake: FakeRestApi) -> None:
    async with (
        serve_rest(fake.handle) as server,
        make_client(KEY, base_url=server.base_url, max_response_size=200) as rest,
    ):
        with pytest.raises(RemoteProtocolError, match="limit"):
            await rest.create_client_secret()
        server.chunked = True
        with pytest.raises(RemoteProtocolError, match="limit"):
            await rest.create_client_secret()
        with pytest.raises(APIError):  # small bodies still fine
            await rest.hangup_call("rtc_unknown")


async def test_bad_call_id_is_refused_before_sending(
    make_client: MakeClient, fake: FakeRestApi
) -> None:
    async with serve_rest(fake.handle) as server:
        async with make_client(KEY, base_url=server.base_url) as rest:
            for bad in ("rtc_1\r\nX-Evil: 1", "../client_secrets", "a/b", "a?b", "a b"):
                with pytest.raises(LocalProtocolError):
                    await rest.hangup_call(bad)
                with pytest.raises(LocalProtocolError):
                    await rest.refer_call("rtc_1", "tel:+1\r\nX: 1")
            assert rest.connections_opened == 0
        assert server.connections == 0 and server.requests == []


async def test_timeout_is_typed_and_the_client_recovers(
    make_client: MakeClient, fake: FakeRestApi
) -> None:
    async with serve_rest(fake.handle) as server:
        server.stall = True
        # Long enough that connecting never eats it on a loaded machine: the timeout must
        # hit while the server holds the request, on a connection in use.
        async with make_client(KEY, base_url=server.base_url, timeout=1.0) as rest:
            with pytest.raises(RequestTimeout) as info:
                await rest.create_client_secret()
            assert isinstance(info.value, TimeoutError)
            assert len(server.requests) == 1 and rest.connections_opened == 1
            server.stall = False
            await rest.create_client_secret()
            assert rest.connections_opened == 2


async def test_cancellation_drops_the_half_used_connection(
    make_client: MakeClient, fake: FakeRestApi
) -> None:
    async with serve_rest(fake.handle) as server:
        server.stall = True
        async with make_client(KEY, base_url=server.base_url, timeout=30) as rest:
            async with anyio.create_task_group() as tg:
                tg.start_soon(rest.create_client_secret)
                while not server.requests:  # cancelled once the server holds the request
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
            server.stall = False
            await rest.create_client_secret()
            assert rest.connections_opened == 2


async def test_concurrent_calls_share_the_connection_one_at_a_time(
    make_client: MakeClient, fake: FakeRestApi
) -> None:
    results: list[str] = []
    async with (
        serve_rest(fake.handle) as server,
        make_client(KEY, base_url=server.base_url) as rest,
    ):

        async def one() -> None:
            secret = await rest.create_client_secret()
            results.append(secret.value.reveal())

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one)
        assert rest.connections_opened == 1
    assert len(set(results)) == 5


async def test_connection_refused_is_a_connect_error(make_client: MakeClient) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    async with make_client(KEY, base_url=f"http://127.0.0.1:{port}/v1", timeout=5) as rest:
        with pytest.raises(ConnectError) as info:
            await rest.hangup_call("rtc_1")
    assert isinstance(info.value, ConnectionClosedError) and info.value.code == 1006
    assert f"127.0.0.1:{port}" in str(info.value) and "refused" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert rest.connections_opened == 0


async def test_secrets_stay_out_of_reprs_and_errors(
    make_client: MakeClient, fake: FakeRestApi
) -> None:
    async with serve_rest(fake.handle) as server:
        async with make_client(KEY, base_url=server.base_url) as rest:
            assert "SECRET" not in repr(rest)
            secret = await rest.create_client_secret()
            assert secret.value.reveal() not in repr(secret)
            body = b'{"value":"ek_leaked12345","expires_at":"x","session":{}}'
            server.raw_response = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (
                len(body),
                body,
            )
            with pytest.raises(RemoteProtocolError) as info:
                await rest.create_client_secret()
            assert "leaked" not in str(info.value)
        async with make_client("sk-wrong-SECRET-999", base_url=server.base_url) as bad:
            server.raw_response = None
            with pytest.raises(APIError) as err:
                await bad.create_client_secret()
            assert "SECRET" not in str(err.value) and "SECRET" not in repr(err.value)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, kind):
            return True
        current = current.__cause__
    return False


async def test_tls_with_a_trusted_ca_and_verification_on_by_default(
    make_client: MakeClient, fake: FakeRestApi
) -> None:
    pytest.importorskip("cryptography")
    server_ctx, client_ctx = make_test_tls_contexts()
    async with serve_rest(fake.handle, ssl_context=server_ctx) as server:
        assert server.base_url.startswith("https://localhost:")
        async with make_client(KEY, base_url=server.base_url, ssl=client_ctx) as rest:
            secret = await rest.create_client_secret()
            answer = await rest.create_call(OFFER)
            await rest.hangup_call(answer.call_id)
            assert secret.value.reveal().startswith("ek_")
            assert rest.connections_opened == 1
        # The default context (system CAs) must refuse the self-signed test CA.
        async with make_client(KEY, base_url=server.base_url, timeout=10) as rest:
            with pytest.raises(ConnectError, match="TLS certificate verification failed") as info:
                await rest.create_client_secret()
        assert _caused_by(info.value, ssl.SSLCertVerificationError)
        assert KEY not in str(info.value)
        assert len(server.requests) == 3


async def test_key_and_endpoint_default_from_the_environment(
    make_client: MakeClient, fake: FakeRestApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serve_rest(fake.handle) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        # One variable serves the WebSocket and REST: the ws:// flavour becomes http://.
        monkeypatch.setenv("OAIRT_BASE_URL", server.base_url.replace("http://", "ws://"))
        async with make_client(timeout=10) as rest:
            secret = await rest.create_client_secret()
        assert secret.value.reveal().startswith("ek_")
        assert len(server.requests) == 1


async def test_explicit_key_and_endpoint_win_over_the_environment(
    make_client: MakeClient, fake: FakeRestApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-this-one-000000")
    monkeypatch.setenv("OAIRT_BASE_URL", "http://127.0.0.1:1/v1")  # nothing listens there
    async with serve_rest(fake.handle) as server:
        async with make_client(api_key=KEY, base_url=server.base_url, timeout=10) as rest:
            await rest.create_client_secret()
        assert len(server.requests) == 1


def test_missing_key_is_a_local_error_naming_the_variable(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LocalProtocolError, match="OPENAI_API_KEY"):
        make_client()
