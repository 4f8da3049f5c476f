"""Session rollover, sans-IO: the cap, quiet moments, the carry-over and its budget."""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oairt_core
from oairt_core._conversation import SessionMirror
from oairt_core._playback import Playback
from oairt_core._rollover import (
    InputTail,
    RolloverPlan,
    RolloverPolicy,
    RolloverState,
    SessionRolledOver,
    carried_size,
    cut_transcript,
    fit_budget,
    is_session_expired,
    playout_end,
    quiet_reason,
    summary_item,
    text_items,
)
from oairt_core.codec import decode_server_event
from oairt_core.events import (
    ClientEvent,
    ConversationItemCreateEvent,
    InputAudioBufferAppendEvent,
    ResponseCreateEvent,
    ServerEvent,
    SessionUpdateEvent,
)
from oairt_core.models import (
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputTextContent,
    MessageItem,
    OutputTextContent,
    RealtimeSessionConfig,
)
from oairt_core.reconnect import InputAudioLost, ItemsLost, ResponseLost

BPMS = 48.0  # PCM16 at 24 kHz: bytes per millisecond


def ev(**fields: Any) -> ServerEvent:
    fields.setdefault("event_id", "evt")
    event = decode_server_event(json.dumps(fields).encode())
    assert not isinstance(event, Exception)
    return event


def feed(conv: SessionMirror, state: RolloverState | None, *events: ServerEvent) -> None:
    for e in events:
        conv.server_event(e)
        if state is not None:
            state.server_event(e)


def added(item: dict[str, Any], prev: str | None = None) -> ServerEvent:
    item.setdefault("object", "realtime.item")
    item.setdefault("status", "completed")
    return ev(type="conversation.item.done", previous_item_id=prev, item=item)


def user_text(item_id: str, text: str) -> ServerEvent:
    return added(
        {
            "id": item_id,
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }
    )


def user_audio(item_id: str, transcript: str | None) -> ServerEvent:
    return added(
        {
            "id": item_id,
            "type": "message",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": transcript}],
        }
    )


def assistant_audio(item_id: str, transcript: str, status: str = "completed") -> ServerEvent:
    return added(
        {
            "id": item_id,
            "type": "message",
            "role": "assistant",
            "status": status,
            "content": [{"type": "output_audio", "transcript": transcript}],
        }
    )


def call(item_id: str, call_id: str) -> ServerEvent:
    return added(
        {
            "id": item_id,
            "type": "function_call",
            "call_id": call_id,
            "name": "lookup",
            "arguments": '{"q": 1}',
        }
    )


def output(item_id: str, call_id: str) -> ServerEvent:
    return added(
        {"id": item_id, "type": "function_call_output", "call_id": call_id, "output": "42"}
    )


def created(rid: str) -> ServerEvent:
    return ev(type="response.created", response={"id": rid, "status": "in_progress", "output": []})


def done(rid: str) -> ServerEvent:
    return ev(type="response.done", response={"id": rid, "status": "completed", "output": []})


def speech_started(item_id: str, ms: int) -> ServerEvent:
    return ev(type="input_audio_buffer.speech_started", item_id=item_id, audio_start_ms=ms)


def speech_stopped(item_id: str, ms: int) -> ServerEvent:
    return ev(type="input_audio_buffer.speech_stopped", item_id=item_id, audio_end_ms=ms)


