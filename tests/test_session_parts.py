"""The voice session's parts, each alone: Playback, ToolCallTracker, McpApprovals, Outbox, items."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core._actions import Outbox
from oairt_core._conversation import SessionMirror, _ItemList
from oairt_core._mcp import McpApprovals
from oairt_core._playback import RECENT, Playback
from oairt_core._tool_calls import ToolCallTracker
from oairt_core.errors import InvalidArgument, InvalidArgumentType, OairtError
from oairt_core.events import (
    ConversationItemCreateEvent,
    ConversationItemTruncateEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
)
from oairt_core.models import InputTextContent, MessageItem, RealtimeResponse
from oairt_core.tools import ToolRegistry, tool
from oairt_core.voice import ProtocolViolation, ToolCall, ToolResult

# ---------------------------------------------------------------- Playback


def test_playback_heard_is_reported_or_realtime_and_clamped() -> None:
    p = Playback()
    pcm, start = p.on_delta("a1", "r1", 0, "pcm", b"\x00" * 4800, now=10.0)  # 100 ms
    assert len(pcm) == 2400 and start == 0.0
    _, start2 = p.on_delta("a1", "r1", 0, "pcm", b"\x00" * 4800, now=10.1)
    assert start2 == 100.0 and p.received_ms("a1") == 200.0
    assert p.heard_ms("a1", now=10.05) == pytest.approx(50.0)  # real time since first delta
    assert p.heard_ms("a1", now=99.0) == 200.0  # never more than received
    p.mark_played("a1", 120)
    assert p.heard_ms("a1", now=99.0) == 120.0  # the app's report wins
    p.played_until(30)
    assert p.heard_ms("a1", now=99.0) == 30.0
    assert p.heard_ms("unknown", now=1.0) == 0.0


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, -math.inf])
def test_mark_played_refuses_negative_and_non_finite(bad: float) -> None:
    p = Playback()
    with pytest.raises(InvalidArgument) as info:
        p.mark_played("a1", bad)
    assert isinstance(info.value, ValueError) and isinstance(info.value, OairtError)


def test_mark_played_refuses_non_numbers() -> None:
    with pytest.raises(InvalidArgumentType) as info:
        Playback().mark_played("a1", "12")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)


def test_playback_memory_is_bounded() -> None:
    p = Playback()
    for i in range(10 * RECENT):
        p.on_delta(f"a{i}", f"r{i}", 0, "pcmu", b"\xff" * 8, now=0.0)
        p.mark_played(f"a{i}", 1.0)
        p.drop(f"r{i}")
    assert max(len(p.items), len(p.played), len(p.dropped)) <= RECENT
    assert p.is_dropped(f"r{10 * RECENT - 1}") and not p.is_dropped("r0")
    p.reset()
    assert p.current_item() is None and not p.items


# ---------------------------------------------------------------- ToolCallTracker


class Args(msgspec.Struct):
    x: int


@tool
def double(args: Args) -> int:
    """Double."""
    return args.x * 2


def _created(m: SessionMirror, rid: str) -> None:
    m.server_event(ResponseCreatedEvent(event_id="e", response=RealtimeResponse(id=rid)))


def _done(m: SessionMirror, rid: str) -> None:
    m.server_event(ResponseDoneEvent(event_id="e", response=RealtimeResponse(id=rid)))


def tracker() -> tuple[Outbox, SessionMirror, ToolCallTracker]:
    out, m = Outbox(), SessionMirror()
    return out, m, ToolCallTracker(out, m, ToolRegistry([double]))


def test_tracker_answers_in_call_order_after_response_done() -> None:
    out, m, t = tracker()
    _created(m, "r1")
    raw: Any = None
    t.on_call("c1", "double", '{"x": 1}', "r1", "i1", raw)
    t.on_call("c2", "double", '{"x": 2}', "r1", "i2", raw)
    t.on_call("c2", "double", '{"x": 2}', "r1", "i2", raw)  # announced twice: once
    actions = out.drain()
    assert [r.call_id for r in actions.start] == ["c1", "c2"]
    assert all(isinstance(e, ToolCall) for e in actions.deliver)
    t.tool_finished("c2", 4)
    t.tool_finished("c1", 2)
    assert out.drain().send == []  # the response is still in progress
    _done(m, "r1")
    t.response_done("r1")
    sent = out.drain().send
    assert [type(e) for e in sent] == [
        ConversationItemCreateEvent,
        ConversationItemCreateEvent,
        ResponseCreateEvent,
    ]
    assert [e.item.call_id for e in sent[:2]] == ["c1", "c2"]  # type: ignore[union-attr]
    t.tool_finished("c1", 9)  # a late report of an answered call is ignored
    assert out.drain().send == []


def test_tracker_abandon_cancels_running_calls_and_sends_nothing() -> None:
    out, m, t = tracker()
    _created(m, "r1")
    t.on_call("c1", "double", '{"x": 1}', "r1", None, None)  # type: ignore[arg-type]
    out.drain()
    assert t.abandon("r1") == ["c1"] and t.is_interrupted("r1")
    _done(m, "r1")
    t.response_done("r1")
    actions = out.drain()
    assert actions.cancel == ["c1"] and actions.send == [] and t.unfinished == 0


def test_tracker_without_auto_response_sends_outputs_only() -> None:
    out, m, t = tracker()
    t.auto_response = False
    t.on_call("c1", "double", '{"x": 1}', "r_unknown", None, None)  # type: ignore[arg-type]
    t.tool_finished("c1", 2)  # a response never announced: answered once calls finish
    assert [type(e) for e in out.drain().send] == [ConversationItemCreateEvent]


def test_tracker_error_result_carries_the_exception() -> None:
    out, m, t = tracker()
    t.on_call("c1", "double", '{"x": 1}', "r1", None, None)  # type: ignore[arg-type]
    out.drain()
    boom = KeyError("k")
    t.tool_finished("c1", error=boom)
    (result,) = out.drain().deliver
    assert isinstance(result, ToolResult) and result.is_error and result.exception is boom
    t2_out, _, t2 = tracker()
    t2.on_call("c1", "double", '{"x": 1}', "r1", None, None)  # type: ignore[arg-type]
    t2_out.drain()
    t2.tool_finished("c1", b"raw bytes")  # not serialisable: an error output, typed
    (result2,) = t2_out.drain().deliver
    assert isinstance(result2, ToolResult) and result2.is_error and result2.exception


# ---------------------------------------------------------------- McpApprovals


def test_mcp_request_answered_by_callback_job_then_response_create() -> None:
    from oairt_core.models import McpApprovalRequestItem

    out, m = Outbox(), SessionMirror()
    mcp = McpApprovals(out, ToolCallTracker(out, m), m, callback=lambda req: True)
    item = McpApprovalRequestItem(id="apr_1", server_label="s", name="n", arguments="{}")
    mcp.on_request(item, None, "r1")  # type: ignore[arg-type]
    mcp.on_request(item, None, "r1")  # type: ignore[arg-type]  # repeats are ignored
    actions = out.drain()
    (job,) = actions.approvals
    assert job.request.id == "apr_1" and len(actions.deliver) == 1
    mcp.approve(job.request)
    sent = out.drain().send
    assert [type(e) for e in sent] == [ConversationItemCreateEvent, ResponseCreateEvent]
    assert sent[0].item.approval_request_id == "apr_1"  # type: ignore[union-attr]


# ---------------------------------------------------------------- Outbox


def test_outbox_queue_checked_refuses_invalid_events() -> None:
    out = Outbox()
    bad = ConversationItemTruncateEvent(item_id="a", content_index=-1, audio_end_ms=0)
    assert not out.queue_checked(bad, None, "truncate")
    good = ConversationItemTruncateEvent(item_id="a", content_index=0, audio_end_ms=0)
    assert out.queue_checked(good, None, "truncate")
    actions = out.drain()
    assert actions.send == [good]
    (violation,) = actions.deliver
    assert isinstance(violation, ProtocolViolation) and violation.event is bad


# ---------------------------------------------------------------- the item list


def _item(i: str) -> MessageItem:
    return MessageItem(role="user", content=[InputTextContent(text=i)], id=i)


_ops = st.lists(
    st.tuples(st.sampled_from(["append", "after", "delete", "replace"]), st.integers(0, 30)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(ops=_ops, anchor=st.integers(0, 30))
def test_item_list_matches_a_plain_list(ops: list[tuple[str, int]], anchor: int) -> None:
    items = _ItemList()
    model: list[str] = []
    for op, k in ops:
        key = f"i{k}"
        if op == "append":
            items[key] = _item(key)
            if key not in model:
                model.append(key)
        elif op == "after":
            prev = f"i{anchor}"
            items.insert_after(prev, key, _item(key))
            if key not in model:
                model.insert(model.index(prev) + 1 if prev in model else len(model), key)
        elif op == "delete":
            if key in model:
                del items[key]
                model.remove(key)
            else:
                assert items.pop(key, None) is None
        elif key in model:
            items[key] = _item(key)
        assert list(items) == model and len(items) == len(model)
        assert list(reversed(model)) == list(reversed(list(items)))
    for key in model:
        assert key in items and items[key].id == key


def test_to_int16_refuses_stereo_and_int32_with_typed_errors() -> None:
    from oairt_core._voice_audio import to_int16

    with pytest.raises(InvalidArgument):
        to_int16(np.zeros((10, 2), dtype=np.int16))
    with pytest.raises(InvalidArgumentType) as info:
        to_int16(np.zeros(10, dtype=np.int32))
    assert isinstance(info.value, TypeError)
    with pytest.raises(InvalidArgument):
        to_int16(b"\x00")


def test_session_does_not_import_the_async_driver() -> None:
    import subprocess
    import sys

    code = (
        "import sys, oairt_core.voice\n"
        "assert 'oairt_core.voice_driver' not in sys.modules, 'session imports voice_driver'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
