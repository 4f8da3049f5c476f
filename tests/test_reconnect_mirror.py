"""SessionMirror and ReconnectState: what a reconnection restores and what it reports lost."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core._conversation import SessionMirror, merge_config, replayable
from oairt_core.errors import LocalProtocolError
from oairt_core.events import (
    ClientEvent,
    ConversationItemAddedEvent,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDoneEvent,
    ConversationItemInputAudioTranscriptionCompletedEvent,
    ConversationItemTruncatedEvent,
    ErrorEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferClearedEvent,
    InputAudioBufferClearEvent,
    InputAudioBufferCommitEvent,
    InputAudioBufferCommittedEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ResponseDoneEvent,
    SessionCreatedEvent,
    SessionUpdateEvent,
)
from oairt_core.models import (
    AudioConfig,
    AudioInputConfig,
    AudioOutputConfig,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioContent,
    InputTextContent,
    McpApprovalRequestItem,
    MessageItem,
    OutputAudioContent,
    OutputTextContent,
    PCMUFormat,
    RealtimeError,
    RealtimeResponse,
    RealtimeSessionConfig,
    ServerVad,
    TranscriptionUsageDuration,
)
from oairt_core.reconnect import (
    InputAudioLost,
    ItemsLost,
    Reconnected,
    ReconnectFailed,
    Reconnecting,
    ReconnectPhase,
    ReconnectPolicy,
    ReconnectState,
    ResponseLost,
)

# ----------------------------------------------------------------------------- config


def test_session_updates_accumulate_field_by_field() -> None:
    m = SessionMirror()
    m.client_event(
        SessionUpdateEvent(
            session=RealtimeSessionConfig(
                instructions="one",
                audio=AudioConfig(
                    input=AudioInputConfig(turn_detection=ServerVad(threshold=0.3)),
                    output=AudioOutputConfig(voice="marin"),
                ),
            )
        )
    )
    m.client_event(
        SessionUpdateEvent(
            session=RealtimeSessionConfig(
                output_modalities=["text"],
                audio=AudioConfig(output=AudioOutputConfig(speed=1.2)),
            )
        )
    )
    m.client_event(
        SessionUpdateEvent(
            session=RealtimeSessionConfig(
                audio=AudioConfig(input=AudioInputConfig(turn_detection=None))
            )
        )
    )
    [event] = m.replay_events(replay_items=False)
    assert isinstance(event, SessionUpdateEvent)
    assert event.session == RealtimeSessionConfig(
        instructions="one",
        output_modalities=["text"],
        audio=AudioConfig(
            input=AudioInputConfig(turn_detection=None),  # null clears and is re-sent as null
            output=AudioOutputConfig(voice="marin", speed=1.2),
        ),
    )


configs = st.builds(
    RealtimeSessionConfig,
    instructions=st.just(msgspec.UNSET) | st.text(max_size=5),
    max_output_tokens=st.just(msgspec.UNSET) | st.integers(1, 4096) | st.just("inf"),
    audio=st.just(msgspec.UNSET)
    | st.none()
    | st.builds(
        AudioConfig,
        output=st.just(msgspec.UNSET)
        | st.builds(
            AudioOutputConfig,
            voice=st.just(msgspec.UNSET) | st.sampled_from(["marin", "cedar"]),
            speed=st.just(msgspec.UNSET) | st.floats(0.25, 1.5),
        ),
    ),
)


@settings(max_examples=50)
@given(st.lists(configs, min_size=1, max_size=6))
def test_merge_is_last_writer_wins_per_leaf(updates: list[RealtimeSessionConfig]) -> None:
    merged = None
    for u in updates:
        merged = merge_config(merged, u)
    assert merged is not None
    # Every top-level leaf equals the last update that set it.
    for name in ("instructions", "max_output_tokens"):
        sent = [getattr(u, name) for u in updates if getattr(u, name) is not msgspec.UNSET]
        assert getattr(merged, name) == (sent[-1] if sent else msgspec.UNSET)
    # Re-applying the last update changes nothing (the server sees the same config twice).
    assert merge_config(merged, updates[-1]) == merged
    # The merged config encodes (it is what a reconnection sends).
    msgspec.json.encode(SessionUpdateEvent(session=merged))


# ----------------------------------------------------------------------------- items


def user_audio(item_id: str) -> MessageItem:
    return MessageItem(
        id=item_id, role="user", status="completed", content=[InputAudioContent(transcript=None)]
    )


def added(item: object, prev: str | None = None) -> ConversationItemAddedEvent:
    return ConversationItemAddedEvent(event_id="e", item=item, previous_item_id=prev)  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(st.sampled_from(["add", "delete"]), st.integers(0, 30), st.integers(0, 30)),
        max_size=40,
    )
)
def test_item_order_follows_previous_item_id(ops: list[tuple[str, int, int]]) -> None:
    m = SessionMirror()
    model: list[str] = []
    n = 0
    for op, a, _b in ops:
        if op == "add":
            item_id = f"item_{n}"
            n += 1
            prev = model[a % len(model)] if model and a % 3 else None
            m.server_event(added(MessageItem.user_text("t", id=item_id), prev))
            if prev is None:
                model.append(item_id)
            else:
                model.insert(model.index(prev) + 1, item_id)
        elif model:
            victim = model.pop(a % len(model))
            m.server_event(ConversationItemDeletedEvent(event_id="e", item_id=victim))
    assert list(m.items) == model
    events = m.replay_events(replay_items=True)
    assert [e.item.id for e in events if isinstance(e, ConversationItemCreateEvent)] == model


def test_replay_rules() -> None:
    assistant_audio = MessageItem(
        id="a1",
        role="assistant",
        status="completed",
        content=[OutputAudioContent(audio=b"\x00" * 10, transcript="Hello there")],
    )
    assert replayable(assistant_audio) == MessageItem(
        id="a1", role="assistant", content=[OutputTextContent(text="Hello there")]
    )
    no_transcript = user_audio("u1")
    assert replayable(no_transcript) is None
    with_transcript = MessageItem(
        id="u2", role="user", content=[InputAudioContent(audio=b"x", transcript="hi")]
    )
    assert replayable(with_transcript) == MessageItem(
        id="u2", role="user", content=[InputTextContent(text="hi")]
    )
    call = FunctionCallItem(id="f1", name="f", arguments="{}", call_id="c1", status="completed")
    assert replayable(call) == FunctionCallItem(id="f1", name="f", arguments="{}", call_id="c1")
    out = FunctionCallOutputItem(id="o1", call_id="c1", output="42")
    assert replayable(out) == out
    mcp = McpApprovalRequestItem(id="m1", server_label="s", name="n", arguments="{}")
    assert replayable(mcp) is None
    in_progress = MessageItem(id="a2", role="assistant", status="in_progress", content=[])
    assert replayable(in_progress) is None


def test_transcripts_arrive_later_and_make_audio_replayable() -> None:
    m = SessionMirror()
    m.server_event(added(user_audio("u1")))
    m.server_event(
        ConversationItemInputAudioTranscriptionCompletedEvent(
            event_id="e",
            item_id="u1",
            content_index=0,
            transcript="what time is it",
            usage=TranscriptionUsageDuration(seconds=1.0),
        )
    )
    # item.done without the transcript must not erase it
    m.server_event(ConversationItemDoneEvent(event_id="e", item=user_audio("u1")))
    m.server_event(
        added(
            MessageItem(
                id="a1", role="assistant", status="completed",
                content=[OutputAudioContent(transcript="noon")],
            ),
            "u1",
        )
    )  # fmt: skip
    m.server_event(
        ConversationItemTruncatedEvent(event_id="e", item_id="a1", content_index=0, audio_end_ms=5)
    )
    items, lost = m.replay_items()
    assert [i.content for i in items if isinstance(i, MessageItem)] == [
        [InputTextContent(text="what time is it")]
    ]
    assert lost == ["a1"]  # truncated: the server deleted its transcript
    notices = m.lost(replay_items=True)
    assert ItemsLost(item_ids=("a1",)) in notices
    assert m.lost(replay_items=False) == [ItemsLost(item_ids=("u1", "a1"))]


def test_audio_bytes_are_never_kept() -> None:
    m = SessionMirror()
    big = MessageItem(id="u1", role="user", content=[InputAudioContent(audio=b"\x01" * 100_000)])
    m.client_event(ConversationItemCreateEvent(item=big))
    m.server_event(added(big))
    stored = m.items["u1"]
    assert isinstance(stored, MessageItem)
    assert all(getattr(p, "audio", msgspec.UNSET) is msgspec.UNSET for p in stored.content)


def test_unacknowledged_creates_are_replayed_or_reported() -> None:
    m = SessionMirror()
    m.client_event(ConversationItemCreateEvent(item=MessageItem.user_text("a", id="c1")))
    m.client_event(ConversationItemCreateEvent(item=MessageItem.user_text("b")))
    m.client_event(ConversationItemCreateEvent(event_id="bad", item=MessageItem.user_text("c")))
    m.server_event(
        ErrorEvent(event_id="e", error=RealtimeError(type="invalid_request_error", message="x",
                                                     event_id="bad"))
    )  # fmt: skip
    m.server_event(added(MessageItem.user_text("a", id="c1")))
    items, _ = m.replay_items()
    assert [i.content[0].text for i in items if isinstance(i, MessageItem)] == ["a", "b"]  # type: ignore[union-attr]
    assert m.lost(replay_items=False) == [ItemsLost(item_ids=("c1",), unacknowledged_creates=1)]


# ----------------------------------------------------------------------------- responses


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), max_size=30))
def test_in_flight_responses_are_reported(ops: list[tuple[bool, int]]) -> None:
    m = SessionMirror()
    live: dict[str, None] = {}
    for created, k in ops:
        rid = f"resp_{k}"
        if created:
            m.server_event(ResponseCreatedEvent(event_id="e", response=RealtimeResponse(id=rid)))
            live[rid] = None
        else:
            m.server_event(
                ResponseDoneEvent(
                    event_id="e", response=RealtimeResponse(id=rid, status="completed")
                )
            )
            live.pop(rid, None)
    lost = [n for n in m.lost(replay_items=False) if isinstance(n, ResponseLost)]
    assert lost == [ResponseLost(response_id=r) for r in live]


def test_requested_but_not_started_response_is_lost_too() -> None:
    m = SessionMirror()
    m.client_event(ResponseCreateEvent(event_id="r1"))
    m.client_event(ResponseCreateEvent(event_id="r2"))
    m.server_event(
        ErrorEvent(event_id="e", error=RealtimeError(type="invalid_request_error", message="busy",
                                                     event_id="r2"))
    )  # fmt: skip
    assert m.lost(replay_items=False) == [ResponseLost(response_id=None)]
    m.server_event(ResponseCreatedEvent(event_id="e", response=RealtimeResponse(id="resp_1")))
    assert m.lost(replay_items=False) == [ResponseLost(response_id="resp_1")]


# ----------------------------------------------------------------------------- audio


def test_manual_commit_acknowledges_audio_before_the_commit_only() -> None:
    m = SessionMirror()
    m.client_event(InputAudioBufferAppendEvent(audio=b"\x00" * 4800))  # 100 ms PCM16 24 kHz
    m.client_event(InputAudioBufferCommitEvent())
    m.client_event(InputAudioBufferAppendEvent(audio=b"\x00" * 960))  # 20 ms, after the commit
    assert m.lost(replay_items=False) == [InputAudioLost(bytes=5760, ms=120.0)]
    m.server_event(InputAudioBufferCommittedEvent(event_id="e", item_id="u1"))
    assert m.lost(replay_items=False) == [InputAudioLost(bytes=960, ms=20.0)]


def test_server_vad_commit_and_g711_rate() -> None:
    m = SessionMirror()
    fmt = AudioConfig(input=AudioInputConfig(format=PCMUFormat()))
    m.server_event(SessionCreatedEvent(event_id="e", session=RealtimeSessionConfig(audio=fmt)))
    m.client_event(InputAudioBufferAppendEvent(audio=b"\xff" * 8000))  # 1 s of G.711
    m.server_event(
        InputAudioBufferSpeechStartedEvent(event_id="e", item_id="u1", audio_start_ms=100)
    )
    assert m.lost(replay_items=False) == [InputAudioLost(bytes=8000, ms=1000.0, in_speech=True)]
    m.server_event(InputAudioBufferSpeechStoppedEvent(event_id="e", item_id="u1", audio_end_ms=800))
    m.server_event(InputAudioBufferCommittedEvent(event_id="e", item_id="u1"))
    assert m.lost(replay_items=False) == [InputAudioLost(bytes=1600, ms=200.0)]


@given(
    st.lists(
        st.sampled_from(["append", "commit", "clear", "ack"]) | st.integers(1, 5000), max_size=40
    )
)
def test_audio_accounting_matches_a_model(ops: list[object]) -> None:
    m = SessionMirror()
    total = 0
    marks: list[tuple[str, int]] = []
    acked = 0
    for op in ops:
        if isinstance(op, int):
            m.client_event(InputAudioBufferAppendEvent(audio=b"\x00" * op))
            total += op
        elif op in ("commit", "clear"):
            m.client_event(
                InputAudioBufferCommitEvent() if op == "commit" else InputAudioBufferClearEvent()
            )
            marks.append((op, total))
        elif op == "ack" and marks:
            kind, offset = marks.pop(0)
            m.server_event(
                InputAudioBufferCommittedEvent(event_id="e", item_id="u")
                if kind == "commit"
                else InputAudioBufferClearedEvent(event_id="e")
            )
            acked = max(acked, offset)
    assert m.unacknowledged_audio_bytes == total - acked
    audio = [n for n in m.lost(replay_items=False) if isinstance(n, InputAudioLost)]
    assert sum(n.bytes for n in audio) == total - acked


# ----------------------------------------------------------------------------- the controller


def test_full_cycle_reapplies_config_and_reports_losses() -> None:
    state = ReconnectState(ReconnectPolicy(replay_items=True), rng=lambda: 0.0)
    state.client_event(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="x")))
    state.server_event(added(MessageItem.user_text("hello", id="u1")))
    state.server_event(ResponseCreatedEvent(event_id="e", response=RealtimeResponse(id="r1")))
    state.client_event(InputAudioBufferAppendEvent(audio=b"\x00" * 480))
    notices = state.disconnected(1006, now=100.0)
    assert notices == [
        ResponseLost(response_id="r1"),
        InputAudioLost(bytes=480, ms=10.0),
        Reconnecting(attempt=1, delay=0.375, close_code=1006, retry_at=100.375),
    ]
    assert state.delay_remaining(100.0) == 0.375 and state.delay_remaining(200.0) == 0.0
    state.attempt_started()
    events, notices = state.connected(now=100.5)
    assert [type(e).__name__ for e in events] == [
        "SessionUpdateEvent",
        "ConversationItemCreateEvent",
    ]
    assert notices == [Reconnected(attempt=1, replayed_items=1)]
    # After the replay is acknowledged, the item is known again, nothing else in flight.
    state.server_event(added(MessageItem.user_text("hello", id="u1")), now=100.6)
    assert state.mirror.lost(replay_items=True) == []
    # Issue 13.4: an event is no proof of health (a server may accept and drop) ...
    assert state.attempt == 1
    # ... a completed response is.
    state.server_event(ResponseDoneEvent(event_id="d", response=RealtimeResponse(id="r2")))
    assert state.attempt == 0


def test_budget_refills_after_a_connection_lasted_healthy_after_seconds() -> None:
    state = ReconnectState(ReconnectPolicy(healthy_after=10.0), rng=lambda: 1.0)
    state.disconnected(1006, now=0.0)
    state.attempt_started()
    state.connected(now=1.0)
    state.server_event(added(MessageItem.user_text("x", id="u1")), now=5.0)
    assert state.attempt == 1  # up 4 s: not yet proven
    state.server_event(added(MessageItem.user_text("y", id="u2")), now=11.0)
    assert state.attempt == 0  # up 10 s: healthy
    # A drop after a long quiet connection counts as healthy too (time passed in).
    state.disconnected(1006, now=12.0)
    state.attempt_started()
    state.connected(now=13.0)
    notices = state.disconnected(1006, now=30.0)
    assert [type(n).__name__ for n in notices][-1] == "Reconnecting"
    assert state.attempt == 1


def test_accept_then_drop_storm_spends_the_budget() -> None:
    """Each attempt connects, gets session.created and drops: ReconnectFailed after
    max_attempts, never an endless loop."""
    state = ReconnectState(ReconnectPolicy(max_attempts=3), rng=lambda: 1.0)
    now = 0.0
    notices = state.disconnected(1011, now=now)
    attempts = 0
    while not isinstance(notices[-1], ReconnectFailed):
        attempts += 1
        assert attempts <= 3
        state.attempt_started()
        state.connected(now=now)
        state.server_event(SessionCreatedEvent(event_id="s", session=RealtimeSessionConfig()))
        now += 0.5
        notices = state.disconnected(1011, now=now)
    assert attempts == 3 and notices[-1].attempts == 3


def test_gives_up_after_max_attempts_and_on_fatal_errors() -> None:
    state = ReconnectState(ReconnectPolicy(max_attempts=3), rng=random.Random(1))
    out = state.disconnected(1012, now=0.0)
    assert isinstance(out[-1], Reconnecting)
    state.attempt_started()
    assert isinstance(state.attempt_failed(now=1.0, status_code=503), Reconnecting)
    state.attempt_started()
    assert isinstance(state.attempt_failed(now=2.0), Reconnecting)
    state.attempt_started()
    failed = state.attempt_failed(now=3.0, reason="connection refused")
    assert failed == ReconnectFailed(attempts=3, close_code=1012, reason="connection refused")
    assert state.phase is ReconnectPhase.FAILED

    state = ReconnectState(ReconnectPolicy(), rng=random.Random(1))
    state.disconnected(1011, now=0.0)
    state.attempt_started()
    assert isinstance(state.attempt_failed(now=1.0, status_code=401), ReconnectFailed)

    state = ReconnectState(ReconnectPolicy(), rng=random.Random(1))
    assert isinstance(state.disconnected(1000, now=0.0)[-1], ReconnectFailed)
    with pytest.raises(LocalProtocolError):
        state.attempt_started()


def test_error_events_do_not_refill_the_budget() -> None:
    state = ReconnectState(ReconnectPolicy(max_attempts=2), rng=lambda: 1.0)
    state.disconnected(1006, now=0.0)
    state.attempt_started()
    state.connected(now=1.0)
    state.server_event(
        ErrorEvent(event_id="e", error=RealtimeError(type="server_error", message="x"))
    )
    assert state.attempt == 1
    out = state.disconnected(1006, now=2.0)
    assert out[-1] == Reconnecting(attempt=2, delay=1.0, close_code=1006, retry_at=3.0)
    state.attempt_started()
    state.connected(now=3.0)
    assert isinstance(state.disconnected(1006, now=4.0)[-1], ReconnectFailed)


@settings(max_examples=200)
@given(
    steps=st.lists(
        st.sampled_from(["drop", "fail", "ok", "event", "error"]), min_size=1, max_size=40
    ),
    max_attempts=st.integers(0, 6),
    seed=st.integers(0, 1000),
)
def test_attempts_never_exceed_the_budget(steps: list[str], max_attempts: int, seed: int) -> None:
    policy = ReconnectPolicy(max_attempts=max_attempts)
    state = ReconnectState(policy, rng=random.Random(seed))
    now = 0.0
    for step in steps:
        now += 1.0
        if state.phase is ReconnectPhase.FAILED:
            break
        if state.phase is ReconnectPhase.CONNECTED:
            if step == "drop":
                notice = state.disconnected(1006, now=now)[-1]
            elif step == "event":
                state.server_event(added(MessageItem.user_text("x", id=f"i{now}")))
                continue
            else:
                continue
        else:
            if state.phase is ReconnectPhase.WAITING:
                state.attempt_started()
            if step == "ok":
                state.connected(now=now)
                continue
            notice = state.attempt_failed(now=now)
        assert state.attempt <= max_attempts
        if isinstance(notice, Reconnecting):
            assert 1 <= notice.attempt <= max_attempts
            assert 0.0 <= notice.delay <= policy.max_delay
            assert notice.retry_at == now + notice.delay
        else:
            assert isinstance(notice, ReconnectFailed)
            assert notice.attempts == max_attempts


# ----------------------------------------------------------------------------- any sequence


def _decoded_seeds() -> list[object]:
    from fuzz.corpus import SERVER_EVENT_SEEDS
    from oairt_core.codec import decode_server_event

    return [decode_server_event(s) for s in SERVER_EVENT_SEEDS]


_CLIENT_EVENTS: list[ClientEvent] = [
    SessionUpdateEvent(session=RealtimeSessionConfig(instructions="a", output_modalities=["text"])),
    SessionUpdateEvent(
        session=RealtimeSessionConfig(audio=AudioConfig(output=AudioOutputConfig(voice="cedar")))
    ),
    ConversationItemCreateEvent(item=MessageItem.user_text("hi")),
    ConversationItemCreateEvent(item=MessageItem.assistant_text("yo", id="item_2")),
    ConversationItemCreateEvent(
        item=FunctionCallOutputItem(call_id="c1", output="{}"), event_id="ev_c"
    ),
    InputAudioBufferAppendEvent(audio=b"\x00" * 960),
    InputAudioBufferCommitEvent(event_id="ev_commit"),
    InputAudioBufferClearEvent(),
    ResponseCreateEvent(event_id="ev_r"),
]


@settings(max_examples=150)
@given(
    steps=st.lists(st.tuples(st.booleans(), st.integers(0, 1000)), min_size=1, max_size=40),
    replay=st.booleans(),
)
def test_any_event_sequence_yields_valid_replay(
    steps: list[tuple[bool, int]], replay: bool
) -> None:
    """Whatever the server and client said, in whatever order: the mirror never fails, and
    what it would send after a reconnection passes the client-side GA validation."""
    from oairt_core.codec import encode_client_event

    server_events = _decoded_seeds()
    state = ReconnectState(ReconnectPolicy(replay_items=replay), rng=lambda: 0.5)
    for from_server, k in steps:
        if from_server:
            state.server_event(server_events[k % len(server_events)])  # type: ignore[arg-type]
        else:
            state.client_event(_CLIENT_EVENTS[k % len(_CLIENT_EVENTS)])
    notices = state.disconnected(1006, now=0.0)
    assert isinstance(notices[-1], Reconnecting)
    for n in notices[:-1]:
        assert isinstance(n, ResponseLost | InputAudioLost | ItemsLost)
    state.attempt_started()
    events, _ = state.connected(now=1.0)
    for event in events:
        encode_client_event(event)  # raises InvalidClientEvent if a replayed event is invalid
    if not replay:
        assert all(isinstance(e, SessionUpdateEvent) for e in events)
