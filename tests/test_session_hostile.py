"""What a hostile or broken server can do to a VoiceSession: never a crash, never quadratic.

Issue 13 items 1 and 9: server values the session echoes back are validated where
the client event is built (a ``ProtocolViolation`` instead of an exception), and
every event costs O(1) amortised with bounded state. The scaling tests use sizes
where the old quadratic code takes minutes; they assert behaviour and state
bounds, never timings.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oairt_core._conversation import MAX_IN_FLIGHT, SessionMirror
from oairt_core._validation import validate_client_event
from oairt_core.codec import decode_server_event
from oairt_core.connection import MalformedServerEvent
from oairt_core.errors import RemoteProtocolError
from oairt_core.events import (
    ConversationItemAddedEvent,
    ConversationItemCreateEvent,
    ConversationItemTruncateEvent,
    ResponseCancelEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseFunctionCallArgumentsDoneEvent,
)
from oairt_core.models import (
    FunctionCallOutputItem,
    FunctionTool,
    InputTextContent,
    MessageItem,
    RealtimeResponse,
)
from oairt_core.reconnect import ReconnectPolicy, ReconnectState
from oairt_core.voice import (
    Interrupted,
    McpApprovalRequest,
    ProtocolViolation,
    RealtimeBuilder,
    ToolCall,
    ToolCallRejected,
    ToolResult,
    VoiceConfig,
    VoiceEvent,
    VoiceSession,
)

_n = 0


def srv(type: str, **fields: Any) -> Any:
    global _n
    _n += 1
    return decode_server_event(json.dumps({"type": type, "event_id": f"ev_{_n}", **fields}))


def created(rid: str) -> Any:
    return srv("response.created", response={"id": rid, "status": "in_progress", "output": []})


def done(rid: str, status: str = "completed") -> Any:
    return srv("response.done", response={"id": rid, "status": status, "output": []})


def args_done(rid: str, call_id: str, name: str = "add", arguments: str = '{"a":1,"b":2}') -> Any:
    return srv(
        "response.function_call_arguments.done",
        response_id=rid,
        item_id=f"item_{call_id}",
        output_index=0,
        call_id=call_id,
        name=name,
        arguments=arguments,
    )


def audio(rid: str, item: str, content_index: int = 0, nbytes: int = 4800) -> Any:
    return srv(
        "response.output_audio.delta",
        response_id=rid,
        item_id=item,
        output_index=0,
        content_index=content_index,
        delta=base64.b64encode(b"\x01" * nbytes).decode(),
    )


class SumArgs(msgspec.Struct):
    a: int
    b: int


def add(args: SumArgs) -> int:
    """Add."""
    return args.a + args.b


def tools_session(**kw: Any) -> VoiceSession:
    s = VoiceSession(RealtimeBuilder().tool(add).build().replace(**kw))
    s.start()
    s.drain()
    return s


# ---------------------------------------------------------------- item 1: echoed values


def test_empty_call_id_is_reported_not_raised() -> None:
    s = tools_session()
    s.feed(created("r1"), 0.0)
    actions = s.feed(args_done("r1", ""), 0.0)
    (violation,) = actions.deliver
    assert isinstance(violation, ProtocolViolation) and "call_id" in violation.message
    assert actions.start == [] and actions.send == []
    # The session goes on: a good call in the same response is answered.
    s.feed(args_done("r1", "c1"), 0.0)
    s.tool_finished("c1", 3)
    out = s.feed(done("r1"), 0.0).send
    assert [type(e) for e in out] == [ConversationItemCreateEvent, ResponseCreateEvent]
    for e in out:
        validate_client_event(e)


def test_negative_content_index_then_speech_started_sends_no_invalid_truncate() -> None:
    s = tools_session()
    s.feed(created("r1"), 0.0)
    s.feed(audio("r1", "a1", content_index=-1), 0.0)
    actions = s.feed(srv("input_audio_buffer.speech_started", audio_start_ms=0, item_id="u"), 0.05)
    for e in actions.send:
        validate_client_event(e)
    assert [type(e) for e in actions.send] == [ResponseCancelEvent]  # the cancel still goes
    kinds = [type(e) for e in actions.deliver]
    assert ProtocolViolation in kinds and Interrupted in kinds
    violation = next(e for e in actions.deliver if isinstance(e, ProtocolViolation))
    assert isinstance(violation.event, ConversationItemTruncateEvent)
    assert "content_index" in violation.message
    interrupted = next(e for e in actions.deliver if isinstance(e, Interrupted))
    assert interrupted.audio_end_ms is None  # nothing was truncated
    assert s.feed(created("r2"), 1.0).deliver[0].response_id == "r2"  # type: ignore[union-attr]


def test_empty_mcp_approval_request_id_is_reported() -> None:
    s = VoiceSession(VoiceConfig(mcp_approval=lambda req: True))
    item = {
        "type": "mcp_approval_request",
        "id": "",
        "server_label": "x",
        "name": "y",
        "arguments": "{}",
    }
    actions = s.feed(srv("conversation.item.added", item=item), 0.0)
    assert [type(e) for e in actions.deliver] == [ProtocolViolation]
    assert actions.approvals == [] and actions.send == []


def test_violations_are_logged_on_the_oairt_logger(caplog: pytest.LogCaptureFixture) -> None:
    s = tools_session()
    with caplog.at_level(logging.WARNING, logger="oairt"):
        s.feed(args_done("r1", ""), 0.0)
    (record,) = [r for r in caplog.records if r.name == "oairt.voice"]
    assert record.levelno == logging.WARNING and "call_id" in record.getMessage()


_ids = st.sampled_from(["", "r1", "r2", "a1", "c1", "x" * 70])
_ints = st.integers(min_value=-(2**31), max_value=2**31)
_texts = st.one_of(st.sampled_from(["", "{}", '{"a":1,"b":2}', "[", "null"]), st.text(max_size=8))


def hostile(type: str, **fields: Any) -> Any:
    """The event the connection would hand over: decoded, or a MalformedServerEvent."""
    try:
        return srv(type, **fields)
    except RemoteProtocolError as exc:
        return MalformedServerEvent(error=exc, raw=b"{}")


def _server_event(draw: Any) -> Any:
    kind = draw(
        st.sampled_from(
            [
                "created",
                "done",
                "audio",
                "audio_done",
                "speech",
                "args",
                "fc_item",
                "approval",
                "error",
                "buffer",
                "transcript",
            ]
        )
    )
    rid, item, call = draw(_ids), draw(_ids), draw(_ids)
    if kind == "created":
        return hostile("response.created", response={"id": rid, "status": "in_progress"})
    if kind == "done":
        status = draw(st.sampled_from(["completed", "cancelled", "failed", "incomplete", ""]))
        return hostile("response.done", response={"id": rid, "status": status})
    if kind == "audio":
        data = base64.b64encode(b"\x01" * draw(st.integers(0, 99))).decode()
        return hostile(
            "response.output_audio.delta",
            response_id=rid,
            item_id=item,
            output_index=draw(_ints),
            content_index=draw(_ints),
            delta=data,
        )
    if kind == "audio_done":
        return hostile(
            "response.output_audio.done",
            response_id=rid,
            item_id=item,
            output_index=0,
            content_index=draw(_ints),
        )
    if kind == "speech":
        return hostile(
            "input_audio_buffer.speech_started", audio_start_ms=draw(_ints), item_id=item
        )
    if kind == "args":
        name = draw(st.sampled_from(["add", "manual", "nope", ""]))
        return hostile(
            "response.function_call_arguments.done",
            response_id=rid,
            item_id=item,
            output_index=0,
            call_id=call,
            name=name,
            arguments=draw(_texts),
        )
    if kind == "fc_item":
        fc = {"type": "function_call", "id": item, "call_id": call, "name": "add"}
        fc["arguments"] = draw(_texts)
        return hostile("response.output_item.done", response_id=rid, output_index=0, item=fc)
    if kind == "approval":
        apr = {
            "type": "mcp_approval_request",
            "id": item,
            "server_label": "s",
            "name": "n",
            "arguments": "{}",
        }
        return hostile("response.output_item.done", response_id=rid, output_index=0, item=apr)
    if kind == "error":
        eid = draw(st.one_of(st.none(), _ids))
        err: dict[str, Any] = {"type": "invalid_request_error", "message": "m"}
        if eid is not None:
            err["event_id"] = eid
        return hostile("error", error=err)
    if kind == "buffer":
        which = draw(st.sampled_from(["started", "stopped", "cleared"]))
        return hostile(f"output_audio_buffer.{which}", response_id=rid)
    return hostile(
        "response.output_audio_transcript.delta",
        response_id=rid,
        item_id=item,
        output_index=0,
        content_index=draw(_ints),
        delta="w",
    )


@st.composite
def _steps(draw: Any) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(0, 30))):
        what = draw(st.sampled_from(["event", "event", "event", "barge", "finish", "played"]))
        if what == "event":
            out.append(("event", _server_event(draw)))
        elif what == "finish":
            out.append(("finish", (draw(_ids), draw(st.booleans()))))
        elif what == "played":
            out.append(("played", (draw(_ids), draw(st.floats(0, 1e7)))))
        else:
            out.append(("barge", None))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=_steps(), sideband=st.booleans(), auto=st.booleans())
def test_hostile_sequences_never_raise_and_every_queued_event_validates(
    steps: list[tuple[str, Any]], sideband: bool, auto: bool
) -> None:
    manual = FunctionTool(name="manual", parameters={"type": "object"})
    cfg = RealtimeBuilder().tool(add).tool(manual).build().replace(auto_barge_in=auto)
    approvals: list[McpApprovalRequest] = []
    s = VoiceSession(cfg.replace(mcp_approval=None), sideband=sideband)
    s.start()
    now = 0.0
    for kind, value in steps:
        now += 0.01
        if kind == "event":
            actions = s.feed(value, now)  # must not raise, whatever the values
        else:
            if kind == "barge":
                s.barge_in(now)
            elif kind == "finish":
                call_id, fail = value
                s.tool_finished(call_id, None, error=RuntimeError("x") if fail else None)
            else:
                s.mark_played(*value)
            for request in approvals:
                s.approve(request)  # answering what the server asked never raises either
            approvals.clear()
            actions = s.drain()
        for event in actions.send:
            validate_client_event(event)
        approvals += [e for e in actions.deliver if isinstance(e, McpApprovalRequest)]


# ---------------------------------------------------------------- item 9: linear, bounded


def _call_event(rid: str, i: int) -> ResponseFunctionCallArgumentsDoneEvent:
    return ResponseFunctionCallArgumentsDoneEvent(
        event_id=f"e{i}",
        response_id=rid,
        item_id=f"i{i}",
        output_index=i,
        call_id=f"c{i}",
        name="add",
        arguments='{"a":1,"b":2}',
    )


def test_many_parallel_calls_of_one_response_are_answered_in_order() -> None:
    # 20,000 calls answered after response.done: linear work here (about 3 s); the
    # quadratic bookkeeping (every finished call rescanned the response's calls)
    # needed 46 s for 10,000 and about 3 minutes for this.
    n = 20_000
    s = tools_session()
    s.feed(created("r1"), 0.0)
    started = 0
    for i in range(n):
        started += len(s.feed(_call_event("r1", i), 0.0).start)
    assert started == n and s.tools.unfinished == n
    assert s.feed(done("r1"), 0.0).send == []  # tools still running
    for i in reversed(range(n)):  # tools end in any order
        s.tool_finished(f"c{i}", i)
        if i:
            assert not s._out.send  # nothing goes out before the last call is answered
    assert s.tools.unfinished == 0
    out = s.drain().send
    assert len(out) == n + 1 and isinstance(out[-1], ResponseCreateEvent)
    calls = [e.item.call_id for e in out[:-1]]  # type: ignore[union-attr]
    assert calls == [f"c{i}" for i in range(n)]  # call order, not finishing order
    assert s.tools._calls == {} and s.tools._batches == {}


def test_stale_response_does_not_hold_back_the_tool_follow_up() -> None:
    s = tools_session()
    s.feed(created("r_stale"), 0.0)  # never followed by response.done
    s.feed(created("r1"), 0.0)
    s.feed(args_done("r1", "c1"), 0.0)
    s.tool_finished("c1", 3)
    out = s.feed(done("r1"), 0.0).send
    assert [type(e) for e in out] == [ConversationItemCreateEvent, ResponseCreateEvent]


def test_a_response_started_after_the_calling_one_is_still_waited_for() -> None:
    s = tools_session()
    s.feed(created("r1"), 0.0)
    s.feed(created("r_later"), 0.0)
    s.feed(args_done("r1", "c1"), 0.0)
    s.tool_finished("c1", 3)
    assert [type(e) for e in s.feed(done("r1"), 0.0).send] == [ConversationItemCreateEvent]
    assert [type(e) for e in s.feed(done("r_later"), 0.0).send] == [ResponseCreateEvent]


def test_responses_without_done_keep_state_bounded() -> None:
    s = tools_session()
    answered = 0
    for i in range(5_000):
        sent = s.feed(created(f"r{i}"), 0.0).send
        sent += s.feed(args_done(f"r{i}", f"c{i}"), 0.0).send
        s.tool_finished(f"c{i}", i)
        sent += s.drain().send
        answered += sum(isinstance(e, ConversationItemCreateEvent) for e in sent)
    assert len(s.conversation.responses_in_flight) <= MAX_IN_FLIGHT
    assert len(s.tools._batches) <= MAX_IN_FLIGHT + 1
    assert len(s.tools._calls) <= MAX_IN_FLIGHT + 1
    # The batches of forgotten responses were answered, not dropped.
    assert answered >= 5_000 - MAX_IN_FLIGHT - 1


def test_mirror_inserts_after_previous_item_without_rebuilding() -> None:
    # 100,000 items each placed right after the first: O(n) here, O(n^2) (minutes)
    # when every insert rebuilt the item map.
    n = 100_000
    m = SessionMirror()

    def added(item_id: str, previous: str | None) -> ConversationItemAddedEvent:
        item = MessageItem(role="user", content=[InputTextContent(text="x")], id=item_id)
        return ConversationItemAddedEvent(event_id="e", item=item, previous_item_id=previous)

    m.server_event(added("first", None))
    for i in range(n):
        m.server_event(added(f"i{i}", "first"))
    order = list(m.items)
    assert len(order) == n + 1
    assert order[0] == "first" and order[1] == f"i{n - 1}" and order[-1] == "i0"
    assert order == ["first", *(f"i{i}" for i in reversed(range(n)))]


# ---------------------------------------------------------------- one shared tracker


def test_voice_session_and_reconnect_state_share_one_tracker() -> None:
    mirror = SessionMirror()
    s = VoiceSession(VoiceConfig(), conversation=mirror)
    state = ReconnectState(ReconnectPolicy(), rng=lambda: 1.0, mirror=mirror)
    assert s.conversation is mirror is state.mirror
    ev = created("r1")
    state.server_event(ev)
    s.feed(ev, 0.0)  # the same event fed by both counts once
    assert list(mirror.responses_in_flight) == ["r1"]
    assert mirror.next_response_seq == 1
    assert s.active_response_id == "r1"
    state.disconnected(1006, now=0.0)
    state.attempt_started()
    state.connected(now=1.0)  # the mirror forgets the old connection's responses
    s.connection_replaced()
    assert s.active_response_id is None
    assert s.barge_in(now=1.0) == []  # nothing of the old connection is cancelled


def test_connection_replaced_delivers_finished_tool_outputs() -> None:
    s = tools_session()
    s.feed(created("r1"), 0.0)
    s.feed(args_done("r1", "c1"), 0.0)
    s.tool_finished("c1", 3)
    assert s.drain().send == []  # waiting for response.done, which the drop took
    s.conversation.new_connection(replay_items=False)
    s.connection_replaced()
    out = s.drain().send
    assert [type(e) for e in out] == [ConversationItemCreateEvent, ResponseCreateEvent]
    assert isinstance(out[0].item, FunctionCallOutputItem)  # type: ignore[union-attr]


def test_response_created_struct_without_id_is_raw() -> None:
    s = VoiceSession(VoiceConfig())
    ev = ResponseCreatedEvent(event_id="e", response=RealtimeResponse(id=""))
    (raw,) = s.feed(ev, 0.0).deliver
    assert type(raw).__name__ == "RawEvent"


# ---------------------------------------------------------------- tool errors (issue 12 item 5)


def _events(s: VoiceSession, ev: Any) -> list[VoiceEvent]:
    return s.feed(ev, 0.0).deliver


def test_unknown_tool_name_is_not_echoed_back_whole() -> None:
    s = tools_session()
    s.feed(created("r1"), 0.0)
    huge = "n" * 1_000_000
    rejected, result = _events(s, args_done("r1", "c1", name=huge))
    assert isinstance(rejected, ToolCallRejected) and rejected.reason == "unknown_tool"
    assert isinstance(result, ToolResult) and result.is_error
    (out, _) = s.feed(done("r1"), 0.0).send
    assert isinstance(out, ConversationItemCreateEvent)
    assert isinstance(out.item, FunctionCallOutputItem)
    assert len(out.item.output) < 1_000 and "unknown tool" in out.item.output


def test_tool_exception_is_logged_with_traceback_and_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = tools_session()
    s.feed(created("r1"), 0.0)
    s.feed(args_done("r1", "c1"), 0.0)

    def failing() -> None:
        raise RuntimeError("db refused key sk-live-abcdefghijklmnop " + "y" * 5_000)

    try:
        failing()
    except RuntimeError as exc:
        error = exc
    with caplog.at_level(logging.DEBUG, logger="oairt"):
        s.tool_finished("c1", error=error)
    (result,) = s.voice_events()
    assert isinstance(result, ToolResult) and result.exception is error
    assert "RuntimeError" in result.output and "Traceback" not in result.output
    assert len(result.output) < 600 and "sk-live" not in result.output
    (record,) = [r for r in caplog.records if r.name == "oairt.tools"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert "Traceback" in caplog.text and "in failing" in caplog.text
    assert "sk-live-abcdefghijklmnop" not in caplog.text
    assert logging.getLogger("oairt").handlers == []  # the library adds no handler


def test_tool_call_of_manual_function_reaches_the_app() -> None:
    manual = FunctionTool(name="lookup", parameters={"type": "object"})
    s = VoiceSession(VoiceConfig(tools=(manual,)))
    s.feed(created("r1"), 0.0)
    (call,) = _events(s, args_done("r1", "c1", name="lookup"))
    assert isinstance(call, ToolCall) and call.arguments == '{"a":1,"b":2}'
