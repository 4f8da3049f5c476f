"""The sans-IO VoiceSession, driven by hand-built server events (no I/O)."""

from __future__ import annotations

import base64
import json
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core import audio
from oairt_core._validation import MAX_APPEND_AUDIO_BYTES
from oairt_core.codec import decode_server_event, encode_client_event
from oairt_core.errors import LocalProtocolError, ToolError
from oairt_core.events import (
    ConversationItemCreateEvent,
    ConversationItemTruncateEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferCommitEvent,
    OutputAudioBufferClearEvent,
    ResponseCancelEvent,
    ResponseCreateEvent,
)
from oairt_core.models import FunctionCallOutputItem, FunctionTool, McpApprovalResponseItem
from oairt_core.voice import (
    AudioDelta,
    Error,
    InputTranscriptDelta,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    RawEvent,
    RealtimeBuilder,
    ResponseBuilder,
    ResponseDone,
    ResponseStarted,
    SessionReady,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    ToolCallRejected,
    ToolResult,
    TranscriptDelta,
    TranscriptDone,
    VoiceConfig,
    VoiceEvent,
    VoiceSession,
)

# ---------------------------------------------------------------- helpers

_n = 0


def srv(type: str, **fields: Any) -> Any:
    global _n
    _n += 1
    return decode_server_event(json.dumps({"type": type, "event_id": f"ev_{_n}", **fields}))


def created(rid: str) -> Any:
    return srv("response.created", response={"id": rid, "status": "in_progress", "output": []})


def done(rid: str, status: str = "completed", reason: str | None = None) -> Any:
    details = {"type": status, "reason": reason} if reason else None
    return srv(
        "response.done",
        response={
            "id": rid,
            "status": status,
            "status_details": details,
            "output": [],
            "usage": {"total_tokens": 7},
        },
    )


def audio_delta(rid: str, item: str, ms: int, value: int = 100) -> Any:
    pcm = np.full(ms * 24, value, dtype="<i2").tobytes()
    return srv(
        "response.output_audio.delta",
        response_id=rid,
        item_id=item,
        output_index=0,
        content_index=0,
        delta=base64.b64encode(pcm).decode(),
    )


def args_done(rid: str, call_id: str, name: str, arguments: str) -> Any:
    return srv(
        "response.function_call_arguments.done",
        response_id=rid,
        item_id=f"item_{call_id}",
        output_index=0,
        call_id=call_id,
        name=name,
        arguments=arguments,
    )


def handle(s: VoiceSession, event: Any, now: float) -> list[VoiceEvent]:
    """``feed`` and return the voice events; the other outputs stay queued for the test."""
    actions = s.feed(event, now)
    # feed() drains every output; put back what the tests read later with
    # events_to_send() / tool_runs() / tools_to_cancel() / approval_jobs().
    s._out.send.extend(actions.send)
    s._out.start.extend(actions.start)
    s._out.cancel.extend(actions.cancel)
    s._out.approvals.extend(actions.approvals)
    return actions.deliver


def sent(s: VoiceSession) -> list[dict[str, Any]]:
    return [json.loads(encode_client_event(e)) for e in s.events_to_send()]


def fresh(**kw: Any) -> VoiceSession:
    s = VoiceSession(VoiceConfig(**kw))
    s.start()
    s.events_to_send()
    return s


class SumArgs(msgspec.Struct):
    a: int
    b: int


def add(args: SumArgs) -> dict[str, int]:
    """Add two integers."""
    return {"sum": args.a + args.b}


async def mul(args: SumArgs) -> int:
    """Multiply."""
    return args.a * args.b


# ---------------------------------------------------------------- mapping


