"""Secrets stay secret, TLS verifies by default, injection is refused, sizes are capped.

A full session (WebSocket + REST) runs with DEBUG logging captured; the API key and
the ``ek_`` client secret it mints must not appear in any repr, log record,
exception, recording or ``--json`` CLI output.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

import oairt_anyio
from oairt_anyio import RealtimeRestClient
from oairt_anyio.testing import FakeServer, run_fake_server
from oairt_core._redact import Secret
from oairt_core.connection import (
    DEFAULT_MAX_MESSAGE_SIZE,
    RealtimeConnection,
    resolve_ssl_context,
)
from oairt_core.errors import (
    APIError,
    ConnectError,
    HandshakeError,
    LocalProtocolError,
    OairtError,
)
from oairt_core.events import ConversationItemCreateEvent, ResponseCreateEvent, ResponseDoneEvent
from oairt_core.models import MessageItem, RealtimeSessionConfig
from oairt_core.reconnect import ReconnectPolicy
from oairt_core.rest import (
    DEFAULT_MAX_RESPONSE_SIZE,
    RealtimeRest,
    RestConfig,
    RestResponse,
    api_error_from_response,
    build_accept_call,
    build_hangup_call,
)
from oairt_core.testing import Script, say

KEY = "sk-test-SECRETKEY-a1b2c3d4e5f6g7h8"
FRAGMENTS = (KEY, KEY[3:], "SECRETKEY-a1b2c3d4e5f6")


def assert_clean(text: str, *secrets: str) -> None:
    for s in (*FRAGMENTS, *secrets):
        assert s not in text, f"secret leaked: ...{text[max(0, text.find(s) - 40) :][:120]!r}"


def test_the_scanner_itself_catches_a_leak() -> None:
    with pytest.raises(AssertionError):
        assert_clean(f"Authorization: Bearer {KEY}")
    with pytest.raises(AssertionError):
        assert_clean("...SECRETKEY-a1b2c3d4e5f6g7h8")


# ----------------------------------------------------------------------------- reprs


def test_reprs_hide_the_key() -> None:
    objects: list[Any] = [
        Secret(KEY),
        RealtimeConnection(api_key=KEY, model="gpt-realtime"),
        RestConfig(KEY),
        RealtimeRest(RestConfig(KEY)),
        build_hangup_call(RestConfig(KEY), "rtc_1"),
        RealtimeRestClient(KEY),
    ]
    for obj in objects:
        assert_clean(repr(obj))
        assert_clean(str(obj))
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(Secret(KEY))


# ----------------------------------------------------------------------------- a full session


@pytest.mark.anyio
async def test_full_session_leaks_nothing(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    recording = tmp_path / "session.jsonl"
    texts: list[str] = []
    minted: str | None = None
    with anyio.fail_after(20):
        async with run_fake_server(
            script=Script(say("Hello there."), say("Again.")), api_keys={KEY}, record=recording
        ) as server:
            # REST: mint a client secret (ek_...), then use it for a WebSocket session.
            async with RealtimeRestClient(KEY, base_url=server.http_url) as rest:
                secret = await rest.create_client_secret(
                    session=RealtimeSessionConfig(instructions="Be brief.")
                )
                minted = secret.value.reveal()
                texts += [repr(rest), repr(secret), str(secret)]
            assert minted.startswith("ek_")
            for key in (KEY, minted):
                async with oairt_anyio.open_realtime(
                    api_key=key, model="gpt-realtime", base_url=server.url
                ) as conn:
                    texts.append(repr(conn))
                    await conn.send(ConversationItemCreateEvent(item=MessageItem.user_text("hi")))
                    await conn.send(ResponseCreateEvent())
                    async for ev in conn:
                        texts.append(repr(ev))
                        if isinstance(ev, ResponseDoneEvent):
                            break
            async with oairt_anyio.open_realtime(
                api_key=KEY, model="gpt-realtime", base_url=server.url, reconnect=ReconnectPolicy()
            ) as rconn:
                texts.append(repr(rconn))
                texts.append(repr(rconn.reconnect_state.mirror.session))
            # Errors: a wrong key (the server's message echoes it), a REST error.
            wrong = KEY.replace("SECRETKEY", "WRONGKEY0")
            with pytest.raises(HandshakeError) as hs:
                async with oairt_anyio.open_realtime(
                    api_key=wrong, model="gpt-realtime", base_url=server.url
                ):
                    pass
            texts += [str(hs.value), repr(hs.value), repr(hs.value.args)]
            assert_clean(str(hs.value), wrong, wrong[3:])
            async with RealtimeRestClient(wrong, base_url=server.http_url) as rest:
                with pytest.raises(APIError) as api:
                    await rest.hangup_call("rtc_missing")
            texts += [str(api.value), repr(api.value.args)]
            assert_clean(str(api.value), wrong, wrong[3:])
    assert minted is not None
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
    for text in texts:
        assert_clean(text, minted, minted[3:])
    # The fake server's recordings (one file per connection) carry no credential.
    files = sorted(tmp_path.glob("session*.jsonl"))
    assert files
    for f in files:
        assert_clean(f.read_text(), minted, minted[3:])


def test_error_bodies_that_echo_a_key_are_redacted() -> None:
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {KEY}.",
                "type": "invalid_request_error",
            }
        }
    ).encode()
    err = api_error_from_response(RestResponse(401, [("content-type", "application/json")], body))
    assert isinstance(err, APIError) and err.status_code == 401
    assert_clean(str(err))
    assert_clean(err.message)


@pytest.mark.anyio
async def test_handshake_rejection_echoing_the_key_is_redacted() -> None:
    from tests.support.wsserver import ServerConn, serve

    async def handler(conn: ServerConn) -> None:
        await conn.reject(
            401,
            {"error": {"message": f"Incorrect API key provided: {KEY}", "type": "invalid"}},
            headers=[(b"x-echo", f"Bearer {KEY}".encode())],
        )

    with anyio.fail_after(10):
        async with serve(handler) as server:
            with pytest.raises(HandshakeError) as info:
                async with oairt_anyio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=server.url
                ):
                    pass
    assert_clean(str(info.value))
    assert_clean(repr(info.value.__dict__))


# ----------------------------------------------------------------------------- the CLI


@contextmanager
def fake_server_in_thread(**kwargs: Any) -> Iterator[FakeServer]:
    with start_blocking_portal() as portal:
        cm = portal.wrap_async_context_manager(run_fake_server(**kwargs))
        with cm as server:
            yield server


def run_cli(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> Any:
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "oairt_anyio._cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_cli_json_output_never_contains_the_key(tmp_path: Path) -> None:
    recording = tmp_path / "cli.jsonl"
    with fake_server_in_thread(
        script=Script(say("Hi from the fake.")), api_keys={KEY}, record=recording
    ) as server:
        by_flag = run_cli(
            "chat", "--json", "--base-url", server.url, "--api-key", KEY, stdin="Hello\n"
        )
        by_env = run_cli(
            "chat", "--json", "--base-url", server.url, env={"OPENAI_API_KEY": KEY}, stdin="Hi\n"
        )
        wrong = run_cli(
            "chat", "--json", "--base-url", server.url, "--api-key", KEY + "x", stdin="Hi\n"
        )
    for result in (by_flag, by_env, wrong):
        assert_clean(result.stdout)
        assert_clean(result.stderr)
    assert wrong.returncode != 0
    for result in (by_flag, by_env):
        assert result.returncode == 0, result.stderr
        lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        assert any(line.get("event") == "assistant" for line in lines)
    files = sorted(tmp_path.glob("cli*.jsonl"))
    for f in files:
        replayed = run_cli("replay", "--json", str(f))
        assert_clean(replayed.stdout)
        assert_clean(replayed.stderr)


# ----------------------------------------------------------------------------- TLS


def test_tls_verification_is_on_by_default() -> None:
    conn = RealtimeConnection(api_key=KEY, model="gpt-realtime")
    assert conn.secure
    ctx = resolve_ssl_context(conn.secure, default=ssl.create_default_context)
    assert ctx is not None
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname
    strict = resolve_ssl_context(True, True, default=ssl.create_default_context)
    assert strict is not None and strict.verify_mode is ssl.CERT_REQUIRED
    with pytest.raises(LocalProtocolError):
        resolve_ssl_context(
            True, False, default=ssl.create_default_context
        )  # no silent downgrade of wss://
    # A plain-HTTP REST base URL is explicit; the default is https.
    assert RestConfig(KEY).tls


# ----------------------------------------------------------------------------- injection


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": KEY + "\r\nX-Evil: 1"},
        {"api_key": KEY + "\n"},
        {"organization": "org\r\nX-Evil: 1"},
        {"project": "proj\nHost: evil"},
        {"user_agent": "ua\r\n\r\nGET / HTTP/1.1"},
        {"extra_headers": {"X-Ok": "a\r\nX-Evil: 1"}},
        {"extra_headers": {"X-Bad\r\nName": "v"}},
        {"extra_headers": {"Authorization": "Bearer other"}},
        {"extra_headers": {"Host": "evil.example"}},
        {"model": "gpt-realtime\r\nX-Evil: 1"},
        {"model": None, "call_id": "rtc_1/../../admin"},
        {"model": None, "call_id": "rtc_1?model=x"},
        {"model": None, "call_id": "rtc_1#frag"},
        {"model": None, "call_id": "rtc_1%2F.."},
        {"model": None, "call_id": "rtc 1"},
        {"model": None, "call_id": "rtc_1\r\n"},
        {"model": None, "call_id": ".."},
        {"base_url": "wss://user:pass@api.openai.com/v1"},
    ],
)
def test_websocket_injection_is_refused_before_sending(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"api_key": KEY, "model": "gpt-realtime", **kwargs}
    with pytest.raises(LocalProtocolError) as info:
        conn = RealtimeConnection(**args)
        conn.initiate()
    assert_clean(str(info.value))


@pytest.mark.parametrize(
    "base_url",
    [
        "wss://api.openai.com/v1\r\nX-Evil: 1",
        "wss://api.openai.com/v 1",
        "wss://api.openai.com/v1\x00",
        "wss://api.openai.com/v1\u00e9",
    ],
)
def test_websocket_base_url_injection_gives_a_library_error(base_url: str) -> None:
    with pytest.raises(LocalProtocolError):
        RealtimeConnection(api_key=KEY, model="gpt-realtime", base_url=base_url).initiate()


CALL_IDS = ["rtc_1/../../x", "a/b", "rtc?x=1", "rtc#f", "%2e%2e", "..", ".", "", "a b", "a\r\nb"]


@pytest.mark.parametrize("call_id", CALL_IDS)
def test_rest_call_id_injection_is_refused(call_id: str) -> None:
    with pytest.raises(LocalProtocolError):
        build_hangup_call(RestConfig(KEY), call_id)
    with pytest.raises(LocalProtocolError):
        build_accept_call(RestConfig(KEY), call_id, RealtimeSessionConfig())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api_key": KEY + "\r\nX-Evil: 1"},
        {"organization": "o\r\nX: 1"},
        {"project": "p\n"},
        {"base_url": "https://api.openai.com/v1?x=1"},
        {"base_url": "https://u:p@api.openai.com/v1"},
        {"base_url": "ftp://api.openai.com/v1"},
        {"base_url": "https://api.openai.com/v1\r\n"},
    ],
)
def test_rest_header_and_url_injection_is_refused(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"api_key": KEY, **kwargs}
    key = args.pop("api_key")
    with pytest.raises(LocalProtocolError) as info:
        RestConfig(key, **args)
    assert_clean(str(info.value))


# ----------------------------------------------------------------------------- size caps


def test_incoming_sizes_are_capped_by_default() -> None:
    assert 0 < DEFAULT_MAX_MESSAGE_SIZE <= 64 * 1024 * 1024
    assert 0 < DEFAULT_MAX_RESPONSE_SIZE <= 16 * 1024 * 1024
    assert RealtimeConnection(api_key=KEY, model="m").max_message_size == DEFAULT_MAX_MESSAGE_SIZE
    with pytest.raises(LocalProtocolError):
        RealtimeConnection(api_key=KEY, model="m", max_message_size=0)


@pytest.mark.anyio
async def test_oversized_server_message_ends_the_connection_typed() -> None:
    from oairt_core.errors import MessageTooBig
    from tests.support.wsserver import ServerConn, serve

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event({"type": "x", "pad": "a" * 200_000})
        await conn.wait_closed()

    with anyio.fail_after(10):
        async with serve(handler) as server:
            async with oairt_anyio.open_realtime(
                api_key=KEY, model="gpt-realtime", base_url=server.url, max_message_size=100_000
            ) as conn:
                with pytest.raises(MessageTooBig):
                    await conn.next_event()
            assert server.connections[0].close_code == 1009


def test_errors_are_library_types() -> None:
    for exc_type in (HandshakeError, APIError, LocalProtocolError):
        assert issubclass(exc_type, OairtError)


# ----------------------------------------------------------------------------- REST over TLS


async def _rest_tls_round(client_cls: Any, ssl_context: ssl.SSLContext | None, url: str) -> str:
    kwargs: dict[str, Any] = {"base_url": url}
    if ssl_context is not None:
        kwargs["ssl"] = ssl_context
    async with client_cls(KEY, **kwargs) as client:
        secret = await client.create_client_secret()
    return str(secret.value.reveal()[:3])


@pytest.mark.anyio
async def test_rest_tls_trusted_ca_works(anyio_backend: str) -> None:
    from oairt_anyio import RealtimeRestClient as AnyioRest
    from tests.support.certs import tls_material
    from tests.support.faultproxy import run_fault_proxy

    clients: list[Any] = [AnyioRest]
    if anyio_backend == "trio":
        from oairt_trio import RealtimeRestClient as TrioRest

        clients.append(TrioRest)
    material = tls_material()
    with anyio.fail_after(20):
        async with (
            run_fake_server(api_keys={KEY}) as server,
            run_fault_proxy(("127.0.0.1", server.port), tls=material.server_context()) as proxy,
        ):
            url = f"https://localhost:{proxy.port}/v1"
            for cls in clients:
                assert await _rest_tls_round(cls, material.client_context(), url) == "ek_"


@pytest.mark.anyio
async def test_rest_tls_untrusted_certificate_is_a_typed_error(anyio_backend: str) -> None:
    from oairt_anyio import RealtimeRestClient as AnyioRest
    from tests.support.certs import tls_material
    from tests.support.faultproxy import run_fault_proxy

    material = tls_material()
    with anyio.fail_after(20):
        async with (
            run_fake_server(api_keys={KEY}) as server,
            run_fault_proxy(("127.0.0.1", server.port), tls=material.server_context()) as proxy,
        ):
            url = f"https://localhost:{proxy.port}/v1"
            caught: Exception | None = None
            try:
                await _rest_tls_round(AnyioRest, None, url)
            except Exception as exc:  # examined outside the servers' task groups
                caught = exc
    assert caught is not None, "an untrusted certificate was accepted"
    if not isinstance(caught, OairtError):
        raise caught
    assert isinstance(caught, ConnectError)
    assert isinstance(caught.__cause__, ssl.SSLCertVerificationError)
    assert_clean(str(caught))
