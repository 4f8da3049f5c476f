"""The same faults against the native trio adapter (oairt_trio.open_realtime)."""

from __future__ import annotations

import json
import ssl
from typing import Any

import msgspec
import pytest
import trio

import oairt_trio
from oairt_anyio.testing import run_fake_server
from oairt_core.codec import decode_server_event
from oairt_core.errors import ConnectError, ConnectionClosedError, OairtError, RequestTimeout
from oairt_core.events import (
    InputAudioBufferAppendEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    SessionCreatedEvent,
)
from oairt_core.testing import Script, say
from tests.certs import tls_material
from tests.faultproxy import (
    Close,
    ConnectionPlan,
    Cut,
    FaultAction,
    Reset,
    TaskCensus,
    run_fault_proxy,
)

pytestmark = pytest.mark.anyio

KEY = "sk-test-faults-trio-0123456789abcdef"
GUARD = 15


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


def wire(event: object) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(event))
    return result


def at_first(event_type: str, action: FaultAction) -> ConnectionPlan:
    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        return action if kind == event_type else None

    return ConnectionPlan(on_server_frame=hook)


@pytest.mark.parametrize(
    ("action", "code"),
    [(Reset(), 1006), (Cut(), 1006), (Close(1011), 1011), (Close(1012), 1012), (Close(1013), 1013)],
    ids=["rst-mid-frame", "fin", "1011", "1012", "1013"],
)
async def test_drop_in_the_middle_of_a_response(action: FaultAction, code: int) -> None:
    census = TaskCensus()
    with trio.fail_after(GUARD):
        script = Script(say("A reply long enough to carry several audio deltas."))
        async with run_fake_server(script=script, api_keys={KEY}) as server:
            plan = at_first("response.output_audio.delta", action)
            async with run_fault_proxy(("127.0.0.1", server.port), plans=[plan]) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                events: list[Any] = []
                async with oairt_trio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url
                ) as c:
                    await c.send(ResponseCreateEvent())
                    with pytest.raises(ConnectionClosedError) as info:
                        async for ev in c:
                            events.append(ev)
                    assert info.value.code == code
                delivered = [json.loads(p) for p in proxy.records[0].delivered_text]
                assert [wire(e) for e in events] == [
                    wire(decode_server_event(json.dumps(d))) for d in delivered
                ]
                assert not any(isinstance(e, ResponseDoneEvent) for e in events)
    assert census.leaked() == []


async def test_peer_that_stops_reading_blocks_writes_then_times_out() -> None:
    census = TaskCensus()
    chunk = InputAudioBufferAppendEvent(audio=b"\x00" * (256 * 1024))
    frame = len(msgspec.json.encode(chunk))
    with trio.fail_after(GUARD):
        async with run_fake_server(api_keys={KEY}) as server:
            plan = ConnectionPlan(stop_reading_client=True)
            async with run_fault_proxy(
                ("127.0.0.1", server.port), plans=[plan], rcvbuf=64 * 1024
            ) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                accepted = 0
                async with oairt_trio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, write_timeout=0.5
                ) as c:
                    with pytest.raises(ConnectionClosedError) as info:
                        for _ in range(400):
                            await c.send(chunk)
                            accepted += 1
                    assert "timed out" in info.value.reason
                assert accepted * frame < 32 * 1024 * 1024
    assert census.leaked() == []


async def test_peer_that_never_answers_the_handshake() -> None:
    census = TaskCensus()
    with trio.fail_after(GUARD):
        async with run_fake_server(api_keys={KEY}) as server:
            plans = [ConnectionPlan(never_answer=True)]
            async with run_fault_proxy(("127.0.0.1", server.port), plans=plans) as proxy:
                url = f"ws://127.0.0.1:{proxy.port}/v1"
                with pytest.raises(RequestTimeout):
                    async with oairt_trio.open_realtime(
                        api_key=KEY, model="gpt-realtime", base_url=url, connect_timeout=0.3
                    ):
                        pass
    assert census.leaked() == []


async def test_dns_failure_is_typed() -> None:
    with trio.fail_after(GUARD), pytest.raises(ConnectError) as info:
        async with oairt_trio.open_realtime(
            api_key=KEY, model="gpt-realtime", base_url="ws://nonexistent.invalid/v1"
        ):
            pass
    assert "nonexistent.invalid" in str(info.value) and KEY not in str(info.value)


async def test_untrusted_certificate_is_refused_and_trusted_ca_works() -> None:
    census = TaskCensus()
    material = tls_material()
    with trio.fail_after(GUARD):
        async with (
            run_fake_server(script=Script(say("secure")), api_keys={KEY}) as server,
            run_fault_proxy(("127.0.0.1", server.port), tls=material.server_context()) as proxy,
        ):
            url = f"wss://localhost:{proxy.port}/v1"
            with pytest.raises(OairtError) as info:
                async with oairt_trio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url
                ):
                    pass
            assert isinstance(info.value, ConnectError)
            chain: list[BaseException] = []
            exc: BaseException | None = info.value
            while exc is not None:
                chain.append(exc)
                exc = exc.__cause__ or exc.__context__
            assert any(isinstance(e, ssl.SSLCertVerificationError) for e in chain)
            async with oairt_trio.open_realtime(
                api_key=KEY, model="gpt-realtime", base_url=url, ssl=material.client_context()
            ) as c:
                assert isinstance(await c.next_event(), SessionCreatedEvent)
    assert census.leaked() == []


async def test_cancelling_a_blocked_send_is_prompt() -> None:
    chunk = InputAudioBufferAppendEvent(audio=b"\x00" * (256 * 1024))
    honoured = False
    async with run_fake_server(api_keys={KEY}) as server:
        plan = ConnectionPlan(stop_reading_client=True)
        async with run_fault_proxy(
            ("127.0.0.1", server.port), plans=[plan], rcvbuf=64 * 1024
        ) as proxy:
            url = f"ws://127.0.0.1:{proxy.port}/v1"
            with trio.move_on_after(1) as guard:  # the only way out if the cancel is ignored
                async with oairt_trio.open_realtime(
                    api_key=KEY, model="gpt-realtime", base_url=url, close_timeout=0.2
                ) as c:
                    try:
                        with trio.move_on_after(0.3) as scope:
                            for _ in range(400):
                                await c.send(chunk)
                        honoured = scope.cancelled_caught
                    except ConnectionClosedError:
                        honoured = not guard.cancel_called
    assert honoured and not guard.cancel_called