def test_basic_mapping() -> None:
    s = fresh()
    evs = handle(
        s, srv("session.created", session={"type": "realtime", "model": "gpt-realtime"}), 0.0
    )
    assert isinstance(evs[0], SessionReady)
    assert isinstance(
        handle(s, srv("input_audio_buffer.speech_started", audio_start_ms=5, item_id="u1"), 0)[0],
        SpeechStarted,
    )
    (stop,) = handle(s, srv("input_audio_buffer.speech_stopped", audio_end_ms=900, item_id="u1"), 0)
    assert isinstance(stop, SpeechStopped) and stop.audio_end_ms == 900
    (d,) = handle(
        s, srv("conversation.item.input_audio_transcription.delta", item_id="u1", delta="hel"), 0
    )
    assert isinstance(d, InputTranscriptDelta) and d.delta == "hel" and d.role == "user"
    (t,) = handle(
        s,
        srv(
            "conversation.item.input_audio_transcription.completed",
            item_id="u1",
            content_index=0,
            transcript="hello",
            usage={"type": "duration", "seconds": 1.0},
        ),
        0,
    )
    assert isinstance(t, InputTranscriptDone) and t.text == "hello" and t.transcript == "hello"
    (st_,) = handle(s, created("r1"), 0)
    assert st_ == ResponseStarted("r1")
    (a,) = handle(s, audio_delta("r1", "a1", 20, value=7), 0)
    assert isinstance(a, AudioDelta)
    assert a.pcm.dtype == np.int16 and len(a.pcm) == 480 and int(a.pcm[0]) == 7
    assert a.sample_rate == 24000 and a.duration_ms == 20.0 and a.response_id == "r1"
    (td,) = handle(
        s,
        srv(
            "response.output_audio_transcript.delta",
            response_id="r1",
            item_id="a1",
            output_index=0,
            content_index=0,
            delta="Hi",
        ),
        0,
    )
    assert isinstance(td, TranscriptDelta) and td.delta == "Hi"
    (tdone,) = handle(
        s,
        srv(
            "response.output_audio_transcript.done",
            response_id="r1",
            item_id="a1",
            output_index=0,
            content_index=0,
            transcript="Hi there",
        ),
        0,
    )
    assert isinstance(tdone, TranscriptDone) and tdone.text == "Hi there"
    (rd,) = handle(s, done("r1"), 0)
    assert isinstance(rd, ResponseDone) and rd.status == "completed"
    assert rd.usage is not None and rd.usage.total_tokens == 7
    (raw,) = handle(s, srv("input_audio_buffer.cleared"), 0)
    assert isinstance(raw, RawEvent) and raw.type == "input_audio_buffer.cleared"
    assert s.last_raw is raw.event


def test_text_output_maps_to_transcript_with_text_modality() -> None:
    s = fresh(output_modality="text")
    handle(s, created("r1"), 0)
    (d,) = handle(
        s,
        srv(
            "response.output_text.delta",
            response_id="r1",
            item_id="t1",
            output_index=0,
            content_index=0,
            delta="ok",
        ),
        0,
    )
    assert isinstance(d, TranscriptDelta) and d.modality == "text"


def test_server_error_is_surfaced() -> None:
    s = fresh()
    (e,) = handle(
        s, srv("error", error={"type": "invalid_request_error", "message": "bad", "code": "x"}), 0
    )
    assert isinstance(e, Error) and e.message == "bad" and e.code == "x"


def test_g711_output_is_decoded_at_8k() -> None:
    s = fresh(output_format="pcmu")
    handle(s, created("r1"), 0)
    pcm = (np.sin(np.arange(160) / 5) * 8000).astype(np.int16)
    enc = audio.ulaw_encode(pcm)
    (a,) = handle(
        s,
        srv(
            "response.output_audio.delta",
            response_id="r1",
            item_id="a1",
            output_index=0,
            content_index=0,
            delta=base64.b64encode(enc).decode(),
        ),
        0,
    )
    assert isinstance(a, AudioDelta)
    assert a.sample_rate == 8000 and len(a.pcm) == 160 and a.duration_ms == 20.0
    assert np.array_equal(a.pcm, audio.ulaw_decode(enc))
    assert s.received_ms("a1") == 20.0


def test_odd_byte_delta_carries_over() -> None:
    s = fresh()
    handle(s, created("r1"), 0)
    pcm = np.arange(10, dtype="<i2").tobytes()
    parts = [pcm[:3], pcm[3:]]
    got = []
    for p in parts:
        (a,) = handle(
            s,
            srv(
                "response.output_audio.delta",
                response_id="r1",
                item_id="a1",
                output_index=0,
                content_index=0,
                delta=base64.b64encode(p).decode(),
            ),
            0,
        )
        assert isinstance(a, AudioDelta)
        got.append(a.pcm)
    assert np.array_equal(np.concatenate(got), np.arange(10))


# ---------------------------------------------------------------- barge-in


