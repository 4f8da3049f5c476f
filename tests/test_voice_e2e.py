"""Voice sessions end to end against the fake server on loopback.

Every scenario runs with the anyio adapter on asyncio and trio, and with the trio
adapter on trio.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import msgspec
import numpy as np
import pytest

from oairt_anyio.testing import FakeServer, run_fake_server
from oairt_core import audio
from oairt_core.errors import LocalProtocolError
from oairt_core.events import ConversationItemDoneEvent
from oairt_core.models import FunctionCallOutputItem
from oairt_core.testing import Script
from oairt_core.testing.script import call_function, mcp_approval_request, say
from oairt_core.voice import (
    AudioDelta,
    Error,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    McpCall,
    RawEvent,
    RealtimeBuilder,
    ResponseBuilder,
    ResponseDone,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    ToolResult,
    TranscriptDone,
    VoiceEvent,
)
from tests.conftest import Adapter

pytestmark = pytest.mark.anyio

KEY = "sk-test-voice-000000"
Connect = Callable[..., Any]


@pytest.fixture
def connect(adapter: Adapter) -> Connect:
    opener: Connect = adapter.open_voice
    return opener


def builder() -> RealtimeBuilder:
    return RealtimeBuilder().api_key(KEY).voice_session().voice("marin")


async def collect_until(
    session: Any, stop: Callable[[VoiceEvent], bool], timeout: float = 10.0
) -> list[VoiceEvent]:
    out: list[VoiceEvent] = []
    with anyio.fail_after(timeout):
        while True:
            ev = await session.next_voice_event()
            assert ev is not None, f"session ended early after {[type(e).__name__ for e in out]}"
            out.append(ev)
            if stop(ev):
                return out


def done_with(status: str | None = None) -> Callable[[VoiceEvent], bool]:
    return lambda e: isinstance(e, ResponseDone) and (status is None or e.status == status)


def all_of(*preds: Callable[[VoiceEvent], bool]) -> Callable[[VoiceEvent], bool]:
    """True once every predicate has matched some event (in any order)."""
    pending = list(preds)

    def check(e: VoiceEvent) -> bool:
        pending[:] = [p for p in pending if not p(e)]
        return not pending

    return check


def is_raw(etype: str) -> Callable[[VoiceEvent], bool]:
    return lambda e: isinstance(e, RawEvent) and e.type == etype


def output_item_done(e: VoiceEvent) -> bool:
    return (
        isinstance(e, RawEvent)
        and isinstance(e.event, ConversationItemDoneEvent)
        and isinstance(e.event.item, FunctionCallOutputItem)
    )


def conn_of(server: FakeServer) -> Any:
    return server.connections[-1]


def received(server: FakeServer, etype: str) -> list[dict[str, Any]]:
    return [e for e in conn_of(server).received_events if e["type"] == etype]


def item_audio_ms(server: FakeServer, item_id: str) -> float:
    (item,) = [it for it in conn_of(server).conversation if it.id == item_id]
    return len(item.audio.get(0, b"")) / 48


def utterance(speech_ms: int = 700) -> np.ndarray[Any, np.dtype[np.int16]]:
    return np.concatenate(
        [audio.silence(200), audio.synth_speech(speech_ms, seed=3), audio.silence(900)]
    )


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeServer, Script]]:
    script = Script()
    async with run_fake_server(script=script, api_keys={KEY}) as server:
        yield server, script
        assert server.violations == []


@pytest.fixture
async def fake_realtime() -> AsyncIterator[tuple[FakeServer, Script]]:
    script = Script()
    async with run_fake_server(script=script, api_keys={KEY}, pacing="realtime") as server:
        yield server, script
        assert server.violations == []


# ------------------------------------------------------------------ a whole turn


async def test_full_voice_turn_with_vad(connect: Connect, fake: tuple[FakeServer, Script]) -> None:
    server, script = fake
    script.say("Hello there, friend.").transcribe("hi assistant")
    cfg = builder().vad_server_default().transcription("gpt-4o-transcribe").build()
    async with connect(cfg, base_url=server.url) as session:
        await session.send_pcm16(utterance())
        events = await collect_until(session, done_with())
    kinds = [type(e) for e in events]
    assert SpeechStarted in kinds and SpeechStopped in kinds
    assert kinds.index(SpeechStarted) < kinds.index(SpeechStopped)
    chunks = [e for e in events if isinstance(e, AudioDelta)]
    assert chunks and all(c.pcm.dtype == np.int16 and c.sample_rate == 24000 for c in chunks)
    total_ms = sum(c.duration_ms for c in chunks)
    assert total_ms == pytest.approx(55 * len("Hello there, friend."), abs=1)
    (said,) = [e for e in events if isinstance(e, TranscriptDone)]
    assert said.text == "Hello there, friend."
    (heard,) = [e for e in events if isinstance(e, InputTranscriptDone)]
    assert heard.text == "hi assistant"
    assert isinstance(events[-1], ResponseDone) and events[-1].status == "completed"
    assert not any(isinstance(e, Error) for e in events)


async def test_convenience_streams_and_response_builder(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.text("Short summary.")
    async with connect(builder().push_to_talk().build(), base_url=server.url) as session:
        await (
            ResponseBuilder()
            .output_text()
            .instructions("Be concise.")
            .input_text("Summarize this.")
            .metadata(kind="summary")
            .send(session)
        )
        tx = await session.next_transcript()
        assert tx is not None and tx.text == "Short summary." and tx.role == "assistant"
        await session.send_text("Say something")
        chunk = await session.next_audio_chunk()
        assert chunk is not None and len(chunk.pcm) > 0
    (create,) = received(server, "response.create")[:1]
    assert create["response"]["output_modalities"] == ["text"]
    assert create["response"]["metadata"] == {"kind": "summary"}
    assert create["response"]["input"][0]["content"][0]["text"] == "Summarize this."


class HookFailed(Exception):
    pass


async def test_a_raising_on_message_hook_is_an_error_event(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    """The app's own hook failing ends the session with a typed ``Error`` event that
    carries the exception: no ExceptionGroup from the session's reader task."""
    server, script = fake
    script.text("Short summary.")

    def hook(direction: str, text: str) -> None:
        if direction == "server" and '"response.created"' in text:
            raise HookFailed("the recorder broke")

    events: list[VoiceEvent] = []
    async with connect(builder().push_to_talk().build(), base_url=server.url, on_message=hook) as s:
        await s.send_text("Say something")
        with anyio.fail_after(10):
            while (ev := await s.next_voice_event()) is not None:
                events.append(ev)
    (error,) = [e for e in events if isinstance(e, Error)]
    assert isinstance(error.exception, HookFailed)
    assert events[-1] is error