def texts(events: list[ClientEvent]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for e in events:
        if isinstance(e, ConversationItemCreateEvent):
            item = e.item
            if isinstance(item, MessageItem):
                part = item.content[0]
                assert isinstance(part, (InputTextContent, OutputTextContent))
                assert isinstance(part.text, str)
                out.append((item.role, part.text))
            else:
                kind = "function_call" if isinstance(item, FunctionCallItem) else "output"
                out.append((kind, getattr(item, "call_id", "")))
    return out


UPDATE = SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Be brief."))


# ----------------------------------------------------------------------------- policy


def test_public_names_next_to_reconnect_policy() -> None:
    assert oairt_core.RolloverPolicy is RolloverPolicy
    assert "RolloverPolicy" in oairt_core.__all__
    assert oairt_core.reconnect.RolloverPolicy is RolloverPolicy
    assert oairt_core.reconnect.SessionRolledOver is SessionRolledOver


@pytest.mark.parametrize(
    "kwargs",
    [
        {"before": -1.0},
        {"before": 3600.0},
        {"before": math.nan},
        {"session_limit": 0.0},
        {"session_limit": math.inf},
        {"max_carry_bytes": -1},
        {"summary_role": "assistant"},
        {"resend_input_ms": -5.0},
        {"resend_input_ms": 500.0, "max_resend_ms": 100.0},
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RolloverPolicy(**kwargs)


@pytest.mark.parametrize("kwargs", [{"max_carry_bytes": 1.5}, {"summarize": "not callable"}])
def test_policy_rejects_bad_types(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        RolloverPolicy(**kwargs)


def test_default_policy_opens_two_minutes_before_the_sixty_minute_cap() -> None:
    state = RolloverState()
    assert state.deadline is None and not state.watching(1e9)
    state.session_created(now=100.0)
    assert state.deadline == 3700.0 and state.opens_at == 3580.0
    assert not state.watching(3579.9) and state.watching(3580.0)


def test_expires_at_wins_when_earlier_and_a_skewed_clock_is_ignored() -> None:
    state = RolloverState(RolloverPolicy(before=10.0, session_limit=60.0))
    state.session_created(now=5.0, expires_at=1_000_030, wall_now=1_000_000.0)
    assert state.deadline == 35.0 and state.opens_at == 25.0
    for expires in (999_990, 1_000_500):  # already past, or beyond the cap: a skewed clock
        state.session_created(now=5.0, expires_at=expires, wall_now=1_000_000.0)
        assert state.deadline == 65.0
    # A cap shorter than `before`: the window is the whole session.
    state.session_created(now=0.0, expires_at=1_000_004, wall_now=1_000_000.0)
    assert state.deadline == 4.0 and state.opens_at == 0.0


def test_session_expired_is_recognised() -> None:
    err = ev(
        type="error",
        error={"type": "invalid_request_error", "code": "session_expired", "message": "m"},
    )
    other = ev(type="error", error={"type": "invalid_request_error", "code": "x", "message": "m"})
    assert is_session_expired(err)
    assert not is_session_expired(other) and not is_session_expired(created("r"))


# ----------------------------------------------------------------------------- carry-over


def test_text_items_use_transcripts_for_audio_and_keep_text_and_calls() -> None:
    conv = SessionMirror()
    feed(
        conv,
        None,
        added(
            {
                "id": "sys",
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "rules"}],
            }
        ),
        user_text("u1", "hello"),
        user_audio("u2", "what's the weather"),
        assistant_audio("a1", "Sunny."),
        call("c1", "call_1"),
        output("o1", "call_1"),
        user_audio("u3", None),  # never transcribed: nothing to carry
        added({"id": "mcp", "type": "mcp_list_tools", "server_label": "s", "tools": []}),
        assistant_audio("a2", "half", status="in_progress"),
    )
    items, lost = text_items(conv)
    assert [i for i, _ in items] == ["sys", "u1", "u2", "a1", "c1", "o1"]
    assert lost == ["u3", "mcp", "a2"]
    kinds = [(type(it).__name__, getattr(it, "role", None)) for _, it in items]
    assert kinds == [
        ("MessageItem", "system"),
        ("MessageItem", "user"),
        ("MessageItem", "user"),
        ("MessageItem", "assistant"),
        ("FunctionCallItem", None),
        ("FunctionCallOutputItem", None),
    ]
    u2, a1 = items[2][1], items[3][1]
    assert isinstance(u2, MessageItem)
    assert u2.content == [InputTextContent(text="what's the weather")]
    assert isinstance(a1, MessageItem) and a1.content == [OutputTextContent(text="Sunny.")]
    # The new session names its own items.
    assert all(getattr(it, "id", msgspec.UNSET) is msgspec.UNSET for _, it in items)


def test_a_truncated_answer_keeps_the_share_the_user_heard() -> None:
    conv, playback = SessionMirror(), Playback()
    state = RolloverState(RolloverPolicy())
    playback.on_delta("a1", "r1", 0, "pcm", b"\0" * int(1000 * BPMS), now=0.0)  # 1 s received
    feed(
        conv,
        state,
        assistant_audio("a1", "one two three four five six seven eight"),
        ev(type="conversation.item.truncated", item_id="a1", content_index=0, audio_end_ms=500),
    )
    items, lost = text_items(conv, heard=state.heard_fractions(playback))
    assert lost == []
    [(item_id, item)] = items
    assert item_id == "a1" and isinstance(item, MessageItem)
    assert item.content == [OutputTextContent(text="one two three four…")]
    # Without the playback accounting for it, the share is unknown: not carried.
    items, lost = text_items(conv, heard=state.heard_fractions(Playback()))
    assert items == [] and lost == ["a1"]


@given(st.text(max_size=60), st.floats(-1, 2))
def test_cut_transcript_is_a_prefix_at_a_word_boundary(text: str, fraction: float) -> None:
    cut = cut_transcript(text, fraction)
    if fraction >= 1:
        assert cut == text
    elif cut:
        head = cut.removesuffix("…")
        assert cut.endswith("…") and text.startswith(head) and head == head.rstrip()
        assert len(head) <= len(text) * fraction
        rest = text[len(head) :]
        assert rest[:1].isspace() or " " not in text  # cut between words
    elif 0 < fraction < 1:
        # Nothing carried only when the heard part holds no whole word.
        heard = text[: int(len(text) * fraction) + 1]
        assert not heard.rsplit(" ", 1)[0].strip() or " " not in heard.strip()


def test_cut_transcript_examples() -> None:
    assert cut_transcript("alpha beta gamma", 0.7) == "alpha beta…"
    assert cut_transcript("alpha beta gamma", 0.35) == "alpha…"
    assert cut_transcript("alpha beta gamma", 0.3) == ""  # "alpha" not heard whole
    assert cut_transcript("alphabet", 0.5) == ""
    assert cut_transcript("x", math.nan) == ""


def msg(text: str, role: str = "user") -> ConversationItem:
    return MessageItem(role=role, content=[InputTextContent(text=text)])  # type: ignore[arg-type]


item_specs = st.lists(
    st.one_of(
        st.tuples(st.just("msg"), st.text(max_size=40)),
        st.tuples(st.just("call"), st.text(alphabet="abc", min_size=1, max_size=3)),
        st.tuples(st.just("out"), st.text(alphabet="abc", min_size=1, max_size=3)),
    ),
    max_size=25,
)


def build(specs: list[tuple[str, str]]) -> list[tuple[str, ConversationItem]]:
    out: list[tuple[str, ConversationItem]] = []
    for i, (kind, value) in enumerate(specs):
        it: ConversationItem
        if kind == "msg":
            it = msg(value)
        elif kind == "call":
            it = FunctionCallItem(call_id=value, name="f", arguments="{}")
        else:
            it = FunctionCallOutputItem(call_id=value, output="ok")
        out.append((f"i{i}", it))
    return out


@settings(max_examples=200)
@given(item_specs, st.integers(0, 1500))
def test_budget_keeps_the_newest_in_order_and_drops_the_oldest(
    specs: list[tuple[str, str]], budget: int
) -> None:
    items = build(specs)
    kept, dropped = fit_budget(items, budget)
    ids = [i for i, _ in items]
    kept_ids = [i for i, _ in kept]
    # Budget respected.
    assert sum(carried_size(it) for _, it in kept) <= budget
    # Every item is kept or dropped, exactly once; kept ones in conversation order.
    assert sorted(kept_ids + dropped, key=ids.index) == ids
    assert kept_ids == [i for i in ids if i in set(kept_ids)]
    # The oldest go first: everything before the first kept one is dropped, and the
    # next older item would not have fit.
    if kept_ids:
        first = ids.index(kept_ids[0])
        assert all(i in set(dropped) for i in ids[:first])
    # No function output without its call.
    calls = {it.call_id for _, it in kept if isinstance(it, FunctionCallItem)}
    assert all(it.call_id in calls for _, it in kept if isinstance(it, FunctionCallOutputItem))


@settings(max_examples=200)
@given(st.lists(st.text(max_size=40), max_size=20), st.integers(0, 2000))
def test_budget_is_used_fully_when_nothing_is_orphaned(texts_: list[str], budget: int) -> None:
    items = [(f"m{i}", msg(t)) for i, t in enumerate(texts_)]
    kept, dropped = fit_budget(items, budget)
    total = sum(carried_size(it) for _, it in kept)
    assert [i for i, _ in kept] == [f"m{i}" for i in range(len(dropped), len(texts_))]
    if dropped:  # the newest dropped item would have broken the budget
        newest_dropped = items[len(dropped) - 1][1]
        assert total + carried_size(newest_dropped) > budget


@given(st.text(max_size=300), st.integers(0, 400))
def test_summary_item_fits_its_budget(text: str, budget: int) -> None:
    item = summary_item(text, "system", budget)
    if item is None:
        assert not text or carried_size(msg(text[:1], "system")) > budget
    else:
        assert carried_size(item) <= budget
        assert isinstance(item, MessageItem) and item.role == "system"
        part = item.content[0]
        assert isinstance(part, InputTextContent) and isinstance(part.text, str)
        assert text.startswith(part.text)


# ----------------------------------------------------------------------------- quiet moments


def test_quiet_needs_no_response_no_speech_no_tool_and_audio_played_out() -> None:
    conv, playback = SessionMirror(), Playback()
    state = RolloverState(RolloverPolicy(before=10.0, session_limit=20.0))
    state.session_created(now=0.0)
    assert state.quiet_reason(conv, playback, 15.0) is None

    state.client_event(ResponseCreateEvent())
    assert state.quiet_reason(conv, playback, 15.0) == "response requested"
    feed(conv, state, created("r1"))
    assert state.quiet_reason(conv, playback, 15.0) == "response in progress"
    # One second of assistant audio arrives at t=15.
    playback.on_delta("a1", "r1", 0, "pcm", b"\0" * int(1000 * BPMS), now=15.0)
    feed(conv, state, done("r1"))
    assert state.quiet_reason(conv, playback, 15.5) == "audio playing"
    assert state.next_check(playback, 15.5) == 16.0  # when it will have played out
    assert not state.should_roll_over(conv, playback, 15.5)
    assert state.should_roll_over(conv, playback, 16.0)

    feed(conv, state, speech_started("u1", 100))
    assert state.quiet_reason(conv, playback, 16.0) == "user speaking"
    feed(conv, state, speech_stopped("u1", 900))
    assert state.quiet_reason(conv, playback, 16.0, tools_running=1) == "tool running"
    assert state.should_roll_over(conv, playback, 16.0)
    # Before the window nothing rolls over, and the next check is the window's opening.
    assert not state.should_roll_over(conv, playback, 5.0)
    assert state.next_check(playback, 5.0) == 10.0


def test_unanswered_requests_stay_bounded() -> None:
    state = RolloverState()
    for _ in range(1000):
        state.client_event(ResponseCreateEvent())
    assert state.responses_requested == 32


def test_a_refused_response_create_is_not_awaited_forever() -> None:
    conv, playback = SessionMirror(), Playback()
    state = RolloverState()
    state.client_event(ResponseCreateEvent(event_id="rc1"))
    assert state.quiet_reason(conv, playback, 0.0) == "response requested"
    # An error about another request leaves it waiting.
    feed(
        conv,
        state,
        ev(
            type="error",
            error={"type": "invalid_request_error", "message": "no", "event_id": "other"},
        ),
    )
    assert state.quiet_reason(conv, playback, 0.0) == "response requested"
    feed(
        conv,
        state,
        ev(
            type="error",
            error={"type": "invalid_request_error", "message": "no", "event_id": "rc1"},
        ),
    )
    assert state.quiet_reason(conv, playback, 0.0) is None


def test_played_out_per_the_apps_mark_played_reports() -> None:
    conv, playback = SessionMirror(), Playback()
    playback.on_delta("a1", "r1", 0, "pcm", b"\0" * int(800 * BPMS), now=0.0)
    playback.mark_played("a1", 300.0)
    # The app reports playback: its reports win over the clock, and the end is unknown.
    assert quiet_reason(conv, playback, now=100.0) == "audio playing"
    assert playout_end(playback, 100.0) == math.inf
    playback.mark_played("a1", 799.5)  # within the slack of what was received
    assert quiet_reason(conv, playback, now=100.0) is None


def test_interrupted_audio_does_not_hold_a_rollover() -> None:
    conv, playback = SessionMirror(), Playback()
    playback.on_delta("a1", "r1", 0, "pcm", b"\0" * int(5000 * BPMS), now=0.0)
    assert quiet_reason(conv, playback, now=1.0) == "audio playing"
    playback.drop("r1")  # barge-in: the rest will never be played
    assert quiet_reason(conv, playback, now=1.0) is None


@settings(max_examples=200)
@given(
    in_flight=st.booleans(),
    requested=st.integers(0, 2),
    speaking=st.booleans(),
    tools=st.integers(0, 2),
    audio_ms=st.integers(0, 3000),
    elapsed_ms=st.integers(0, 4000),
)
def test_quiet_iff_every_condition_holds(
    in_flight: bool, requested: int, speaking: bool, tools: int, audio_ms: int, elapsed_ms: int
) -> None:
    conv, playback = SessionMirror(), Playback()
    if in_flight:
        conv.server_event(created("r0"))
    if speaking:
        conv.server_event(speech_started("u", 0))
    if audio_ms:
        playback.on_delta("a", "r1", 0, "pcm", b"\0" * (audio_ms * 48), now=0.0)
    now = elapsed_ms / 1000.0
    reason = quiet_reason(conv, playback, now, tools_running=tools, responses_requested=requested)
    playing = audio_ms > 0 and elapsed_ms < audio_ms - 1
    expected = not (in_flight or requested or speaking or tools or playing)
    assert (reason is None) == expected


# ----------------------------------------------------------------------------- plans


def conversation_for_plan() -> tuple[SessionMirror, Playback, RolloverState]:
    conv, playback = SessionMirror(), Playback()
    state = RolloverState(RolloverPolicy(before=1.0, session_limit=3.0, resend_input_ms=100.0))
    state.session_created(now=0.0)
    feed(
        conv,
        state,
        user_text("u1", "book a table"),
        call("c1", "call_1"),
        output("o1", "call_1"),
        assistant_audio("a1", "Done, table for two."),
    )
    return conv, playback, state


def test_quiet_plan_sends_config_then_items_then_the_last_input_audio() -> None:
    conv, playback, state = conversation_for_plan()
    state.client_event(InputAudioBufferAppendEvent(audio=b"\1\0" * 24_000))  # 1 s of input
    plan = state.plan(conv, playback, UPDATE, now=2.5, reason="quiet")
    assert isinstance(plan, RolloverPlan)
    assert plan.events[0] is UPDATE
    assert texts(plan.events) == [
        ("user", "book a table"),
        ("function_call", "call_1"),
        ("output", "call_1"),
        ("assistant", "Done, table for two."),
    ]
    appends = [e for e in plan.events if isinstance(e, InputAudioBufferAppendEvent)]
    assert b"".join(a.audio for a in appends) == b"\1\0" * 2400  # the last 100 ms
    assert not any(isinstance(e, ResponseCreateEvent) for e in plan.events)
    assert plan.notice == SessionRolledOver(
        reason="quiet", at_cap=False, carried_items=4, resent_audio_ms=100.0, rollovers=1
    )


def test_plan_within_a_budget_says_what_was_dropped() -> None:
    conv, playback, state = conversation_for_plan()
    newest = carried_size(MessageItem(role="assistant", content=[OutputTextContent(text="x")]))
    state.policy = RolloverPolicy(max_carry_bytes=newest + 60)  # the answer, not the rest
    plan = state.plan(conv, playback, UPDATE, now=2.5, reason="quiet")
    assert texts(plan.events) == [("assistant", "Done, table for two.")]
    assert plan.notice.dropped_items == ("u1", "c1", "o1")
    assert plan.notice.carried_items == 1


def test_plan_with_a_summary_replaces_the_history() -> None:
    conv, playback, state = conversation_for_plan()
    seen = state.summary_input(conv, playback)
    assert [type(i).__name__ for i in seen] == [
        "MessageItem",
        "FunctionCallItem",
        "FunctionCallOutputItem",
        "MessageItem",
    ]
    plan = state.plan(conv, playback, UPDATE, now=2.5, reason="quiet", summary="Table booked.")
    assert texts(plan.events) == [("system", "Table booked.")]
    assert plan.notice.summarized and plan.notice.carried_items == 1
    assert plan.notice.dropped_items == ("u1", "c1", "o1", "a1")
    # A failed hook: the history is carried and the failure named.
    plan = state.plan(conv, playback, UPDATE, now=2.5, reason="quiet", summary_error="boom")
    assert plan.notice.carried_items == 4 and plan.notice.summary_error == "boom"


def test_at_the_cap_a_cut_response_is_reported_and_asked_for_again() -> None:
    conv, playback, state = conversation_for_plan()
    feed(conv, state, user_text("u2", "and a taxi?"), created("r2"))
    playback.on_delta("a2", "r2", 0, "pcm", b"\0" * 4800, now=2.9)
    feed(conv, state, assistant_audio("a2", "I can", status="in_progress"))
    plan = state.plan(conv, playback, UPDATE, now=3.0, reason="cap")
    assert plan.notice.at_cap and plan.notice.reason == "cap"
    assert plan.notice.lost == (ResponseLost(response_id="r2"), ItemsLost(item_ids=("a2",)))
    assert plan.notice.resumed_response
    assert isinstance(plan.events[-1], ResponseCreateEvent)
    assert texts(plan.events)[-1] == ("user", "and a taxi?")


def test_at_the_cap_speech_in_progress_is_sent_again_from_its_start() -> None:
    conv, playback, state = conversation_for_plan()
    audio = bytes(range(256)) * 375  # 2 s of PCM16 at 24 kHz (96000 bytes)
    state.client_event(InputAudioBufferAppendEvent(audio=audio))
    feed(conv, state, speech_started("u9", 1500))
    plan = state.plan(conv, playback, UPDATE, now=3.0, reason="cap")
    appends = [e for e in plan.events if isinstance(e, InputAudioBufferAppendEvent)]
    assert b"".join(a.audio for a in appends) == audio[int(1500 * BPMS) :]
    assert plan.notice.resent_audio_ms == 500.0
    # The server's VAD will answer the speech: no response.create of our own, nothing lost.
    assert not any(isinstance(e, ResponseCreateEvent) for e in plan.events)
    assert plan.notice.lost == ()


def test_at_the_cap_committed_speech_without_transcript_is_sent_again() -> None:
    conv, playback, state = conversation_for_plan()
    audio = b"\2\0" * 48_000  # 2 s
    state.client_event(InputAudioBufferAppendEvent(audio=audio))
    feed(
        conv,
        state,
        speech_started("u9", 1000),
        speech_stopped("u9", 1800),
        user_audio("u9", None),  # committed, transcription pending
        created("r9"),
    )
    plan = state.plan(conv, playback, UPDATE, now=3.0, reason="cap")
    appends = [e for e in plan.events if isinstance(e, InputAudioBufferAppendEvent)]
    assert len(b"".join(a.audio for a in appends)) == int(1000 * BPMS)
    assert plan.notice.lost == (ResponseLost(response_id="r9"),)
    assert not plan.notice.resumed_response  # the speech sent again brings the answer


def test_speech_older_than_what_is_kept_is_reported_lost() -> None:
    conv, playback = SessionMirror(), Playback()
    policy = RolloverPolicy(before=1.0, session_limit=3.0, max_resend_ms=500.0)
    state = RolloverState(policy)
    state.client_event(InputAudioBufferAppendEvent(audio=b"\0\0" * 48_000))  # 2 s
    feed(conv, state, speech_started("u1", 0))
    plan = state.plan(conv, playback, None, now=3.0, reason="cap")
    assert plan.notice.resent_audio_ms == 500.0
    assert plan.notice.lost == (InputAudioLost(bytes=72_000, ms=1500.0, in_speech=True),)


def test_switched_starts_the_tracker_afresh_with_the_carried_items() -> None:
    conv, playback, state = conversation_for_plan()
    feed(conv, state, created("r1"))
    plan = state.plan(conv, playback, UPDATE, now=3.0, reason="cap")
    state.switched(conv, plan)
    assert state.rollovers == 1 and state.deadline is None and not state.watching(100.0)
    assert conv.responses_in_flight == {} and len(conv.items) == 0
    assert state.responses_requested == 1  # the resumed response.create
    assert conv.session == UPDATE.session
    # The new session acknowledges the carried items: they are the conversation again.
    feed(conv, state, user_text("n1", "book a table"))
    assert list(conv.items) == ["n1"]
    state.session_created(now=3.2)
    assert state.deadline == 6.2
    again = state.plan(conv, playback, UPDATE, now=6.0, reason="quiet")
    assert again.notice.rollovers == 2


# ----------------------------------------------------------------------------- property: plans


convo_specs = st.lists(
    st.one_of(
        st.tuples(st.just("text"), st.text(min_size=1, max_size=30)),
        st.tuples(st.just("audio"), st.none() | st.text(min_size=1, max_size=30)),
        st.tuples(st.just("assistant"), st.text(max_size=30)),
    ),
    max_size=20,
)


@settings(max_examples=150)
@given(convo_specs, st.integers(0, 3000), st.booleans())
def test_plan_accounts_for_every_item(
    specs: list[tuple[str, str | None]], budget: int, at_cap: bool
) -> None:
    conv, playback = SessionMirror(), Playback()
    state = RolloverState(RolloverPolicy(max_carry_bytes=budget))
    expected: list[tuple[str, str]] = []
    for i, (kind, value) in enumerate(specs):
        if kind == "text":
            conv.server_event(user_text(f"i{i}", str(value)))
            expected.append(("user", str(value)))
        elif kind == "audio":
            conv.server_event(user_audio(f"i{i}", value))
            if value:
                expected.append(("user", value))
        else:
            conv.server_event(assistant_audio(f"i{i}", str(value)))
            if value:
                expected.append(("assistant", str(value)))
    plan = state.plan(conv, playback, UPDATE, now=0.0, reason="cap" if at_cap else "quiet")
    n = plan.notice
    assert plan.events[0] is UPDATE
    carried = texts(plan.events)
    # The carried items are the newest transcripts, in order, within the budget.
    assert carried == expected[len(expected) - len(carried) :]
    assert sum(carried_size(i) for i in plan.items) <= budget
    lost_ids = [i for notice in n.lost if isinstance(notice, ItemsLost) for i in notice.item_ids]
    assert n.carried_items + len(n.dropped_items) + len(lost_ids) == len(specs)
    assert n.at_cap is at_cap


# ----------------------------------------------------------------------------- input tail


@settings(max_examples=100)
@given(st.lists(st.binary(max_size=300), max_size=40), st.integers(0, 500))
def test_input_tail_keeps_the_last_bytes_in_bounded_memory(
    chunks: list[bytes], max_bytes: int
) -> None:
    tail = InputTail(bytes_per_ms=BPMS, max_bytes=max_bytes)
    whole = b""
    for c in chunks:
        tail.append(c)
        whole += c
        assert len(tail._buf) <= 2 * max_bytes + len(c)
    assert tail.appended == len(whole)
    assert tail.since(0, 10**9) == whole[len(whole) - min(len(whole), max_bytes) :]
    assert tail.since(len(whole) - 10, 4) == whole[max(0, len(whole) - min(4, 10, max_bytes)) :]


def test_a_reconnect_restarts_the_cap_and_the_input_offsets() -> None:
    state = RolloverState(RolloverPolicy(before=1.0, session_limit=10.0))
    state.session_created(now=0.0)
    state.client_event(InputAudioBufferAppendEvent(audio=b"\0\0" * 100))
    state.client_event(ResponseCreateEvent())
    conv = SessionMirror()
    feed(conv, state, speech_started("u1", 1))
    state.reconnected(now=5.0)
    assert state.deadline == 15.0 and state.opens_at == 14.0
    assert state.input.appended == 0 and state.input.speech == {}
    assert state.responses_requested == 0