def playing(s: VoiceSession, rid: str = "r1", item: str = "a1", ms: int = 1000) -> None:
    handle(s, created(rid), 0.0)
    for _ in range(ms // 100):
        handle(s, audio_delta(rid, item, 100), 0.0)


def test_barge_in_mid_reply_cancels_and_truncates_at_played() -> None:
    s = fresh()
    playing(s, ms=1000)
    s.mark_played("a1", 420)
    (ev,) = s.barge_in(now=100.0)
    assert isinstance(ev, Interrupted)
    assert (ev.response_id, ev.item_id, ev.audio_end_ms, ev.cancelled) == ("r1", "a1", 420, True)
    out = sent(s)
    assert [o["type"] for o in out] == ["response.cancel", "conversation.item.truncate"]
    assert out[0]["response_id"] == "r1" and out[0]["event_id"]
    assert out[1] == {
        "type": "conversation.item.truncate",
        "item_id": "a1",
        "content_index": 0,
        "audio_end_ms": 420,
    }
    # Late audio of the cancelled response is dropped, and so is buffered audio.
    assert handle(s, audio_delta("r1", "a1", 100), 100.0) == []
    buffered = AudioDelta(np.zeros(1, np.int16), 24000, "r1", "a1")
    assert s.is_discarded(buffered)
    (rd,) = handle(s, done("r1", "cancelled", "client_cancelled"), 100.0)
    assert isinstance(rd, ResponseDone) and rd.status == "cancelled"
    assert sent(s) == []  # no second truncate


def test_played_position_is_clamped_to_received() -> None:
    s = fresh()
    playing(s, ms=300)
    s.mark_played("a1", 5000)  # the app over-reports
    (ev,) = s.barge_in(now=1.0)
    assert isinstance(ev, Interrupted) and ev.audio_end_ms == 300


def test_without_reports_playback_is_assumed_realtime() -> None:
    s = fresh()
    handle(s, created("r1"), 10.0)
    for _ in range(10):
        handle(s, audio_delta("r1", "a1", 100), 10.0)
    (ev,) = s.barge_in(now=10.25)
    assert isinstance(ev, Interrupted) and ev.audio_end_ms == 250


def test_played_until_applies_to_current_item() -> None:
    s = fresh()
    playing(s, ms=500)
    s.played_until(123.9)
    (ev,) = s.barge_in(now=0.0)
    assert isinstance(ev, Interrupted) and ev.audio_end_ms == 123


def test_finished_response_is_not_cancelled_but_still_truncated() -> None:
    s = fresh()
    playing(s, ms=1000)
    handle(s, done("r1"), 0.0)
    s.mark_played("a1", 600)
    (ev,) = s.barge_in(now=0.5)
    assert isinstance(ev, Interrupted) and not ev.cancelled and ev.audio_end_ms == 600
    assert [o["type"] for o in sent(s)] == ["conversation.item.truncate"]


def test_fully_heard_finished_response_is_left_alone() -> None:
    s = fresh()
    playing(s, ms=500)
    handle(s, done("r1"), 0.0)
    s.mark_played("a1", 500)
    assert s.barge_in(now=9.0) == []
    assert sent(s) == []


def test_barge_in_with_nothing_playing_does_nothing() -> None:
    s = fresh()
    assert s.barge_in(now=0.0) == []
    assert sent(s) == []


def test_cancel_racing_response_done_gives_no_error() -> None:
    s = fresh()
    playing(s, ms=200)
    s.barge_in(now=0.1)
    cancel = next(o for o in sent(s) if o["type"] == "response.cancel")
    # The server had already finished: response.done arrives, then an error about our cancel.
    handle(s, done("r1"), 0.2)
    err = srv(
        "error",
        error={
            "type": "invalid_request_error",
            "code": "response_cancel_not_active",
            "message": "Cancellation failed: no active response found",
            "event_id": cancel["event_id"],
        },
    )
    assert handle(s, err, 0.3) == []
    # An unrelated error still reaches the app.
    other = srv("error", error={"type": "server_error", "message": "boom", "event_id": "x"})
    assert isinstance(handle(s, other, 0.4)[0], Error)


def test_auto_barge_in_on_speech_started() -> None:
    s = fresh(turn_detection=None)  # auto_barge_in defaults to on
    playing(s, ms=800)
    s.mark_played("a1", 300)
    evs = handle(s, srv("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u2"), 1.0)
    assert isinstance(evs[0], SpeechStarted)
    assert isinstance(evs[1], Interrupted) and evs[1].reason == "speech_started"
    assert evs[1].audio_end_ms == 300
    assert [o["type"] for o in sent(s)] == ["response.cancel", "conversation.item.truncate"]


def test_auto_barge_in_off() -> None:
    s = fresh(auto_barge_in=False)
    playing(s, ms=800)
    evs = handle(s, srv("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u2"), 1.0)
    assert [type(e) for e in evs] == [SpeechStarted]
    assert sent(s) == []


def test_server_side_interrupt_still_truncates_at_heard_position() -> None:
    s = fresh(auto_barge_in=False)
    playing(s, ms=800)
    s.mark_played("a1", 250)
    evs = handle(s, done("r1", "cancelled", "turn_detected"), 2.0)
    assert isinstance(evs[0], Interrupted)
    assert evs[0].reason == "server" and not evs[0].cancelled and evs[0].audio_end_ms == 250
    assert isinstance(evs[1], ResponseDone)
    assert [o["type"] for o in sent(s)] == ["conversation.item.truncate"]


def test_sideband_uses_output_audio_buffer_clear() -> None:
    s = VoiceSession(VoiceConfig(), sideband=True)
    handle(s, created("r1"), 0.0)
    handle(s, srv("output_audio_buffer.started", response_id="r1"), 0.0)
    (ev,) = s.barge_in(now=1.0)
    assert isinstance(ev, Interrupted) and ev.audio_end_ms is None and ev.cancelled
    out = s.events_to_send()
    assert [type(e) for e in out] == [ResponseCancelEvent, OutputAudioBufferClearEvent]
    assert not any(isinstance(e, ConversationItemTruncateEvent) for e in out)


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(st.integers(min_value=1, max_value=4801), min_size=1, max_size=8),
    played=st.one_of(st.none(), st.floats(min_value=0, max_value=1e6)),
    elapsed=st.floats(min_value=0, max_value=1e4),
    fmt=st.sampled_from(["pcm", "pcmu", "pcma"]),
    finished=st.booleans(),
)
def test_truncation_never_exceeds_received_audio(
    chunks: list[int], played: float | None, elapsed: float, fmt: str, finished: bool
) -> None:
    s = fresh(output_format=fmt)
    handle(s, created("r1"), 0.0)
    total = 0
    for n in chunks:
        total += n
        handle(
            s,
            srv(
                "response.output_audio.delta",
                response_id="r1",
                item_id="a1",
                output_index=0,
                content_index=0,
                delta=base64.b64encode(b"\x01" * n).decode(),
            ),
            0.0,
        )
    if finished:
        handle(s, done("r1"), 0.0)
    if played is not None:
        s.mark_played("a1", played)
    s.barge_in(now=elapsed)
    received_ms = total / (48 if fmt == "pcm" else 8)
    for e in s.events_to_send():
        if isinstance(e, ConversationItemTruncateEvent):
            assert 0 <= e.audio_end_ms <= received_ms
        if isinstance(e, ResponseCancelEvent):
            assert not finished


