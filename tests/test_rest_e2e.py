"""WebRTC and SIP flows end to end against the real fake server runner (REST + WebSocket).

The REST client talks HTTP to ``oairt_anyio.testing.run_fake_server``, whose HTTP layer hands
REST requests to :class:`FakeRestApi`; the SIP flow then opens the sideband WebSocket with
``call_id`` and runs a tool call over it. Runs on asyncio and trio; the trio REST client too.
"""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest

import oairt_anyio
from oairt_anyio.testing import run_fake_server
from oairt_core.errors import APIError, HandshakeError
from oairt_core.events import ResponseCreateEvent, ResponseDoneEvent, SessionCreatedEvent
from oairt_core.models import FunctionCallItem, FunctionTool, RealtimeSessionConfig
from oairt_core.testing.rest_fake import FakeCallState, FakeRestApi
from oairt_core.testing.script import Script, call_function
from oairt_core.webhooks import RealtimeCallIncomingWebhookEvent, unwrap_webhook
from tests.conftest import Adapter

pytestmark = pytest.mark.anyio

KEY = "sk-test-e2e-1234567890"
OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:1\r\n"
)


# (event loop, client): the anyio client on both backends, the trio client on trio. One
# parametrisation drives both fixtures, so no combination is generated only to be skipped.


@pytest.fixture
def client_cls(adapter: Adapter) -> Any:
    return adapter.RealtimeRestClient


async def test_webrtc_flow_against_the_fake_server(client_cls: Any) -> None:
    fake = FakeRestApi({KEY})
    async with run_fake_server(api_keys=[KEY], rest=fake) as server:
        async with client_cls(KEY, base_url=server.http_url, timeout=10) as rest:
            secret = await rest.create_client_secret(
                session=RealtimeSessionConfig(model="gpt-realtime", instructions="Be brief."),
                expires_after=600,
            )
        async with client_cls(secret.value, base_url=server.http_url, timeout=10) as browser:
            answer = await browser.create_call(OFFER)
        assert answer.sdp.startswith("v=0\r\n")
        assert answer.call_id is not None and fake.is_active_call(answer.call_id)
        async with client_cls(KEY, base_url=server.http_url, timeout=10) as rest:
            await rest.hangup_call(answer.call_id)
            with pytest.raises(APIError) as info:
                await rest.hangup_call("rtc_does_not_exist")
            assert info.value.status_code == 404
            assert rest.connections_opened == 1  # keep-alive through the fake's HTTP layer
        assert fake.calls[answer.call_id].state is FakeCallState.ENDED


async def test_sip_flow_with_sideband_tool_call(client_cls: Any) -> None:
    fake = FakeRestApi({KEY})
    script = Script().reply(call_function("transfer_call", '{"to": "tel:+14155550123"}'))
    async with run_fake_server(api_keys=[KEY], rest=fake, script=script) as server:
        # 1. The incoming-call webhook, as the app's webhook endpoint receives it.
        call_id, headers, body = fake.simulate_incoming_sip_call(timestamp=int(time.time()))
        event = unwrap_webhook(body, headers, secret=fake.webhook_secret, now=time.time())
        assert isinstance(event, RealtimeCallIncomingWebhookEvent)
        assert event.data.call_id == call_id

        async with client_cls(KEY, base_url=server.http_url, timeout=10) as rest:
            # 2. Accept it with a session that offers a transfer tool.
            await rest.accept_call(
                call_id,
                RealtimeSessionConfig(
                    instructions="You answer the phone.",
                    tools=[FunctionTool(name="transfer_call", parameters={"type": "object"})],
                ),
            )
            # 3. The sideband WebSocket: same call, controlled from the server side.
            async with oairt_anyio.open_realtime(
                api_key=KEY, call_id=call_id, base_url=server.url
            ) as conn:
                transfer_to = None
                with anyio.fail_after(10):
                    async for ev in conn:
                        if isinstance(ev, SessionCreatedEvent):
                            await conn.send(ResponseCreateEvent())
                        elif isinstance(ev, ResponseDoneEvent):
                            calls = [
                                item
                                for item in ev.response.output or []
                                if isinstance(item, FunctionCallItem)
                            ]
                            assert [c.name for c in calls] == ["transfer_call"]
                            transfer_to = json.loads(calls[0].arguments)["to"]
                            break
            # 4. The tool asked for a transfer: refer the call.
            assert transfer_to == "tel:+14155550123"
            await rest.refer_call(call_id, transfer_to)
        assert fake.calls[call_id].refer_target == "tel:+14155550123"
        assert not fake.is_active_call(call_id)


async def test_sideband_is_refused_for_unknown_or_unaccepted_calls(adapter: Adapter) -> None:
    open_ws: Any = adapter.open_realtime
    fake = FakeRestApi({KEY})
    async with run_fake_server(api_keys=[KEY], rest=fake) as server:
        pending, _, _ = fake.simulate_incoming_sip_call()
        for call_id in ("rtc_unknown", pending):
            with pytest.raises(HandshakeError) as info:
                async with open_ws(api_key=KEY, call_id=call_id, base_url=server.url):
                    pass
            assert info.value.status_code == 404
