"""The loopback runner (``oairt_anyio.testing``) with real sockets, on asyncio and trio."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from typing import Any

import anyio
import numpy as np
import pytest

import oairt_anyio
from oairt_anyio import RealtimeRestClient
from oairt_anyio.testing import run_fake_server
from oairt_core.audio import silence, synth_speech
from oairt_core.errors import ConnectionClosedError, HandshakeError
from oairt_core.events import (
    InputAudioBufferAppendEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
)
from oairt_core.testing import Faults, Recorder, Script, say


def name(event: Any) -> str:
    """The wire ``type`` of a typed event (the msgspec tag)."""
    config = getattr(type(event), "__struct_config__", None)
    tag = getattr(config, "tag", None)
    return str(tag if isinstance(tag, str) else getattr(event, "type", type(event).__name__))


async def collect_until(conn: Any, last: str) -> list[Any]:
    out: list[Any] = []
    with anyio.fail_after(10):
        async for event in conn:
            out.append(event)
            if name(event) == last:
                break
    return out


async def close_code_during_a_response(server: Any) -> int | None:
    """Connect, ask for a response, and return the close code the connection ends with."""
    async with oairt_anyio.open_realtime(
        api_key=server.api_key, model="gpt-realtime", base_url=server.url
    ) as conn:
        await collect_until(conn, "session.created")
        await conn.send(ResponseCreateEvent())
        with pytest.raises(ConnectionClosedError) as closed:
            await collect_until(conn, "response.done")
    return closed.value.code


@pytest.mark.anyio
async def test_voice_turn_with_oairt_adapter() -> None:
    audio = (
        np.concatenate([silence(400), synth_speech(1000, seed=4), silence(600)])
        .astype("<i2")
        .tobytes()
    )
    rec = Recorder(clock=anyio.current_time)
    async with run_fake_server(script=Script(say("Hello from loopback."))) as server:
        async with oairt_anyio.open_realtime(
            api_key=server.api_key,
            model="gpt-realtime",
            base_url=server.url,
            on_message=rec.on_message,
        ) as conn:
            for i in range(0, len(audio), 4800):
                await conn.send(InputAudioBufferAppendEvent(audio=audio[i : i + 4800]))
            events = await collect_until(conn, "response.done")
        assert not server.violations
    types = [name(e) for e in events]
    assert types[:4] == [
        "session.created",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ]
    done = events[-1]
    assert done.response.status == "completed"
    pcm = b"".join(e.delta for e in events if name(e) == "response.output_audio.delta")
    assert len(pcm) == 55 * len("Hello from loopback.") * 48
    assert rec.frames and {f.dir for f in rec.frames} == {"client", "server"}


@pytest.mark.anyio
async def test_barge_in_sees_a_partial_response() -> None:
    script = Script(say("A long reply that goes on", duration_ms=5000))
    async with (
        run_fake_server(script=script, pacing="realtime") as server,
        oairt_anyio.open_realtime(
            api_key=server.api_key, model="gpt-realtime", base_url=server.url
        ) as conn,
    ):
        await collect_until(conn, "session.created")
        await conn.send(ResponseCreateEvent())
        first = await collect_until(conn, "response.output_audio.delta")
        rid = first[0].response.id
        await conn.send(ResponseCancelEvent(response_id=rid))
        rest = await collect_until(conn, "response.done")
    deltas = [e for e in first + rest if name(e) == "response.output_audio.delta"]
    assert 1 <= len(deltas) < 50  # 5 s of audio would be 50 chunks of 100 ms
    done = rest[-1].response
    assert done.status == "cancelled"
    assert done.status_details.reason == "client_cancelled"


@pytest.mark.anyio
async def test_handshake_error_and_fault_close() -> None:
    async with run_fake_server(
        api_keys={"sk-test"}, faults=Faults(close_after="response.created", close_code=1011)
    ) as server:
        with pytest.raises(HandshakeError) as info:
            async with oairt_anyio.open_realtime(
                api_key="sk-wrong-123456789", model="gpt-realtime", base_url=server.url
            ):
                pass
        assert info.value.status_code == 401
        assert await close_code_during_a_response(server) == 1011


@pytest.mark.anyio
async def test_abort_drops_the_connection() -> None:
    async with run_fake_server(faults=Faults(abort_after="response.created")) as server:
        assert await close_code_during_a_response(server) == 1006
        assert server.connections[0].aborted


@pytest.mark.anyio
async def test_rest_and_websocket_share_the_port() -> None:
    async with run_fake_server(script=Script(say("ok"))) as server:
        async with RealtimeRestClient(server.api_key, base_url=server.http_url) as rest:
            s1 = await rest.create_client_secret()
            s2 = await rest.create_client_secret()
            assert rest.connections_opened == 1  # keep-alive
        secret = s1.value.reveal() if hasattr(s1.value, "reveal") else str(s1.value)
        assert secret.startswith("ek_") and s1.value != s2.value
        async with oairt_anyio.open_realtime(
            api_key=secret, model="gpt-realtime", base_url=server.url
        ) as conn:
            events = await collect_until(conn, "session.created")
        assert name(events[0]) == "session.created"


@pytest.mark.anyio
async def test_sip_sideband_over_loopback_starts_from_the_accepted_session() -> None:
    from oairt_core.models import AudioConfig, AudioOutputConfig, RealtimeSessionConfig
    from oairt_core.testing import FakeRestApi

    fake = FakeRestApi(["sk-test"])
    async with run_fake_server(rest=fake) as server:
        call_id, _, _ = fake.simulate_incoming_sip_call()
        async with RealtimeRestClient(server.api_key, base_url=server.http_url) as rest:
            await rest.accept_call(
                call_id,
                RealtimeSessionConfig(
                    instructions="You answer the phone.",
                    audio=AudioConfig(output=AudioOutputConfig(voice="cedar")),
                ),
            )
        async with oairt_anyio.open_realtime(
            api_key=server.api_key, call_id=call_id, base_url=server.url
        ) as conn:
            created = (await collect_until(conn, "session.created"))[-1]
    session = created.session
    assert isinstance(session, RealtimeSessionConfig)
    assert session.instructions == "You answer the phone."
    assert isinstance(session.audio, AudioConfig) and isinstance(
        session.audio.output, AudioOutputConfig
    )
    assert session.audio.output.voice == "cedar"
    assert session.audio.output.speed == 1.0  # a default the accept did not set
    assert server.connections[-1].sideband


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_openai_sdk_rest_against_http_url(anyio_backend: str) -> None:
    from openai import AsyncOpenAI

    async with run_fake_server() as server:
        client = AsyncOpenAI(api_key=server.api_key, base_url=server.http_url)
        secret = await client.realtime.client_secrets.create(session={"type": "realtime"})
        await client.close()
    assert secret.value.startswith("ek_")


def test_cli_entry_prints_the_url_and_serves() -> None:
    code = (
        "from oairt_anyio.testing import run_fake_server_cli; "
        "raise SystemExit(run_fake_server_cli(0))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on ws://127.0.0.1:") and line.endswith("/v1")
        port = int(line.rsplit(":", 1)[1].split("/")[0])
        assert port > 0

        async def probe() -> str:
            async with oairt_anyio.open_realtime(
                api_key="sk-anything", model="gpt-realtime", base_url=line.split()[-1]
            ) as conn:
                return name((await collect_until(conn, "session.created"))[0])

        assert anyio.run(probe) == "session.created"
        proc.send_signal(signal.SIGINT)
        # Ctrl-C: 130 on every Python (3.10's asyncio surfaces it as CancelledError).
        assert proc.wait(timeout=10) == 130
        assert proc.stderr is not None and "stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.anyio
async def test_serve_forever_and_any_key_mode() -> None:
    from oairt_anyio.testing import serve_forever

    async with anyio.create_task_group() as tg:
        server = await tg.start(functools.partial(serve_forever, "127.0.0.1", 0, api_keys=None))
        assert server.port > 0
        async with oairt_anyio.open_realtime(
            api_key="sk-whatever", model="gpt-realtime", base_url=server.url
        ) as conn:
            assert name((await collect_until(conn, "session.created"))[0]) == "session.created"
        tg.cancel_scope.cancel()

    async with run_fake_server(api_keys=None) as server:
        async with RealtimeRestClient("sk-anything", base_url=server.http_url) as rest:
            secret = await rest.create_client_secret()
        assert str(
            secret.value.reveal() if hasattr(secret.value, "reveal") else secret.value
        ).startswith("ek_")


@pytest.mark.anyio
async def test_wait_for_events_and_rules() -> None:
    script = Script().when("weather", say("Sunny all day."))
    async with run_fake_server(script=script) as server:

        async def app() -> None:
            async with oairt_anyio.open_realtime(
                api_key=server.api_key, model="gpt-realtime", base_url=server.url
            ) as conn:
                await collect_until(conn, "session.created")
                await conn.send_raw(
                    '{"type":"conversation.item.create","item":{"type":"message","role":"user",'
                    '"content":[{"type":"input_text","text":"How is the weather?"}]}}'
                )
                await conn.send(ResponseCreateEvent())
                await collect_until(conn, "response.done")

        async with anyio.create_task_group() as tg:
            tg.start_soon(app)
            created = await server.wait_for_client_event("response.create")
            done = await server.wait_for_server_event("response.done")
        assert created == {"type": "response.create"}
        assert done["response"]["output"][0]["content"][0]["transcript"] == "Sunny all day."
        await server.wait_for(lambda: all(c.closed for c in server.connections))


@pytest.mark.parametrize("anyio_backend", ["trio"])
@pytest.mark.anyio
async def test_trio_adapter_against_the_runner(anyio_backend: str) -> None:
    from oairt_trio import open_realtime

    async with run_fake_server(script=Script(say("Hello, trio."))) as server:
        async with open_realtime(
            api_key=server.api_key, model="gpt-realtime", base_url=server.url
        ) as conn:
            await collect_until(conn, "session.created")
            await conn.send(ResponseCreateEvent())
            events = await collect_until(conn, "response.done")
        assert not server.violations
    transcript = next(e for e in events if name(e) == "response.output_audio_transcript.done")
    assert transcript.transcript == "Hello, trio."


# --- one key rule (issue 12.8) -------------------------------------------------------------


@pytest.mark.anyio
async def test_default_runner_follows_the_one_key_rule() -> None:
    from oairt_core.testing import FAKE_API_KEY, accepts_api_key

    async with run_fake_server() as server:
        assert server.api_key == FAKE_API_KEY
        for key in ("sk-anything-at-all", FAKE_API_KEY):
            assert accepts_api_key(key, None)
            async with oairt_anyio.open_realtime(
                api_key=key, model="gpt-realtime", base_url=server.url
            ) as conn:
                assert name((await collect_until(conn, "session.created"))[0]) == "session.created"
    async with run_fake_server(api_keys=["sk-only-this-one"]) as server:
        assert server.api_key == "sk-only-this-one"
        assert not accepts_api_key(FAKE_API_KEY, ["sk-only-this-one"])
        with pytest.raises(HandshakeError) as info:
            async with oairt_anyio.open_realtime(
                api_key=FAKE_API_KEY, model="gpt-realtime", base_url=server.url
            ):
                pass
        assert info.value.status_code == 401


def test_key_rule_is_stated_once_and_quoted_everywhere() -> None:
    from pathlib import Path

    import oairt_anyio.testing as runner
    from oairt_anyio._cli import build_parser
    from oairt_core.testing import API_KEY_RULE, FakeRealtimeService

    root = Path(__file__).resolve().parent.parent
    import argparse

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    help_text = " ".join(sub.choices["fake-server"].format_help().split())
    assert API_KEY_RULE in help_text
    assert API_KEY_RULE in " ".join((root / "docs" / "cli.md").read_text().split())
    assert "API_KEY_RULE" in (runner.run_fake_server.__doc__ or "")
    assert "accepts_api_key" in (FakeRealtimeService.__doc__ or "")


# --- waiting for events, errors from the block (issue 12.11) --------------------------------


@pytest.mark.anyio
async def test_wait_for_client_event_with_a_predicate_and_an_index() -> None:
    script = Script().call_function("get_weather", '{"city":"Oslo"}').say("Cold.")
    async with run_fake_server(script=script) as server:

        async def app() -> None:
            async with oairt_anyio.open_realtime(
                api_key=server.api_key, model="gpt-realtime", base_url=server.url
            ) as conn:
                await collect_until(conn, "session.created")
                await conn.send_raw(
                    '{"type":"conversation.item.create","item":{"type":"message","role":"user",'
                    '"content":[{"type":"input_text","text":"Weather?"}]}}'
                )
                await conn.send(ResponseCreateEvent())
                events = await collect_until(conn, "response.done")
                call = events[-1].response.output[0]
                await conn.send_raw(
                    '{"type":"conversation.item.create","item":{"type":"function_call_output",'
                    f'"call_id":"{call.call_id}","output":"cold"}}}}'
                )
                await conn.send(ResponseCreateEvent())
                await collect_until(conn, "response.done")

        async with anyio.create_task_group() as tg:
            tg.start_soon(app)
            output = await server.wait_for_client_event(
                "conversation.item.create", lambda e: e["item"]["type"] == "function_call_output"
            )
            second = await server.wait_for_client_event("conversation.item.create", index=1)
            first = await server.wait_for_client_event("conversation.item.create")
            done = await server.wait_for_server_event("response.done", index=1)
    assert output["item"]["output"] == "cold"
    assert second == output
    assert first["item"]["type"] == "message"
    assert done["response"]["output"][0]["content"][0]["transcript"] == "Cold."
    creates = [e for e in server.received_events if e["type"] == "conversation.item.create"]
    assert creates == [first, second]
    assert server.sent_events[0]["type"] == "session.created"


@pytest.mark.anyio
async def test_wait_for_an_event_that_never_comes_times_out() -> None:
    async with run_fake_server() as server:
        with pytest.raises(TimeoutError):
            await server.wait_for_client_event("response.create", timeout=0.05)
        with pytest.raises(ValueError):
            await server.wait_for_client_event("response.create", index=-1)


@pytest.mark.anyio
async def test_an_error_in_the_block_leaves_unwrapped() -> None:
    class AppBug(Exception):
        pass

    with pytest.raises(AppBug) as info:
        async with run_fake_server():
            raise AppBug("from the test body")
    assert type(info.value) is AppBug and str(info.value) == "from the test body"