# ---------------------------------------------------------------- tools


def tools_session(**kw: Any) -> VoiceSession:
    cfg = RealtimeBuilder().tool(add).tool(mul).build().replace(**kw)
    s = VoiceSession(cfg)
    s.start()
    s.events_to_send()
    return s


def test_tool_call_round_trip() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    (call,) = handle(s, args_done("r1", "c1", "add", '{"a": 2, "b": 3}'), 0)
    assert isinstance(call, ToolCall) and call.arguments == SumArgs(2, 3)
    assert call.raw_arguments == '{"a": 2, "b": 3}'
    (run,) = s.tool_runs()
    assert run.call_id == "c1" and not run.is_async and run.func(*run.args) == {"sum": 5}
    s.tool_finished("c1", {"sum": 5})
    assert sent(s) == []  # the response is still in progress
    evs = handle(s, done("r1"), 0)
    assert any(isinstance(e, ResponseDone) for e in evs)
    out = sent(s)
    assert out == [
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "c1", "output": '{"sum":5}'},
        },
        {"type": "response.create"},
    ]


def test_invalid_arguments_answered_with_error_output() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    (rej, res) = handle(s, args_done("r1", "c1", "add", '{"a": "x"}'), 0)
    assert isinstance(rej, ToolCallRejected) and rej.reason == "invalid_arguments"
    assert (rej.call_id, rej.name, rej.raw_arguments) == ("c1", "add", '{"a": "x"}')
    assert isinstance(res, ToolResult) and res.is_error and "invalid arguments" in res.output
    assert isinstance(rej.exception, ToolError) and rej.message == res.output
    assert res.exception is rej.exception
    assert s.tool_runs() == []
    handle(s, done("r1"), 0)
    out = sent(s)
    assert out[0]["item"]["call_id"] == "c1"
    assert "error" in json.loads(out[0]["item"]["output"])
    assert out[1] == {"type": "response.create"}


def test_deeply_nested_arguments_are_answered_and_the_session_goes_on() -> None:
    from oairt_core.tools import tool

    @tool
    def ping() -> str:
        """No arguments."""
        return "pong"

    s = VoiceSession(RealtimeBuilder().tool(ping).build())
    s.start()
    s.events_to_send()
    handle(s, created("r1"), 0)
    hostile = "[" * 100_000 + "]" * 100_000  # msgspec raises RecursionError on this
    (rej, res) = handle(s, args_done("r1", "c1", "ping", hostile), 0)
    assert isinstance(rej, ToolCallRejected) and rej.reason == "invalid_arguments"
    assert isinstance(res, ToolResult) and res.is_error and "invalid arguments" in res.output
    assert s.tool_runs() == []
    handle(s, done("r1"), 0)
    assert sent(s)[0]["item"]["call_id"] == "c1"


