"""Faults against open_realtime on every adapter: each ends typed, nothing hangs or leaks.

Every test runs under ``anyio.fail_after`` (no hung task), checks with
:class:`TaskCensus` that no task outlives the block (structured concurrency), and,
where the connection was up, that the events the client got are exactly those the
server side delivered before the fault (the user can tell what arrived).
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import anyio
import msgspec
import pytest

from oairt_anyio.testing import run_fake_server
from oairt_core._async.voice import AsyncRealtimeConnection
from oairt_core.connection import MalformedServerEvent
from oairt_core.errors import (
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    OairtError,
    RequestTimeout,
)
from oairt_core.events import (
    CLIENT_EVENT_TYPES,
    ClientEvent,
    ConversationItemCreateEvent,
    ConversationItemDeleteEvent,
    ConversationItemRetrieveEvent,
    ConversationItemTruncateEvent,
    ErrorEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    SessionCreatedEvent,
    SessionUpdateEvent,
)
from oairt_core.models import MessageItem, RealtimeSessionConfig
from oairt_core.testing import Faults, Script, fail, say
from tests.conftest import Adapter
from tests.support.certs import tls_material
from tests.support.faultproxy import (
    Close,
    ConnectionPlan,
    Cut,
    FaultAction,
    Reset,
    TaskCensus,
    run_fault_proxy,
)
from tests.support.wsserver import ServerConn, serve

pytestmark = pytest.mark.anyio

KEY = "sk-test-faults-0123456789abcdef"
GUARD = 15  # seconds; a hang fails the test instead of blocking the suite


def wire(event: object) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(event))
    return result


async def drain(conn: AsyncRealtimeConnection) -> tuple[list[Any], BaseException | None]:
    events: list[Any] = []
    try:
        async for ev in conn:
            events.append(ev)
    except OairtError as exc:
        return events, exc
    return events, None


def at_first(event_type: str, action: FaultAction) -> ConnectionPlan:
    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        return action if kind == event_type else None

    return ConnectionPlan(on_server_frame=hook)


# ----------------------------------------------------------------------------- network faults


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (Reset(mid_frame=True), 1006),
        (Reset(mid_frame=False), 1006),
        (Cut(), 1006),
        (Close(1011, "server error"), 1011),
        (Close(1012, "restart"), 1012),
        (Close(1013, "try again later"), 1013),
    ],
    ids=["rst-mid-frame", "rst-between-frames", "fin-no-close", "1011", "1012", "1013"],
)
async def test_drop_in_the_middle_of_a_response(
    adapter: Adapter, action: FaultAction, code: int
) -> None:
    census = TaskCensus()
    with anyio.fail_after(GUARD):
        script = Script(say("A reply long enough to carry several audio deltas."))
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plan = at_first("response.output_audio.delta", action)
            async with run_fault_proxy(("127.0.0.1", server.port), plans=[plan]) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url
                ) as c:
                    await c.send(ResponseCreateEvent())
                    events, exc = await drain(c)
                    assert isinstance(exc, ConnectionClosedError)
                    assert exc.code == code
                    assert c.closed is not None and c.closed.code == code
                    assert c.closed.clean is (code != 1006)
                    with pytest.raises(ConnectionClosedError):
                        await c.send(ResponseCreateEvent())
                delivered = [json.loads(p) for p in proxy.records[0].delivered_text]
                # exactly what was delivered, in order; the response visibly unfinished
                assert [wire(e) for e in events] == [wire_of(d) for d in delivered]
                assert not any(isinstance(e, ResponseDoneEvent) for e in events)
    assert census.leaked() == []


def wire_of(d: dict[str, Any]) -> dict[str, Any]:
    # Re-encode the delivered JSON through the decoder: base64 and defaults normalised.
    from oairt_core.codec import decode_server_event

    return wire(decode_server_event(json.dumps(d)))


async def test_peer_that_stops_reading_blocks_writes_then_times_out(adapter: Adapter) -> None:
    census = TaskCensus()
    chunk = InputAudioBufferAppendEvent(audio=b"\x00" * (256 * 1024))  # ~350 KB on the wire
    frame = len(msgspec.json.encode(chunk))
    with anyio.fail_after(GUARD):
        async with run_fake_server(api_keys={KEY}) as server:
            plan = ConnectionPlan(stop_reading_client=True)
            async with run_fault_proxy(
                ("127.0.0.1", server.port), plans=[plan], rcvbuf=64 * 1024
            ) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                accepted = 0
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, write_timeout=0.5
                ) as c:
                    with pytest.raises(ConnectionClosedError) as info:
                        for _ in range(400):  # 140 MB if nothing pushed back
                            await c.send(chunk)
                            accepted += 1
                    assert "timed out" in info.value.reason
                # Backpressure, not buffering: what was accepted fits in the kernel's
                # socket buffers (a few MB on loopback), far below what was offered.
                assert accepted * frame < 32 * 1024 * 1024
                assert accepted < 400
                assert proxy.records[0].client_bytes < 32 * 1024 * 1024
    assert census.leaked() == []


async def test_peer_that_never_answers_the_handshake(adapter: Adapter) -> None:
    census = TaskCensus()
    with anyio.fail_after(GUARD):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [ConnectionPlan(never_answer=True)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                with pytest.raises(RequestTimeout) as info:
                    async with adapter.open_realtime(
                        api_key=KEY, model="gpt-realtime", base_url=url, connect_timeout=0.3
                    ):
                        pass
                assert KEY not in str(info.value)
    assert census.leaked() == []


async def test_peer_that_closes_during_the_handshake(adapter: Adapter) -> None:
    census = TaskCensus()
    with anyio.fail_after(GUARD):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [ConnectionPlan(refuse=True)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                with pytest.raises(ConnectionClosedError) as info:
                    async with adapter.open_realtime(
                        api_key=KEY, model="gpt-realtime", base_url=url
                    ):
                        pass
                assert info.value.code == 1006
    assert census.leaked() == []


async def test_dns_failure_is_typed(adapter: Adapter) -> None:
    census = TaskCensus()
    with anyio.fail_after(GUARD):
        with pytest.raises(OairtError) as info:
            async with adapter.open_realtime(
                api_key=KEY, model="gpt-realtime", base_url="ws://nonexistent.invalid/v1"
            ):
                pass
    assert isinstance(info.value, ConnectError)  # a ConnectionClosedError (1006)
    assert "nonexistent.invalid" in str(info.value)
    assert KEY not in str(info.value)
    assert census.leaked() == []


async def test_connection_refused_is_typed(adapter: Adapter) -> None:
    # A port nobody listens on: bind, note the port, close.
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with anyio.fail_after(GUARD), pytest.raises(ConnectError) as info:
        async with adapter.open_realtime(
            api_key=KEY, model="gpt-realtime", base_url=f"ws://127.0.0.1:{port}/v1"
        ):
            pass
    assert info.value.code == 1006


# ----------------------------------------------------------------------------- TLS


async def test_untrusted_certificate_is_refused_by_default_and_trusted_ca_works(
    adapter: Adapter,
) -> None:
    census = TaskCensus()
    material = tls_material()
    with anyio.fail_after(GUARD):
        async with (
            run_fake_server(script=Script(say("secure")), api_keys={KEY}) as server,
            run_fault_proxy(("127.0.0.1", server.port), tls=material.server_context()) as proxy,
        ):
            url = f"wss://localhost:{proxy.port}/v1"
            # Default: system trust store, verification on -> refused, typed.
            with pytest.raises(OairtError) as info:
                async with adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=url):
                    pass
            assert isinstance(info.value, ConnectError)
            cause = info.value.__cause__
            assert isinstance(cause, ssl.SSLCertVerificationError)
            assert KEY not in str(info.value)
            # ssl=True means the same verified default.
            with pytest.raises(ConnectionClosedError):
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, ssl=True
                ):
                    pass
            # A context that trusts the test CA: the session works over TLS.
            async with adapter.open_realtime(
                api_key=KEY,
                model="gpt-realtime",
                base_url=url,
                ssl=material.client_context(),
            ) as c:
                first = await c.next_event()
                assert isinstance(first, SessionCreatedEvent)
            # ws:// with ssl=False is the only way to turn TLS off; wss + False refused.
            with pytest.raises(OairtError):
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, ssl=False
                ):
                    pass
    assert census.leaked() == []


async def test_certificate_for_another_host_is_refused(adapter: Adapter) -> None:
    import trustme

    ca = trustme.CA()
    other = ca.issue_cert("example.org")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    other.configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    with anyio.fail_after(GUARD):
        async with (
            run_fake_server(api_keys={KEY}) as server,
            run_fault_proxy(("127.0.0.1", server.port), tls=server_ctx) as proxy,
        ):
            url = f"wss://localhost:{proxy.port}/v1"
            with pytest.raises(ConnectError) as info:
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, ssl=client_ctx
                ):
                    pass
            assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)


# ----------------------------------------------------------------------------- server-side faults


@pytest.mark.parametrize("code", [1011, 1012, 1013])
async def test_fake_server_close_codes(adapter: Adapter, code: int) -> None:
    census = TaskCensus()
    faults = Faults(close_after="response.created", close_code=code, close_reason="bye")
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=Script(say("x")), api_keys={KEY}, faults=faults) as s:
            async with adapter.open_realtime(
                api_key=KEY, model="gpt-realtime", base_url=s.url
            ) as c:
                await c.send(ResponseCreateEvent())
                events, exc = await drain(c)
                assert isinstance(exc, ConnectionClosedError)
                assert (exc.code, exc.reason) == (code, "bye")
            sent = [e["type"] for e in s.connections[0].sent_events]
            assert [wire(e)["type"] for e in events] == sent
    assert census.leaked() == []


async def test_failed_response_leaves_the_session_usable(adapter: Adapter) -> None:
    census = TaskCensus()
    script = Script(fail("The model fell over.", code="server_error"), say("Back again."))
    with anyio.fail_after(GUARD):
        async with (
            run_fake_server(script=script, api_keys={KEY}) as s,
            adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=s.url) as c,
        ):
            dones: list[ResponseDoneEvent] = []
            await c.send(ResponseCreateEvent())
            async for ev in c:
                if isinstance(ev, ResponseDoneEvent):
                    dones.append(ev)
                    if len(dones) == 1:
                        await c.send(ResponseCreateEvent())
                    else:
                        break
            failed, ok = dones
            assert failed.response.status == "failed"
            assert failed.response.status_details is not None
            assert failed.response.status_details.error is not None
            assert failed.response.status_details.error.message == "The model fell over."
            assert ok.response.status == "completed"
    assert census.leaked() == []


async def test_malformed_events_do_not_kill_a_healthy_session(adapter: Adapter) -> None:
    census = TaskCensus()
    bad = [
        "{not json",
        '{"type":"response.done","event_id":1}',
        '{"type":"error","event_id":"e","error":' + "[" * 5000 + "]" * 5000 + "}",
        '{"type":"some.new_event","event_id":"e"}',
    ]

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for text in bad:
            await conn.send_text(text)
        await conn.send_bytes(b"\x00\x01binary")
        await conn.send_event({"type": "input_audio_buffer.cleared", "event_id": "ok_1"})
        await conn.close(1000)

    with anyio.fail_after(GUARD):
        async with (
            serve(handler) as server,
            adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=server.url) as c,
        ):
            events, exc = await drain(c)
    assert exc is None  # closed normally with 1000
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "MalformedServerEvent",
        "MalformedServerEvent",
        "MalformedServerEvent",
        "UnknownServerEvent",
        "MalformedServerEvent",
        "InputAudioBufferClearedEvent",
    ]
    assert all(len(repr(e)) < 2000 for e in events if isinstance(e, MalformedServerEvent))
    assert census.leaked() == []


async def test_an_error_event_for_every_client_event_type(adapter: Adapter) -> None:
    """The server answers each of the 11 client event types with ``error``; the session lives."""
    census = TaskCensus()
    events_to_send: list[ClientEvent] = [
        ConversationItemCreateEvent(event_id="c1", item=MessageItem.user_text("x")),
        ConversationItemDeleteEvent(event_id="c2", item_id="missing"),
        ConversationItemRetrieveEvent(event_id="c3", item_id="missing"),
        ConversationItemTruncateEvent(
            event_id="c4", item_id="missing", content_index=0, audio_end_ms=0
        ),
        InputAudioBufferAppendEvent(event_id="c5", audio=b"\x00\x00"),
        InputAudioBufferClearEvent(event_id="c6"),
        OutputAudioBufferClearEvent(event_id="c7"),
        InputAudioBufferCommitEvent(event_id="c8"),
        ResponseCancelEvent(event_id="c9"),
        ResponseCreateEvent(event_id="c10"),
        SessionUpdateEvent(event_id="c11", session=RealtimeSessionConfig(instructions="x")),
    ]
    assert {wire(e)["type"] for e in events_to_send} == set(CLIENT_EVENT_TYPES)

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        n = 0
        while (msg := await conn.receive()) is not None:
            assert isinstance(msg, str)
            ev = json.loads(msg)
            n += 1
            await conn.send_event(
                {
                    "type": "error",
                    "event_id": f"err_{n}",
                    "error": {
                        "type": "invalid_request_error",
                        "code": "rejected",
                        "message": f"rejected {ev['type']}",
                        "param": None,
                        "event_id": ev.get("event_id"),
                    },
                }
            )

    with anyio.fail_after(GUARD):
        async with (
            serve(handler) as server,
            adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=server.url) as c,
        ):
            errors: list[ErrorEvent] = []
            for event in events_to_send:
                await c.send(event)
                reply = await c.next_event()
                assert isinstance(reply, ErrorEvent)
                errors.append(reply)
            assert c.state.name == "OPEN"
    assert [e.error.event_id for e in errors] == [f"c{i}" for i in range(1, 12)]
    assert [e.error.message.split()[-1] for e in errors] == [
        wire(e)["type"] for e in events_to_send
    ]
    assert census.leaked() == []


async def test_handshake_rejection_is_typed_and_secret_free(adapter: Adapter) -> None:
    census = TaskCensus()
    with anyio.fail_after(GUARD):
        async with run_fake_server(api_keys={"sk-test-the-right-key-000"}) as s:
            with pytest.raises(HandshakeError) as info:
                async with adapter.open_realtime(api_key=KEY, model="gpt-realtime", base_url=s.url):
                    pass
    assert info.value.status_code == 401
    assert KEY not in str(info.value) and KEY[-12:] not in str(info.value)
    assert census.leaked() == []


async def test_cancelled_consumer_leaves_nothing_behind(adapter: Adapter) -> None:
    census = TaskCensus()
    with anyio.fail_after(GUARD):
        async with run_fake_server(script=Script(say("x" * 200)), api_keys={KEY}) as s:
            with anyio.move_on_after(0.05):
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=s.url
                ) as c:
                    await c.send(ResponseCreateEvent())
                    async for _ in c:
                        pass  # cancelled while waiting for more
    assert census.leaked() == []


async def test_cancelling_a_blocked_send_is_prompt(adapter: Adapter) -> None:
    chunk = InputAudioBufferAppendEvent(audio=b"\x00" * (256 * 1024))
    honoured = False
    async with run_fake_server(api_keys={KEY}) as server:
        plan = ConnectionPlan(stop_reading_client=True)
        async with run_fault_proxy(
            ("127.0.0.1", server.port), plans=[plan], rcvbuf=64 * 1024
        ) as proxy:
            url = f"ws://127.0.0.1:{proxy.port}/v1"
            with anyio.move_on_after(1) as guard:  # the only way out if the cancel is ignored
                async with adapter.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, close_timeout=0.2
                ) as c:
                    try:
                        with anyio.move_on_after(0.3) as scope:
                            for _ in range(400):
                                await c.send(chunk)
                        honoured = scope.cancelled_caught
                    except ConnectionClosedError:
                        honoured = not guard.cancel_called
    assert honoured and not guard.cancel_called
