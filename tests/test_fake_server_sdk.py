"""The fake server against the official openai SDK: its models and its WebSocket client."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from oairt_core.audio import silence, synth_speech
from oairt_core.testing import (
    FakeRealtimeService,
    FakeRestApi,
    MemoryClient,
    Script,
    call_function,
    fail,
    mcp_approval_request,
    mcp_call,
    mcp_list_tools,
    say,
    transcription,
)

pydantic = pytest.importorskip("pydantic")
rt = pytest.importorskip("openai.types.realtime")
ADAPTER: Any = pydantic.TypeAdapter(rt.RealtimeServerEvent)


def speech_turn(speech_ms: int = 1200, seed: int = 1) -> bytes:
    audio = np.concatenate([silence(500), synth_speech(speech_ms, seed=seed), silence(800)])
    return audio.astype("<i2").tobytes()


def append_all(client: MemoryClient, pcm: bytes, chunk: int = 4800) -> None:
    for i in range(0, len(pcm), chunk):
        client.send(
            {
                "type": "input_audio_buffer.append",
                "audio": base64.b64encode(pcm[i : i + chunk]).decode(),
            }
        )


def full_session() -> list[dict[str, Any]]:
    """A scripted session touching every kind of output the fake can produce."""
    script = Script(
        say("Hello there, how can I help?"),
    )
    script.reply(call_function("get_weather", '{"city": "Paris"}', call_id="call_w1"))
    script.say("It is sunny in Paris.")
    script.reply(mcp_list_tools("docs", [{"name": "search", "input_schema": {"type": "object"}}]))
    script.reply(mcp_call("docs", "search", '{"q": "x"}', output="found"))
    script.reply(
        mcp_call("docs", "search", "{}", error={"type": "tool_execution_error", "message": "boom"})
    )
    script.reply(mcp_approval_request("docs", "delete", '{"id": 1}', output="deleted"))
    script.say("Done.")
    script.reply(fail("model overloaded", code="server_error"))
    script.transcribe("What's the weather?")
    script.transcriptions.append(transcription(None, error={"message": "unintelligible"}))
    svc = FakeRealtimeService(script=script)
    c = MemoryClient(svc)
    events = c.events()
    c.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
                "include": ["item.input_audio_transcription.logprobs"],
                "tools": [
                    {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
                ],
            },
        }
    )
    append_all(c, speech_turn())  # VAD turn -> "Hello there"
    c.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "weather?"}],
            },
        }
    )
    c.send({"type": "response.create"})  # function call
    c.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": "call_w1",
                "output": '{"sky": "clear"}',
            },
        }
    )
    c.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    c.send({"type": "response.create"})  # mcp list tools
    c.send({"type": "response.create"})  # mcp call
    c.send({"type": "response.create"})  # mcp call failing
    c.send({"type": "response.create"})  # approval request
    events += c.events()
    approval = next(
        e
        for e in events
        if e["type"] == "response.output_item.done" and e["item"]["type"] == "mcp_approval_request"
    )
    req_id = approval["item"]["id"]
    c.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "mcp_approval_response",
                "id": "apr_1",
                "approval_request_id": req_id,
                "approve": True,
            },
        }
    )
    c.send({"type": "response.create"})  # mcp_call (approved) + "Done."
    c.send({"type": "response.create"})  # fail
    append_all(c, speech_turn(seed=2))  # transcription failure + echo reply
    events += c.events()
    user_item = next(e for e in events if e["type"] == "input_audio_buffer.committed")["item_id"]
    c.send({"type": "conversation.item.retrieve", "item_id": user_item})
    c.send({"type": "input_audio_buffer.clear"})
    c.send({"type": "input_audio_buffer.commit"})  # error: empty
    c.send({"type": "response.cancel"})  # error: nothing active
    events += c.events()
    assert [v.code for v in svc.violations] == ["input_audio_buffer_commit_empty"]
    # A SIP sideband connection: output_audio_buffer.* and DTMF events.
    rest = FakeRestApi({"sk-test"})
    call_id, _, _ = rest.simulate_incoming_sip_call()
    rest.handle(
        "POST",
        f"/v1/realtime/calls/{call_id}/accept",
        [(b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json")],
        b'{"type": "realtime"}',
    )
    side = MemoryClient(
        FakeRealtimeService(rest=rest, script=Script(say("Hi caller"), say("again"))),
        target=f"/v1/realtime?call_id={call_id}",
    )
    side.send({"type": "response.create"})
    side.send({"type": "output_audio_buffer.clear"})
    side.server.send_dtmf("7", 1750000000)
    side.advance(0.0)
    events += side.events()
    # Item truncate/delete, a failed MCP listing and the idle timeout.
    more = MemoryClient(
        FakeRealtimeService(
            script=Script(say("Long enough", duration_ms=800), mcp_list_tools("x", failed=True))
        )
    )
    more.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "idle_timeout_ms": 1000}}
                },
            },
        }
    )
    more.send({"type": "response.create"})
    got = more.events()
    item_id = next(e for e in got if e["type"] == "response.output_item.done")["item"]["id"]
    more.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 300,
        }
    )
    more.send({"type": "conversation.item.delete", "item_id": item_id})
    more.advance(5.0)  # idle timeout -> timeout_triggered + a response (the failed MCP listing)
    diarize = MemoryClient(target="/v1/realtime?intent=transcription")
    diarize.send(
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe-diarize"}}},
            },
        }
    )
    append_all(diarize, speech_turn())
    events += diarize.events()
    events += got + more.events()
    return events


def test_every_emitted_event_validates_in_sdk_union() -> None:
    events = full_session()
    types = {e["type"] for e in events}
    for e in events:
        model = ADAPTER.validate_python(e)
        assert model.type == e["type"]
        # No field the SDK does not know (extra="allow" would hide typos).
        extra = dict(getattr(model, "model_extra", None) or {})
        # The wire's padding on deltas (GA_PROTOCOL.md i and x.1), not declared by the SDK.
        extra.pop("obfuscation", None)
        assert not extra, (e["type"], extra)
    expected = {
        "session.created",
        "session.updated",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.input_audio_transcription.failed",
        "response.created",
        "rate_limits.updated",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_text.delta",
        "response.output_text.done",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
        "error",
        "input_audio_buffer.cleared",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "output_audio_buffer.cleared",
        "input_audio_buffer.dtmf_event_received",
        "conversation.item.retrieved",
        "conversation.item.truncated",
        "conversation.item.deleted",
        "mcp_list_tools.failed",
        "input_audio_buffer.timeout_triggered",
        "conversation.item.input_audio_transcription.segment",
    }
    assert expected <= types, expected - types


def test_nested_objects_have_no_unknown_fields() -> None:
    """Walk the validated models: every nested object is fully known to the SDK."""

    def walk(m: Any, path: str) -> None:
        if isinstance(m, pydantic.BaseModel):
            extra = m.model_extra or {}
            # The session object carries id/object/expires_at on the wire (GA_PROTOCOL x.1).
            allowed = {"id", "object", "expires_at"} if path.endswith("session") else set()
            allowed.add("obfuscation")
            assert set(extra) <= allowed, (path, extra)
            for name in type(m).model_fields:
                walk(getattr(m, name), f"{path}.{name}")
        elif isinstance(m, list):
            for i, v in enumerate(m):
                walk(v, f"{path}[{i}]")

    for e in full_session():
        walk(ADAPTER.validate_python(e), e["type"])


def test_session_created_matches_sdk_request_model() -> None:
    c = MemoryClient()
    created = c.events()[0]
    session = created["session"]
    model = rt.RealtimeSessionCreateRequest.model_validate(session)
    assert model.audio is not None and model.audio.input is not None
    td = model.audio.input.turn_detection
    assert td is not None and td.type == "server_vad"
    assert (td.threshold, td.prefix_padding_ms, td.silence_duration_ms) == (0.5, 300, 200)
    assert session["max_output_tokens"] == "inf"
    assert session["id"].startswith("sess_") and session["object"] == "realtime.session"
    t = MemoryClient(target="/v1/realtime?intent=transcription").events()[0]["session"]
    rt.RealtimeTranscriptionSessionCreateRequest.model_validate(t)
    assert t["type"] == "transcription"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_official_sdk_completes_a_voice_turn(anyio_backend: str) -> None:
    from openai import AsyncOpenAI

    from oairt_anyio.testing import run_fake_server

    async with run_fake_server(script=Script(say("Hello from the fake server."))) as server:
        client = AsyncOpenAI(api_key="sk-test", websocket_base_url=server.url)
        async with client.realtime.connect(model="gpt-realtime") as conn:
            await conn.session.update(
                session={
                    "type": "realtime",
                    "audio": {"input": {"transcription": {"model": "gpt-4o-mini-transcribe"}}},
                }
            )
            pcm = speech_turn()
            for i in range(0, len(pcm), 9600):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(pcm[i : i + 9600]).decode()
                )
            types: list[str] = []
            audio = b""
            transcript = ""
            async for ev in conn:
                types.append(ev.type)
                if ev.type == "response.output_audio.delta":
                    audio += base64.b64decode(ev.delta)
                if ev.type == "response.output_audio_transcript.done":
                    transcript = ev.transcript
                if ev.type == "response.done":
                    assert ev.response.status == "completed"
                    assert ev.response.usage is not None and ev.response.usage.total_tokens
                    break
        await client.close()
    assert types[0] == "session.created"
    order = [
        t
        for t in types
        if t
        in (
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "response.created",
            "response.done",
        )
    ]
    assert order == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "response.created",
        "response.done",
    ]
    assert transcript == "Hello from the fake server."
    assert len(audio) > 24000  # more than half a second of PCM16 24 kHz
    assert not server.violations
    sent = json.dumps(server.connections[0].received_events)
    assert "session.update" in sent


def test_every_emitted_event_decodes_with_oairt_codec() -> None:
    from oairt_core.codec import decode_server_event
    from oairt_core.events import UnknownServerEvent

    for e in full_session():
        ev = decode_server_event(json.dumps(e))
        assert not isinstance(ev, UnknownServerEvent), e["type"]
        assert type(ev).__struct_config__.tag == e["type"]


def test_obfuscation_padding_is_on_by_default_and_can_be_turned_off() -> None:
    for flag in (True, False):
        c = MemoryClient(FakeRealtimeService(script=Script(say("Padded words")), obfuscation=flag))
        c.send({"type": "response.create"})
        deltas = [e for e in c.events() if e["type"] == "response.output_audio_transcript.delta"]
        assert deltas and all(("obfuscation" in d) is flag for d in deltas)