def test_unknown_tool_and_raising_tool() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    (rej, res) = handle(s, args_done("r1", "c1", "nope", "{}"), 0)
    assert isinstance(rej, ToolCallRejected) and rej.reason == "unknown_tool"
    assert isinstance(res, ToolResult) and res.is_error and "unknown tool" in res.output
    handle(s, args_done("r1", "c2", "add", '{"a":1,"b":1}'), 0)
    boom = ValueError("broken")
    s.tool_finished("c2", error=boom)
    (res2,) = s.voice_events()
    assert isinstance(res2, ToolResult) and res2.is_error and "ValueError" in res2.output
    assert res2.exception is boom


def test_parallel_calls_answered_once_all_finish() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    handle(s, args_done("r1", "c1", "add", '{"a":1,"b":2}'), 0)
    handle(s, args_done("r1", "c2", "mul", '{"a":3,"b":4}'), 0)
    runs = s.tool_runs()
    assert [r.call_id for r in runs] == ["c1", "c2"] and runs[1].is_async
    handle(s, done("r1"), 0)
    s.tool_finished("c2", 12)
    assert sent(s) == []  # c1 still running
    s.tool_finished("c1", {"sum": 3})
    out = sent(s)
    assert [o["type"] for o in out] == [
        "conversation.item.create",
        "conversation.item.create",
        "response.create",
    ]
    assert [o["item"]["call_id"] for o in out[:2]] == ["c1", "c2"]


def test_output_item_done_does_not_duplicate_call() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    handle(s, args_done("r1", "c1", "add", '{"a":1,"b":2}'), 0)
    evs = handle(
        s,
        srv(
            "response.output_item.done",
            response_id="r1",
            output_index=0,
            item={"type": "function_call", "call_id": "c1", "name": "add", "arguments": "{}"},
        ),
        0,
    )
    assert evs == [] and s.tool_runs() != [] and s.tool_runs() == []


def test_auto_tool_response_off() -> None:
    s = tools_session(auto_tool_response=False)
    handle(s, created("r1"), 0)
    handle(s, args_done("r1", "c1", "add", '{"a":1,"b":2}'), 0)
    s.tool_finished("c1", 3)
    handle(s, done("r1"), 0)
    assert [o["type"] for o in sent(s)] == ["conversation.item.create"]


def test_barge_in_cancels_running_tools_of_that_response() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    handle(s, args_done("r1", "c1", "mul", '{"a":1,"b":2}'), 0)
    s.tool_runs()
    s.barge_in(now=0)
    assert s.tools_to_cancel() == ["c1"]
    s.tool_finished("c1", 2)  # a late report is ignored
    handle(s, done("r1", "cancelled"), 0)
    assert [o["type"] for o in sent(s)] == ["response.cancel"]


def test_manual_function_tool_is_answered_by_the_app() -> None:
    s = fresh(tools=(FunctionTool(name="lookup", parameters={"type": "object"}),))
    handle(s, created("r1"), 0)
    (call,) = handle(s, args_done("r1", "c1", "lookup", '{"q": 1}'), 0)
    assert isinstance(call, ToolCall) and call.arguments == '{"q": 1}'
    assert s.tool_runs() == []
    handle(s, done("r1"), 0)
    s.tool_finished("c1", "found")
    out = s.events_to_send()
    assert isinstance(out[0], ConversationItemCreateEvent)
    assert out[0].item == FunctionCallOutputItem(call_id="c1", output="found")
    assert isinstance(out[1], ResponseCreateEvent)


# ---------------------------------------------------------------- MCP


def approval_item_event(rid: str = "r1") -> Any:
    return srv(
        "response.output_item.done",
        response_id=rid,
        output_index=0,
        item={
            "type": "mcp_approval_request",
            "id": "apr_1",
            "server_label": "weather",
            "name": "get_forecast",
            "arguments": '{"city":"Paris"}',
        },
    )


