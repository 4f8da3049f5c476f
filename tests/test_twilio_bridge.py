"""End to end over sockets: fake Twilio call -> phone bridge -> fake Realtime server.

The bridge (``oairt_anyio.phone`` / ``oairt_trio.phone``) runs on anyio-asyncio, anyio-trio
and native trio, in real time (a few seconds of audio per call).
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType
from typing import Any

import anyio
import anyio.abc
import pytest

from oairt_anyio.testing import run_fake_server
from oairt_core._async.phone import PhoneCall
from oairt_core.reconnect import Reconnected, Reconnecting, ReconnectPolicy, ResponseLost
from oairt_core.testing import FakeTwilioCall, Script, say
from oairt_core.twilio import CallStarted, CallStopped, DtmfReceived
from oairt_core.voice import Interrupted, ResponseDone, VoiceEvent
from tests.support.faultproxy import Close, ConnectionPlan, FaultAction, run_fault_proxy

from .conftest import Adapter
from .twilio_sim import caller_speech
from .twilio_ws import TwilioWsClient


def phone_module(adapter: Adapter) -> ModuleType:
    """The adapter's phone module (``oairt_anyio.phone`` or ``oairt_trio.phone``)."""
    return importlib.import_module(f"{adapter.module.__name__}.phone")