async def test_push_to_talk(connect: Connect, fake: tuple[FakeServer, Script]) -> None:
    server, script = fake
    script.say("Got it.").transcribe("push to talk works")
    cfg = builder().push_to_talk().transcription("gpt-4o-transcribe").build()
    async with connect(cfg, base_url=server.url) as session:
        speech = audio.synth_speech(500).astype(np.float32) / 32768.0
        await session.send_pcm16(speech)  # float32 samples are converted
        await session.commit()
        events = await collect_until(session, done_with())
    assert not any(isinstance(e, (SpeechStarted, SpeechStopped)) for e in events)
    assert any(
        isinstance(e, InputTranscriptDone) and e.text == "push to talk works" for e in events
    )
    assert any(isinstance(e, TranscriptDone) and e.text == "Got it." for e in events)
    assert conn_of(server).session["audio"]["input"]["turn_detection"] is None
    assert len(received(server, "input_audio_buffer.commit")) == 1


async def test_stream_audio_with_backpressure(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.say("Streamed.")
    pcm = utterance()

    async def mic() -> AsyncIterator[np.ndarray[Any, np.dtype[np.int16]]]:
        for chunk in audio.chunk_pcm16(pcm, ms=40):
            yield chunk

    async with connect(builder().vad_server_default().build(), base_url=server.url) as session:
        await session.stream_audio_pcm16(mic())
        events = await collect_until(session, done_with())
    assert any(isinstance(e, SpeechStopped) for e in events)
    appended = sum(len(json.dumps(e)) > 0 for e in received(server, "input_audio_buffer.append"))
    assert appended == len(list(audio.chunk_pcm16(pcm, ms=40)))


async def test_stream_audio_of_an_endless_mic_returns_when_the_session_closes(
    connect: Connect,
) -> None:
    from oairt_core.testing.server import Faults

    # The server drops the session once it hears speech; the microphone never ends.
    faults = Faults(close_after="input_audio_buffer.speech_started", close_code=1011)
    pulled = 0

    async def endless_mic() -> AsyncIterator[np.ndarray[Any, np.dtype[np.int16]]]:
        nonlocal pulled
        while True:
            for chunk in audio.chunk_pcm16(utterance(), ms=40):
                pulled += 1
                yield chunk

    async with (
        run_fake_server(script=Script(), api_keys={KEY}, faults=faults) as server,
        connect(builder().vad_server_default().build(), base_url=server.url) as session,
    ):
        with anyio.fail_after(10):
            await session.stream_audio_pcm16(endless_mic())
        assert session.closed or session._conn.closed is not None
    # Each chunk is pulled only after the previous one was sent: the mic was not drained
    # into a buffer, and what the server received is what was pulled (minus in-flight).
    appended = len(received(server, "input_audio_buffer.append"))
    assert 0 < appended <= pulled
    assert pulled < 1000


async def test_transcription_only_session(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.transcribe("only words here")
    cfg = (
        RealtimeBuilder()
        .api_key(KEY)
        .transcription_session()
        .transcription("gpt-4o-transcribe", language="en")
        .vad_server_default()
        .noise_reduction("near_field")
        .build()
    )
    async with connect(cfg, base_url=server.url) as session:
        await session.send_pcm16(utterance())
        events = await collect_until(session, lambda e: isinstance(e, InputTranscriptDone))
    assert events[-1].text == "only words here"  # type: ignore[union-attr]
    assert conn_of(server).query.get("intent") == "transcription"
    assert conn_of(server).session["type"] == "transcription"
    assert received(server, "response.create") == []


async def test_live_update(connect: Connect, fake: tuple[FakeServer, Script]) -> None:
    server, _ = fake
    async with connect(builder().build(), base_url=server.url) as session:
        await collect_until(session, lambda e: type(e).__name__ == "SessionUpdated")
        await session.update(instructions="Talk like a pirate.", speed=1.2)
        await collect_until(session, lambda e: type(e).__name__ == "SessionUpdated")
    last = received(server, "session.update")[-1]["session"]
    assert last == {
        "type": "realtime",
        "instructions": "Talk like a pirate.",
        "audio": {"output": {"speed": 1.2}},
    }
    assert conn_of(server).session["instructions"] == "Talk like a pirate."


# ------------------------------------------------------------------ barge-in


async def test_barge_in_mid_reply_truncates_at_played_position(
    connect: Connect, fake_realtime: tuple[FakeServer, Script]
) -> None:
    server, script = fake_realtime
    script.reply(say("A long answer that keeps going.", duration_ms=3000))
    async with connect(builder().push_to_talk().build(), base_url=server.url) as session:
        await session.send_text("Tell me a story")
        received_ms = 0.0
        item_id = ""
        with anyio.fail_after(10):
            while received_ms < 300:
                chunk = await session.next_audio_chunk()
                assert chunk is not None
                received_ms += chunk.duration_ms
                item_id = chunk.item_id
        session.mark_played(item_id, 180)
        interrupted = await session.barge_in()
        assert isinstance(interrupted, Interrupted)
        assert interrupted.cancelled and interrupted.item_id == item_id
        assert interrupted.audio_end_ms == 180
        events = await collect_until(
            session, all_of(is_raw("conversation.item.truncated"), done_with("cancelled"))
        )
        await session.send_text("And now?")  # a later turn: no second Interrupted either
        events += await collect_until(session, done_with("completed"))
    # The manual barge-in is in the stream too, exactly once (issue 12, item 4).
    assert [e for e in events if isinstance(e, Interrupted)] == [interrupted]
    # Nothing of the cancelled reply after the barge-in reached the app, and no error.
    cut = events.index(interrupted)
    assert not any(isinstance(e, AudioDelta) and e.item_id == item_id for e in events[cut:])
    assert not any(isinstance(e, Error) for e in events)
    assert item_audio_ms(server, item_id) == 180
    (cancel,) = received(server, "response.cancel")
    assert cancel["response_id"] == interrupted.response_id


async def test_auto_barge_in_when_the_user_speaks(
    connect: Connect, fake_realtime: tuple[FakeServer, Script]
) -> None:
    server, script = fake_realtime
    script.reply(say("I will talk for quite a while.", duration_ms=3000))
    cfg = builder().vad_server(create_response=False).build()
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("Go")
        chunk = await session.next_audio_chunk()
        assert chunk is not None
        session.mark_played(chunk.item_id, 50)
        await session.send_pcm16(np.concatenate([audio.silence(100), audio.synth_speech(400)]))
        events = await collect_until(session, lambda e: isinstance(e, Interrupted))
        assert isinstance(events[-1], Interrupted)
        assert events[-1].reason == "speech_started" and events[-1].audio_end_ms == 50
        events += await collect_until(session, is_raw("conversation.item.truncated"))
        await session.send_text("And now?")  # a later turn: no second Interrupted either
        events += await collect_until(session, done_with("completed"))
    assert len([e for e in events if isinstance(e, Interrupted)]) == 1  # exactly one
    assert any(isinstance(e, SpeechStarted) for e in events)
    assert not any(isinstance(e, Error) for e in events)  # the server cancelled first: no error
    assert item_audio_ms(server, chunk.item_id) == 50


async def test_finished_response_is_not_cancelled(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.say("Quick reply here.")
    async with connect(builder().push_to_talk().build(), base_url=server.url) as session:
        await session.send_text("Hi")
        events = await collect_until(session, done_with("completed"))
        item_id = next(e.item_id for e in events if isinstance(e, AudioDelta))
        session.mark_played(item_id, 240)
        interrupted = await session.barge_in()
        assert interrupted is not None and not interrupted.cancelled
        assert interrupted.audio_end_ms == 240
        await collect_until(session, is_raw("conversation.item.truncated"))
    assert received(server, "response.cancel") == []
    assert item_audio_ms(server, item_id) == 240


async def test_barge_in_drops_audio_already_queued_for_the_app(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.say("Many chunks of this reply are waiting in the buffer, unplayed.")
    cfg = builder().push_to_talk().build()
    async with connect(cfg, base_url=server.url, event_buffer=1024) as session:
        await session.send_text("Hi")
        first = await session.next_audio_chunk()
        assert first is not None
        # The fast fake server sends the whole reply at once; once the core has seen its
        # response.done, everything before it sits in the session's buffer, unread.
        with anyio.fail_after(10):
            while session.core.active_response_id is not None:
                await anyio.sleep(0)
        assert len(session._buffer) > 2
        session.mark_played(first.item_id, 20)
        interrupted = await session.barge_in()
        assert interrupted is not None and not interrupted.cancelled
        assert interrupted.audio_end_ms == 20
        events = await collect_until(session, is_raw("conversation.item.truncated"))
    # The queued audio (and transcript) of the interrupted reply never reached the app.
    assert not any(isinstance(e, (AudioDelta, TranscriptDone, Error)) for e in events)
    assert any(isinstance(e, ResponseDone) for e in events)
    assert item_audio_ms(server, first.item_id) == 20


async def test_cancel_racing_response_done_is_silent(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.say("This reply is over before the cancel arrives.")
    # A one-event buffer: the core sees only a little past what the app has read, while
    # the fast fake server has already finished the response when the cancel arrives.
    cfg = builder().push_to_talk().build()
    async with connect(cfg, base_url=server.url, event_buffer=1) as session:
        await session.send_text("Hi")
        chunk = await session.next_audio_chunk()
        assert chunk is not None
        session.mark_played(chunk.item_id, 10)
        interrupted = await session.barge_in()
        assert interrupted is not None and interrupted.cancelled
        events = await collect_until(session, is_raw("conversation.item.truncated"))
    assert not any(isinstance(e, Error) for e in events)
    errors = [e for e in conn_of(server).sent_events if e["type"] == "error"]
    assert [e["error"]["code"] for e in errors] == ["response_cancel_not_active"]
    assert errors[0]["error"]["event_id"] == received(server, "response.cancel")[0]["event_id"]


# ------------------------------------------------------------------ tools


class SumArgs(msgspec.Struct):
    a: int
    b: int


def add(args: SumArgs) -> dict[str, int]:
    """Add two integers."""
    return {"sum": args.a + args.b}


@pytest.mark.parametrize(
    ("arguments", "is_error", "output"),
    [('{"a": 2, "b": 3}', False, '{"sum":5}'), ('{"a": "two"}', True, None)],
)
async def test_tool_call_valid_and_invalid(
    connect: Connect,
    fake: tuple[FakeServer, Script],
    arguments: str,
    is_error: bool,
    output: str | None,
) -> None:
    server, script = fake
    script.reply(call_function("add", arguments)).say("Done adding.")
    cfg = builder().push_to_talk().tool_desc("add", "Add two integers.", add).build()
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("add two and three")
        events = await collect_until(
            session, lambda e: isinstance(e, TranscriptDone) and e.text == "Done adding."
        )
    (result,) = [e for e in events if isinstance(e, ToolResult)]
    assert result.is_error is is_error
    calls = [e for e in events if isinstance(e, ToolCall)]
    if is_error:
        assert calls == [] and "invalid arguments" in result.output
    else:
        assert calls[0].arguments == SumArgs(2, 3) and result.output == output
    outputs = [
        e["item"]
        for e in received(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert [o["output"] for o in outputs] == [result.output]
    # send_text's response.create, then the automatic follow-up after the output.
    assert len(received(server, "response.create")) == 2


async def test_parallel_tools_answered_once_all_finish(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.reply(call_function("slow", "{}"), call_function("fast", "{}")).say("Both done.")
    fast_ran = anyio.Event()

    async def slow() -> str:
        """Waits for the fast tool: passes only if both run at the same time."""
        await fast_ran.wait()
        return "slow result"

    def fast() -> str:
        """Runs in a worker thread."""
        return "fast result"

    async def fast_async() -> str:
        fast_ran.set()
        return fast()

    cfg = (
        builder()
        .push_to_talk()
        .tool_desc("slow", "slow", slow)
        .tool_desc("fast", "fast", fast_async)
        .build()
    )
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("run both")
        events = await collect_until(
            session, lambda e: isinstance(e, TranscriptDone) and e.text == "Both done."
        )
    results = {e.name: e.output for e in events if isinstance(e, ToolResult)}
    assert results == {"slow": "slow result", "fast": "fast result"}
    kinds = [
        e["type"] if e["type"] != "conversation.item.create" else e["item"]["type"]
        for e in conn_of(server).received_events
        if e["type"] in ("conversation.item.create", "response.create")
    ]
    assert kinds == [
        "message",
        "response.create",
        "function_call_output",
        "function_call_output",
        "response.create",
    ]


async def test_sync_tool_runs_in_thread_and_auto_response_off(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.reply(call_function("add", '{"a": 40, "b": 2}'))
    cfg = builder().push_to_talk().tool(add).auto_tool_response(False).build()
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("add")
        await collect_until(session, output_item_done)
    assert len(received(server, "response.create")) == 1  # send_text's only
    items = [e["item"] for e in received(server, "conversation.item.create")]
    assert items[-1] == {
        "type": "function_call_output",
        "call_id": items[-1]["call_id"],
        "output": '{"sum":42}',
    }


# ------------------------------------------------------------------ MCP


@pytest.mark.parametrize("approve", [True, False])
async def test_mcp_approval_both_ways(
    connect: Connect, fake: tuple[FakeServer, Script], approve: bool
) -> None:
    server, script = fake
    script.reply(
        mcp_approval_request("weather", "get_forecast", '{"city":"Paris"}', output="sunny")
    )
    script.say("Here is the weather.")
    seen: list[McpApprovalRequest] = []

    async def decide(request: McpApprovalRequest) -> tuple[bool, str | None]:
        seen.append(request)
        return approve, None if approve else "not allowed"

    cfg = (
        builder()
        .push_to_talk()
        .mcp("weather", server_url="https://mcp.example.com", require_approval="always")
        .mcp_approval(decide)
        .build()
    )
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("weather in Paris?")
        events = await collect_until(
            session, lambda e: isinstance(e, TranscriptDone) and e.text == "Here is the weather."
        )
    assert [r.name for r in seen] == ["get_forecast"]
    assert any(isinstance(e, McpApprovalRequest) for e in events)
    (answer,) = [
        e["item"]
        for e in received(server, "conversation.item.create")
        if e["item"]["type"] == "mcp_approval_response"
    ]
    assert answer["approve"] is approve and answer["approval_request_id"] == seen[0].id
    calls = [e for e in events if isinstance(e, McpCall)]
    if approve:
        assert any(c.status == "completed" for c in calls)
        assert any(c.status == "done" and c.output == "sunny" for c in calls)
    else:
        assert calls == [] and answer["reason"] == "not allowed"


async def test_mcp_approval_by_method(connect: Connect, fake: tuple[FakeServer, Script]) -> None:
    server, script = fake
    script.reply(mcp_approval_request("weather", "get_forecast", "{}", output="rain"))
    script.say("Rain today.")
    cfg = builder().push_to_talk().mcp("weather", connector_id="connector_gmail").build()
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("weather?")
        (req,) = [
            e
            for e in await collect_until(session, lambda e: isinstance(e, McpApprovalRequest))
            if isinstance(e, McpApprovalRequest)
        ]
        await session.approve(req)
        events = await collect_until(session, lambda e: isinstance(e, TranscriptDone))
    assert any(isinstance(e, McpCall) and e.output == "rain" for e in events)


async def test_barge_in_cancels_running_tools(
    connect: Connect, fake_realtime: tuple[FakeServer, Script]
) -> None:
    server, script = fake_realtime
    script.reply(call_function("lookup", "{}"), say("While I look that up...", duration_ms=3000))
    started = anyio.Event()
    cancelled = anyio.Event()

    async def lookup() -> str:
        """Never finishes on its own."""
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()
        return "unreachable"

    cfg = builder().push_to_talk().tool_desc("lookup", "Look something up.", lookup).build()
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("look it up")
        chunk = await session.next_audio_chunk()
        assert chunk is not None
        with anyio.fail_after(5):
            await started.wait()
        interrupted = await session.barge_in()
        assert interrupted is not None and interrupted.cancelled
        with anyio.fail_after(5):
            await cancelled.wait()
        await collect_until(session, done_with("cancelled"))
    outputs = [
        e
        for e in received(server, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert outputs == []
    assert len(received(server, "response.create")) == 1


async def test_invalid_config_fails_before_connecting(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    from oairt_core.errors import InvalidClientEvent

    server, _ = fake
    with pytest.raises(InvalidClientEvent) as info:
        async with connect(builder().build(), base_url=server.url, speed=3.0):
            pass
    assert info.value.field == "session.audio.output.speed"
    assert server.connections == []


async def test_connection_loss_gives_error_then_end(connect: Connect) -> None:
    from oairt_core.errors import ConnectionClosedError
    from oairt_core.testing.server import Faults

    script = Script().say("This will be cut.")
    faults = Faults(close_after="response.output_audio.delta", close_code=1011)
    cfg = builder().push_to_talk().build()
    events: list[VoiceEvent] = []
    async with (
        run_fake_server(script=script, api_keys={KEY}, faults=faults) as server,
        connect(cfg, base_url=server.url) as session,
    ):
        await session.send_text("hi")
        with anyio.fail_after(10):
            while (ev := await session.next_voice_event()) is not None:
                events.append(ev)
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and isinstance(errors[0].exception, ConnectionClosedError)
    assert errors[0].exception.code == 1011


async def test_malformed_frame_is_reported_and_session_goes_on(connect: Connect) -> None:
    from oairt_core.testing.server import Faults

    script = Script().say("Still here.")
    faults = Faults(inject_after=("response.created", "{not json"))
    cfg = builder().push_to_talk().build()
    async with (
        run_fake_server(script=script, api_keys={KEY}, faults=faults) as server,
        connect(cfg, base_url=server.url) as session,
    ):
        await session.send_text("hi")
        events = await collect_until(session, done_with("completed"))
    assert sum(isinstance(e, Error) for e in events) == 1
    assert any(isinstance(e, TranscriptDone) and e.text == "Still here." for e in events)


async def test_unknown_server_event_passes_through_as_a_raw_event(connect: Connect) -> None:
    from oairt_core.events import UnknownServerEvent
    from oairt_core.testing.server import Faults

    script = Script().say("Still here.")
    frame = '{"type":"response.future_thing","event_id":"ev_new","extra":[1,2]}'
    faults = Faults(inject_after=("response.created", frame))
    cfg = builder().push_to_talk().build()
    async with (
        run_fake_server(script=script, api_keys={KEY}, faults=faults) as server,
        connect(cfg, base_url=server.url) as session,
    ):
        await session.send_text("hi")
        events = await collect_until(session, done_with("completed"))
    (raw,) = [e for e in events if is_raw("response.future_thing")(e)]
    assert isinstance(raw, RawEvent) and isinstance(raw.event, UnknownServerEvent)
    assert not any(isinstance(e, Error) for e in events)
    assert any(isinstance(e, TranscriptDone) and e.text == "Still here." for e in events)


async def test_sideband_barge_in_clears_the_output_buffer(
    connect: Connect, fake_realtime: tuple[FakeServer, Script]
) -> None:
    server, script = fake_realtime
    script.reply(say("Hello caller, this is a long greeting.", duration_ms=3000))
    rest = server.rest
    assert rest is not None
    status, headers, _ = rest.handle(
        "POST",
        "/v1/realtime/calls",
        [(b"authorization", f"Bearer {KEY}".encode()), (b"content-type", b"application/sdp")],
        b"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n",
    )
    assert status == 201
    call_id = dict(headers)[b"location"].decode().rsplit("/", 1)[-1]
    async with connect(builder().push_to_talk().build(), base_url=server.url, call_id=call_id) as s:
        assert s.core.sideband
        await s.send_text("hello?")
        await collect_until(s, is_raw("output_audio_buffer.started"))
        interrupted = await s.barge_in()
        assert interrupted is not None and interrupted.cancelled
        assert interrupted.audio_end_ms is None
        events = await collect_until(
            s, all_of(is_raw("output_audio_buffer.cleared"), done_with("cancelled"))
        )
    assert not any(isinstance(e, Error) for e in events)
    types = [e["type"] for e in conn_of(server).received_events]
    assert types.index("response.cancel") < types.index("output_audio_buffer.clear")
    assert "conversation.item.truncate" not in types
    assert conn_of(server).query.get("call_id") == call_id
    assert "model" not in received(server, "session.update")[0]["session"]


async def test_seed_style_builder_connect_ws(
    adapter: Adapter, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.say("Seed style.")
    realtime = adapter.Realtime
    async with (
        realtime.builder()
        .api_key(KEY)
        .model("gpt-realtime")
        .voice_session()
        .voice("alloy")
        .push_to_talk()
        .connect_ws(base_url=server.url) as session
    ):
        await session.send_text("hi")
        tx = await session.next_transcript()
    assert tx is not None and tx.text == "Seed style."
    assert conn_of(server).session["audio"]["output"]["voice"] == "alloy"


async def test_failing_approval_callback_fails_closed(
    connect: Connect, fake: tuple[FakeServer, Script]
) -> None:
    server, script = fake
    script.reply(mcp_approval_request("weather", "get_forecast", "{}", output="x"))
    script.say("I could not check the weather.")

    def broken(request: McpApprovalRequest) -> bool:
        raise RuntimeError("policy service down")

    cfg = (
        builder()
        .push_to_talk()
        .mcp("weather", server_url="https://mcp.example.com", require_approval="always")
        .mcp_approval(broken)
        .build()
    )
    async with connect(cfg, base_url=server.url) as session:
        await session.send_text("weather?")
        events = await collect_until(session, lambda e: isinstance(e, TranscriptDone))
    errors = [e for e in events if isinstance(e, Error)]
    assert len(errors) == 1 and "policy service down" in errors[0].message
    (answer,) = [
        e["item"]
        for e in received(server, "conversation.item.create")
        if e["item"]["type"] == "mcp_approval_response"
    ]
    assert answer["approve"] is False


# ------------------------------------------------------------------ environment defaults


async def test_key_and_endpoint_default_from_the_environment(
    connect: Connect, fake: tuple[FakeServer, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, script = fake
    script.text("From the environment.")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    # An http(s) URL is taken in its WebSocket flavour.
    monkeypatch.setenv("OAIRT_BASE_URL", server.url.replace("ws://", "http://", 1))
    async with connect(voice="marin") as session:
        await session.send_text("Hello")
        events = await collect_until(session, done_with())
    assert any(isinstance(e, TranscriptDone) and e.text == "From the environment." for e in events)
    assert received(server, "session.update")


async def test_explicit_key_and_endpoint_win_over_the_environment(
    connect: Connect, fake: tuple[FakeServer, Script], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, script = fake
    script.text("Explicit.")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-wrong-key-000000")
    monkeypatch.setenv("OAIRT_BASE_URL", "ws://127.0.0.1:9/v1")  # nothing listens there
    async with connect(builder().build(), base_url=server.url) as session:
        await session.send_text("Hello")
        events = await collect_until(session, done_with())
    assert any(isinstance(e, TranscriptDone) and e.text == "Explicit." for e in events)


async def test_no_key_anywhere_fails_before_connecting(
    connect: Connect, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # Connecting to this port would fail with ConnectError: the key is checked first.
    with pytest.raises(LocalProtocolError, match="OPENAI_API_KEY"):
        async with connect(voice="marin", base_url="ws://127.0.0.1:9/v1"):
            pass  # pragma: no cover


async def test_connect_voice_runs_in_a_group_of_your_own(
    adapter: Adapter, fake: tuple[FakeServer, Script]
) -> None:
    """``connect_voice(task_group_or_nursery, config)``: the same session, its tasks in
    the caller's group; ``aclose()`` ends it and leaves the group free to finish."""
    server, script = fake
    script.say("Hello from a group.")
    async with adapter.open_group() as group:
        session = await adapter.connect_voice(
            group, builder().push_to_talk().build(), base_url=server.url
        )
        await session.send_text("hi")
        events = await collect_until(session, done_with("completed"))
        await session.aclose()
        assert await session.next_voice_event() is None
    said = [e.text for e in events if isinstance(e, TranscriptDone)]
    assert said == ["Hello from a group."]