@pytest.mark.parametrize("approve", [True, False])
def test_mcp_approval_by_method(approve: bool) -> None:
    s = fresh()
    handle(s, created("r1"), 0)
    (req,) = handle(s, approval_item_event(), 0)
    assert isinstance(req, McpApprovalRequest) and req.name == "get_forecast"
    # The same item again (conversation.item.done) is not a second request.
    again = srv(
        "conversation.item.done",
        item={
            "type": "mcp_approval_request",
            "id": "apr_1",
            "server_label": "weather",
            "name": "get_forecast",
            "arguments": "{}",
        },
    )
    assert handle(s, again, 0) == []
    if approve:
        s.approve(req)
    else:
        s.deny(req, reason="not today")
    out = s.events_to_send()
    assert len(out) == 1  # response.create waits for the response to end
    item = out[0].item  # type: ignore[union-attr]
    assert isinstance(item, McpApprovalResponseItem)
    assert item.approval_request_id == "apr_1" and item.approve is approve
    assert item.reason == (msgspec.UNSET if approve else "not today")
    handle(s, done("r1"), 0)
    assert [type(e) for e in s.events_to_send()] == [ResponseCreateEvent]


def test_mcp_approval_callback_creates_job_and_events() -> None:
    s = fresh(mcp_approval=lambda req: True)
    handle(s, created("r1"), 0)
    handle(s, approval_item_event(), 0)
    (job,) = s.approval_jobs()
    assert job.request.id == "apr_1" and job.callback(job.request) is True
    (ev,) = handle(s, srv("mcp_list_tools.completed", item_id="l1"), 0)
    assert ev == McpListTools("l1", "completed")
    (ev2,) = handle(s, srv("response.mcp_call.failed", item_id="m1", output_index=0), 0)
    assert isinstance(ev2, McpCall) and ev2.status == "failed"


# ---------------------------------------------------------------- audio in, responses


def test_send_pcm16_accepts_int16_float32_bytes() -> None:
    s = fresh()
    a = np.arange(2400, dtype=np.int16)
    (e1,) = s.send_pcm16(a)
    assert isinstance(e1, InputAudioBufferAppendEvent) and e1.audio == a.astype("<i2").tobytes()
    (e2,) = s.send_pcm16(np.zeros(480, dtype=np.float32))
    assert e2.audio == bytes(960)
    (e3,) = s.send_pcm16(a.tobytes())
    assert e3.audio == e1.audio
    # Resampled to 24 kHz as one stream: the resampler's tail comes with flush_input().
    e4 = s.send_pcm16(np.zeros(160, dtype=np.int16), sample_rate=16000) + s.flush_input()
    assert sum(len(e.audio) for e in e4) == 480
    with pytest.raises(ValueError):
        s.send_pcm16(b"\x00")
    with pytest.raises(TypeError):
        s.send_pcm16(np.zeros(4, dtype=np.complex64))


def test_send_pcm16_chunks_and_g711() -> None:
    s = fresh()
    big = np.zeros(24000 * 30, dtype=np.int16)  # 30 s = 1.44 MB
    evs = s.send_pcm16(big)
    assert len(evs) == 2 and sum(len(e.audio) for e in evs) == big.nbytes
    assert all(len(e.audio) < MAX_APPEND_AUDIO_BYTES for e in evs)
    assert all(encode_client_event(e) for e in evs)  # accepted by the GA rules
    evs = s.send_pcm16(big[:4800], max_chunk_bytes=1000)
    assert all(len(e.audio) <= 1000 for e in evs) and sum(len(e.audio) for e in evs) == 9600
    g = fresh(input_format="pcma")
    (e,) = g.send_pcm16(np.zeros(800, dtype=np.int16))  # 100 ms at 8 kHz
    assert e.audio == audio.alaw_encode(np.zeros(800, dtype=np.int16))


def test_push_to_talk_commit() -> None:
    s = fresh(turn_detection=None)
    with pytest.raises(LocalProtocolError):
        s.commit()
    s.send_pcm16(np.zeros(2399, dtype=np.int16))  # 99.96 ms: the server would refuse
    with pytest.raises(LocalProtocolError, match="100 ms"):
        s.commit()
    s.send_pcm16(np.zeros(1, dtype=np.int16))
    s.commit()
    assert [type(e) for e in s.events_to_send()] == [
        InputAudioBufferCommitEvent,
        ResponseCreateEvent,
    ]
    s.send_pcm16(np.zeros(2400, dtype=np.int16))
    s.commit(respond=False)
    assert [type(e) for e in s.events_to_send()] == [InputAudioBufferCommitEvent]
    s.clear_input()
    assert [o["type"] for o in sent(s)] == ["input_audio_buffer.clear"]