class App:
    """The phone agent under test: greets on ``start``, records every event."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    async def on_event(self, call: PhoneCall, event: VoiceEvent | Any) -> None:
        self.events.append(event)
        if isinstance(event, CallStarted):
            await call.session.create_response()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.mark.anyio
async def test_barge_in_over_sockets_truncates_at_what_the_caller_heard(adapter: Adapter) -> None:
    app = App()
    script = Script(say("a long greeting", duration_ms=4000), say("sure"))
    async with (
        run_fake_server(script=script) as rt,
        phone_module(adapter).run_twilio_server(
            base_url=rt.url, api_key=rt.api_key, on_event=app.on_event
        ) as phone,
    ):
        call = FakeTwilioCall(custom_parameters={"caller": "+15550100"})
        barged: list[float] = []

        def step(c: FakeTwilioCall, now: float) -> None:
            if not barged and c.heard_ms(now) >= 1234:
                c.say(caller_speech(800))
                barged.append(now)
            if c.clears and not c.speaking and not c.stopped:
                c.hang_up()

        client = TwilioWsClient(call)
        await client.run(phone.host, phone.port, on_step=step)
        await rt.wait_for(lambda: all(c.closed for c in rt.connections))

        [truncate] = [
            e
            for e in rt.connections[0].received_events
            if e["type"] == "conversation.item.truncate"
        ]
        [clear_at] = call.clears
        heard = call.heard_ms(clear_at)
        error = heard - truncate["audio_end_ms"]
        print(
            f"\nsockets: caller heard {heard:.1f} ms at the clear, truncated at "
            f"{truncate['audio_end_ms']} ms: error {error:.1f} ms"
        )
        # Never past what the caller heard (the whole 4 s reply had reached the bridge and
        # 300 ms more than was heard had been sent); close behind it (the exact bound, one
        # mark interval, is asserted in simulated time: over sockets the clear's trip adds
        # scheduler-dependent time).
        assert truncate["audio_end_ms"] <= heard + 1e-6
        assert error < 1000
        [interrupted] = app.of(Interrupted)
        assert interrupted.audio_end_ms == truncate["audio_end_ms"]
        assert app.of(CallStarted)[0].custom_parameters == {"caller": "+15550100"}
        assert app.of(CallStopped) == [CallStopped(call.call_sid)]
        # The Realtime session ended normally when the caller hung up.
        assert rt.connections[0].close_code == 1000
        assert client.close_code == 1000
        assert not rt.violations
        assert not call.malformed


@pytest.mark.anyio
async def test_reply_reaches_the_caller_paced_without_gaps_and_dtmf_reaches_the_app(
    adapter: Adapter,
) -> None:
    app = App()
    async with (
        run_fake_server(script=Script(say("hello there", duration_ms=2000))) as rt,
        phone_module(adapter).run_twilio_server(
            base_url=rt.url, api_key=rt.api_key, on_event=app.on_event
        ) as phone,
    ):
        call = FakeTwilioCall()
        pressed: list[float] = []

        def step(c: FakeTwilioCall, now: float) -> None:
            if not pressed and c.heard:
                c.dtmf("5")
                pressed.append(now)
            if c.heard_ms(now) >= 2000 and not c.stopped:
                c.hang_up()

        await TwilioWsClient(call).run(phone.host, phone.port, on_step=step)
        await rt.wait_for(lambda: all(c.closed for c in rt.connections))
        assert call.heard_ms(anyio.current_time()) == 2000
        # (Steady lead and no gaps are asserted in simulated time, test_twilio_sim.py:
        # over sockets they depend on the scheduler.)
        leads = [s.lead_ms for s in call.heard[20:]]
        print(f"\nsockets: lead {min(leads):.1f}-{max(leads):.1f} ms, gaps {call.gaps()}")
        # Every mark was echoed, in order, and each became a playback report.
        assert len(call.echoed_marks) == 20
        assert app.of(DtmfReceived) == [DtmfReceived("5", "inbound_track")]
        assert not rt.violations


@pytest.mark.anyio
async def test_stop_before_any_reply_ends_the_session_cleanly(adapter: Adapter) -> None:
    app = App()
    async with (
        run_fake_server(script=Script(say("hi", duration_ms=3000))) as rt,
        phone_module(adapter).run_twilio_server(
            base_url=rt.url, api_key=rt.api_key, on_event=app.on_event
        ) as phone,
    ):
        call = FakeTwilioCall()

        def step(c: FakeTwilioCall, now: float) -> None:
            if not c.stopped:
                c.hang_up()

        client = TwilioWsClient(call)
        await client.run(phone.host, phone.port, on_step=step)
        await rt.wait_for(lambda: len(rt.connections) == 1 and rt.connections[0].closed)
        assert client.close_code == 1000
        assert rt.connections[0].close_code == 1000
        assert not rt.violations


@pytest.mark.anyio
async def test_realtime_session_end_closes_the_twilio_stream(adapter: Adapter) -> None:
    app = App()
    async with (
        run_fake_server(max_session_seconds=0.5) as rt,
        phone_module(adapter).run_twilio_server(
            base_url=rt.url, api_key=rt.api_key, on_event=app.on_event
        ) as phone,
    ):
        client = TwilioWsClient(FakeTwilioCall())
        await client.run(phone.host, phone.port)
        # The session hit its cap; the stream is closed instead of left hanging.
        assert client.close_code == 1000
        assert any(getattr(e, "code", None) == "session_expired" for e in app.events)


@pytest.mark.anyio
async def test_unreachable_realtime_endpoint_closes_the_stream_with_1011(adapter: Adapter) -> None:
    async with (
        run_fake_server(api_keys={"sk-the-right-key"}) as rt,
        phone_module(adapter).run_twilio_server(base_url=rt.url, api_key="sk-a-wrong-key") as phone,
    ):
        client = TwilioWsClient(FakeTwilioCall())
        await client.run(phone.host, phone.port)
        assert client.close_code == 1011


def close_at_audio_delta(n: int, code: int) -> ConnectionPlan:
    """Drop the Realtime connection with ``code`` in place of its ``n``-th audio delta."""
    seen = [0]

    def hook(_i: int, _op: int, payload: bytes) -> FaultAction | None:
        try:
            kind = json.loads(payload).get("type")
        except ValueError:
            return None
        if kind == "response.output_audio.delta":
            seen[0] += 1
            if seen[0] == n:
                return Close(code)
        return None

    return ConnectionPlan(on_server_frame=hook)


class ReconnectingApp(App):
    """Greets on ``start``; after a reconnection, asks for the lost reply again."""

    def __init__(self) -> None:
        super().__init__()
        self.reconnected_at: float | None = None

    async def on_event(self, call: PhoneCall, event: VoiceEvent | Any) -> None:
        await super().on_event(call, event)
        if isinstance(event, Reconnected):
            self.reconnected_at = anyio.current_time()
            await call.session.create_response()


@pytest.mark.anyio
async def test_a_realtime_drop_mid_call_reconnects_and_the_call_goes_on(adapter: Adapter) -> None:
    app = ReconnectingApp()
    script = Script(
        say("a long greeting, cut short", duration_ms=3000), say("welcome back", duration_ms=1000)
    )
    policy = ReconnectPolicy(base_delay=0.001, max_delay=0.002)
    with anyio.fail_after(30):
        async with run_fake_server(script=script) as rt:
            plans = [close_at_audio_delta(5, 1011)]
            async with (
                run_fault_proxy(("127.0.0.1", rt.port), plans=plans) as proxy,
                phone_module(adapter).run_twilio_server(
                    base_url=f"ws://127.0.0.1:{proxy.port}/v1",
                    api_key=rt.api_key,
                    on_event=app.on_event,
                    reconnect=policy,
                ) as phone,
            ):
                call = FakeTwilioCall()

                def after_reconnect_ms() -> float:
                    t = app.reconnected_at
                    if t is None:
                        return 0.0
                    return sum(s.duration_ms for s in call.heard if s.received_at >= t)

                def step(c: FakeTwilioCall, now: float) -> None:
                    second_done = len(app.of(ResponseDone)) >= 1 and app.reconnected_at
                    if second_done and after_reconnect_ms() >= 1000 and not c.stopped:
                        c.hang_up()

                client = TwilioWsClient(call)
                await client.run(phone.host, phone.port, on_step=step)
                await rt.wait_for(lambda: all(c.closed for c in rt.connections))
            # The phone call outlived the Realtime connection: the caller hung up (1000),
            # the bridge did not end the stream with 1011.
            assert client.close_code == 1000
            assert proxy.connections == 2
            kinds = [
                type(e)
                for e in app.events
                if isinstance(e, (ResponseLost, Reconnecting, Reconnected))
            ]
            assert kinds == [ResponseLost, Reconnecting, Reconnected]
            [reconnecting] = app.of(Reconnecting)
            assert reconnecting.close_code == 1011
            # The caller heard the part of the first reply that reached the bridge, then
            # the whole second reply (1 s of mu-law) from the new session.
            assert after_reconnect_ms() == pytest.approx(1000, abs=20)
            assert call.heard_ms(anyio.current_time()) > 1000
            # The new session was configured for the phone again: mu-law both ways.
            first = json.loads(proxy.records[1].sent_text[0])
            assert first["type"] == "session.update"
            audio = first["session"]["audio"]
            assert audio["input"]["format"]["type"] == "audio/pcmu"
            assert audio["output"]["format"]["type"] == "audio/pcmu"
            assert not rt.violations
            assert not call.malformed


@pytest.mark.anyio
async def test_handle_twilio_stream_serves_a_connection_from_the_apps_own_listener(
    adapter: Adapter,
) -> None:
    """Bring your own listener: the adapter's own accepted stream type is served."""
    handle = phone_module(adapter).handle_twilio_stream
    app = App()
    with anyio.fail_after(20):
        async with run_fake_server(script=Script(say("hi", duration_ms=400))) as rt:
            async with adapter.open_group() as group:
                listener: Any
                if adapter.name == "trio":
                    import trio

                    [listener] = await trio.open_tcp_listeners(0, host="127.0.0.1")
                    port = listener.socket.getsockname()[1]
                else:
                    multi = await anyio.create_tcp_listener(local_host="127.0.0.1")
                    [listener] = multi.listeners
                    port = listener.extra(anyio.abc.SocketAttribute.local_port)

                async def serve_one() -> None:
                    async with listener:
                        stream = await listener.accept()
                    await handle(stream, base_url=rt.url, api_key=rt.api_key, on_event=app.on_event)

                group.start_soon(serve_one)
                call = FakeTwilioCall()

                def step(c: FakeTwilioCall, now: float) -> None:
                    if c.heard_ms(now) >= 400 and not c.stopped:
                        c.hang_up()

                client = TwilioWsClient(call)
                await client.run("127.0.0.1", port, on_step=step)
            assert client.close_code == 1000
            assert app.of(CallStopped) == [CallStopped(call.call_sid)]
            with pytest.raises(TypeError, match="expected an? (anyio ByteStream|trio Stream)"):
                await handle(object())