def test_response_builder() -> None:
    ev = (
        ResponseBuilder()
        .output_text()
        .instructions("Be concise.")
        .input_text("Summarize this.")
        .item_reference("item_9")
        .out_of_band()
        .metadata(topic="summary")
        .tools([add])
        .build()
    )
    wire = json.loads(encode_client_event(ev))["response"]
    assert wire["output_modalities"] == ["text"]
    assert wire["conversation"] == "none"
    assert wire["metadata"] == {"topic": "summary"}
    assert wire["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Summarize this."}],
        },
        {"type": "item_reference", "id": "item_9"},
    ]
    assert wire["tools"][0]["name"] == "add"
    from oairt_core.errors import InvalidClientEvent

    with pytest.raises(InvalidClientEvent):
        ResponseBuilder().metadata({str(i): "v" for i in range(17)}).build()
    s = fresh()
    s.create_response(ResponseBuilder().output_audio().voice("marin"))
    (out,) = sent(s)
    assert out["response"] == {
        "output_modalities": ["audio"],
        "audio": {"output": {"voice": "marin"}},
    }


def test_out_of_band_response_does_not_steal_barge_in() -> None:
    s = tools_session()
    playing(s, rid="r_voice", item="a1", ms=600)
    handle(s, created("r_oob"), 0.0)  # e.g. a ResponseBuilder().out_of_band() response
    assert s.active_response_id == "r_voice"  # the one the user hears
    handle(s, done("r_oob"), 0.0)
    assert s.active_response_id == "r_voice"
    s.mark_played("a1", 100)
    (ev,) = s.barge_in(now=0.0)
    assert isinstance(ev, Interrupted) and ev.response_id == "r_voice"
    out = sent(s)
    assert out[0] == {
        "type": "response.cancel",
        "response_id": "r_voice",
        "event_id": out[0]["event_id"],
    }


def test_tool_follow_up_waits_for_every_response_in_progress() -> None:
    s = tools_session()
    handle(s, created("r1"), 0)
    handle(s, created("r_oob"), 0)
    handle(s, args_done("r1", "c1", "add", '{"a":1,"b":2}'), 0)
    s.tool_finished("c1", 3)
    handle(s, done("r1"), 0)
    assert [o["type"] for o in sent(s)] == ["conversation.item.create"]
    handle(s, done("r_oob"), 0)
    assert [o["type"] for o in sent(s)] == ["response.create"]


def test_malformed_event_becomes_error_and_session_goes_on() -> None:
    from oairt_core.connection import MalformedServerEvent
    from oairt_core.errors import RemoteProtocolError

    s = fresh()
    bad = MalformedServerEvent(error=RemoteProtocolError("bad json"), raw=b"{")
    (ev,) = handle(s, bad, 0)
    assert isinstance(ev, Error) and ev.message == "bad json"
    assert isinstance(ev.exception, RemoteProtocolError)
    assert handle(s, created("r1"), 0) == [ResponseStarted("r1")]


def test_unknown_server_event_reaches_the_app_as_a_raw_event() -> None:
    from oairt_core.events import UnknownServerEvent

    s = fresh()
    unknown = srv("response.brand_new.thing", response_id="r1", payload={"x": 1})
    assert isinstance(unknown, UnknownServerEvent)
    (ev,) = handle(s, unknown, 0)
    assert isinstance(ev, RawEvent) and ev.type == "response.brand_new.thing"
    assert ev.raw is unknown and b'"payload"' in unknown.raw
    assert handle(s, created("r1"), 0) == [ResponseStarted("r1")]


def test_memory_stays_bounded_over_a_long_session() -> None:
    s = tools_session()
    for i in range(300):
        rid, item = f"r{i}", f"a{i}"
        handle(s, created(rid), float(i))
        handle(s, audio_delta(rid, item, 20), float(i))
        s.mark_played(item, 20)
        handle(s, args_done(rid, f"c{i}", "add", '{"a":1,"b":1}'), float(i))
        s.tool_finished(f"c{i}", 2)
        if i % 2:
            s.barge_in(now=float(i))
        handle(s, done(rid, "cancelled" if i % 2 else "completed"), float(i))
        s.events_to_send()
        s.voice_events()
        s.tool_runs()
        s.tools_to_cancel()
    sizes = [
        len(s.playback.items),
        len(s.playback.played),
        len(s.playback.dropped),
        len(s.conversation.responses_in_flight),
        len(s.tools._batches),
        len(s.tools._calls),
    ]
    assert max(sizes) <= 64, sizes


# ---------------------------------------------------------------- properties