@pytest.mark.anyio
async def test_a_silent_or_non_websocket_peer_is_dropped(
    adapter: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that never completes the upgrade does not hold a task and a socket:
    silence is dropped after the handshake timeout, garbage at once; the server goes on."""
    import oairt_core._async.phone as phone_impl

    monkeypatch.setattr(phone_impl, "HANDSHAKE_TIMEOUT", 0.2)
    app = App()
    with anyio.fail_after(20):
        async with (
            run_fake_server(script=Script(say("hi", duration_ms=200))) as rt,
            phone_module(adapter).run_twilio_server(
                base_url=rt.url, api_key=rt.api_key, on_event=app.on_event
            ) as phone,
        ):
            for greeting in (
                b"",
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                b"\x16\x03\x01garbage\r\n\r\n",
            ):
                async with await anyio.connect_tcp(phone.host, phone.port) as raw:
                    if greeting:
                        await raw.send(greeting)
                    received = b""
                    try:
                        while chunk := await raw.receive():
                            received += chunk
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        pass
                    assert b"101 Switching Protocols" not in received
            # The server still answers a real call.
            call = FakeTwilioCall()

            def step(c: FakeTwilioCall, now: float) -> None:
                if c.heard_ms(now) >= 200 and not c.stopped:
                    c.hang_up()

            client = TwilioWsClient(call)
            await client.run(phone.host, phone.port, on_step=step)
            assert client.close_code == 1000