_op = st.one_of(
    st.tuples(st.just("created"), st.integers(0, 3)),
    st.tuples(st.just("audio"), st.integers(0, 3), st.integers(1, 300)),
    st.tuples(st.just("done"), st.integers(0, 3), st.sampled_from(["completed", "cancelled"])),
    st.tuples(st.just("speech"), st.integers(0, 0)),
    st.tuples(st.just("call"), st.integers(0, 3), st.integers(0, 5)),
    st.tuples(st.just("finish"), st.integers(0, 5)),
    st.tuples(st.just("barge"), st.integers(0, 0)),
    st.tuples(st.just("played"), st.integers(0, 3), st.integers(0, 5000)),
)


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(_op, max_size=40), auto=st.booleans())
def test_random_event_sequences_keep_the_invariants(ops: list[tuple[Any, ...]], auto: bool) -> None:
    s = tools_session(auto_barge_in=auto)
    in_progress: set[str] = set()
    seq: dict[str, int] = {}  # order of response.created, as the server announced them
    next_seq = 0
    call_seq: dict[str, int] = {}  # call id -> seq of the response that made the call
    answered_since: int | None = None  # oldest response whose outputs await response.create
    received_ms: dict[str, float] = {}
    delivered: list[VoiceEvent] = []
    now = 0.0
    for op in ops:
        now += 0.05
        kind = op[0]
        if kind == "created":
            rid = f"r{op[1]}"
            delivered += handle(s, created(rid), now)
            if rid not in in_progress:
                seq[rid], next_seq = next_seq, next_seq + 1
            in_progress.add(rid)
        elif kind == "audio":
            rid, item = f"r{op[1]}", f"a{op[1]}"
            delivered += handle(s, audio_delta(rid, item, op[2]), now)
            received_ms[item] = received_ms.get(item, 0.0) + op[2]
        elif kind == "done":
            rid = f"r{op[1]}"
            delivered += handle(
                s, done(rid, op[2], "turn_detected" if op[2] == "cancelled" else None), now
            )
            in_progress.discard(rid)
        elif kind == "speech":
            delivered += handle(
                s, srv("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u"), now
            )
        elif kind == "call":
            delivered += handle(s, args_done(f"r{op[1]}", f"c{op[2]}", "add", '{"a":1,"b":2}'), now)
        elif kind == "finish":
            s.tool_finished(f"c{op[1]}", 3)
        elif kind == "barge":
            s.barge_in(now)
        else:
            s.mark_played(f"a{op[1]}", op[2])
        for v in [*delivered, *s.voice_events()]:
            if isinstance(v, ToolCall) and v.call_id not in call_seq:
                rid = v.response_id
                call_seq[v.call_id] = seq[rid] if rid in in_progress else next_seq
        delivered.clear()
        s.tool_runs()
        for e in s.events_to_send():
            if isinstance(e, ResponseCancelEvent):
                # Only what the session saw in progress is cancelled.
                assert e.response_id in in_progress
            elif isinstance(e, ConversationItemTruncateEvent):
                assert 0 <= e.audio_end_ms <= received_ms.get(e.item_id, 0.0)
            elif isinstance(e, ConversationItemCreateEvent):
                assert isinstance(e.item, FunctionCallOutputItem)
                cs = call_seq.pop(e.item.call_id)
                answered_since = cs if answered_since is None else min(answered_since, cs)
            elif isinstance(e, ResponseCreateEvent):
                # The automatic follow-up answers tool outputs, and never overlaps the
                # response that made the calls or one the server started after it (an
                # older response left without response.done does not hold it back).
                assert answered_since is not None
                assert all(seq[r] < answered_since for r in in_progress)
                answered_since = None


def test_server_cancel_after_everything_was_heard_needs_no_truncate() -> None:
    s = fresh(auto_barge_in=False)
    playing(s, ms=300)
    s.mark_played("a1", 300)
    evs = handle(s, done("r1", "cancelled", "turn_detected"), 1.0)
    assert [type(e) for e in evs] == [ResponseDone]
    assert sent(s) == []


def test_sideband_server_cancel_sends_nothing() -> None:
    s = VoiceSession(VoiceConfig(), sideband=True)
    handle(s, created("r1"), 0.0)
    handle(s, srv("output_audio_buffer.started", response_id="r1"), 0.0)
    handle(s, done("r1", "cancelled", "turn_detected"), 1.0)
    assert s.events_to_send() == []


def test_failing_approval_callback_denies_and_reports() -> None:
    s = fresh()
    handle(s, created("r1"), 0)
    (req,) = handle(s, approval_item_event(), 0)
    assert isinstance(req, McpApprovalRequest)
    s.approval_failed(req, RuntimeError("token sk-live-abcdefghijklmnop leaked"))
    (err,) = s.voice_events()
    assert isinstance(err, Error) and "sk-live" not in err.message
    (ev,) = s.events_to_send()
    item = ev.item  # type: ignore[union-attr]
    assert isinstance(item, McpApprovalResponseItem) and item.approve is False
