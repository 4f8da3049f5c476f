"""The rollover connection's sequencing, with scripted connections (no sockets).

``RolloverConnection`` is driven the way the voice session's reader drives it: take
an event, feed it to the sans-IO ``VoiceSession``, repeat. The connections are
scripted: the test decides what each server session says and sees what each got.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import pytest
from anyio import wait_all_tasks_blocked

from oairt_anyio._backend import BACKEND
from oairt_core._async._rollover import RolloverConnection
from oairt_core._async._sync import Lock
from oairt_core._rollover import Summarizer
from oairt_core.codec import decode_server_event
from oairt_core.connection import ConnectionClosed, ConnectionState
from oairt_core.errors import ConnectionClosedError, HandshakeError
from oairt_core.events import (
    ClientEvent,
    ConversationItemCreateEvent,
    InputAudioBufferAppendEvent,
    ResponseCreateEvent,
    ServerEvent,
    SessionCreatedEvent,
    SessionUpdateEvent,
)
from oairt_core.models import InputTextContent, MessageItem, OutputTextContent
from oairt_core.reconnect import (
    InputAudioLost,
    ItemsLost,
    Reconnecting,
    ResponseLost,
    RolloverPolicy,
    SessionRolledOver,
)
from oairt_core.voice import VoiceConfig, VoiceSession

pytestmark = pytest.mark.anyio

GUARD = 10


def ev(**fields: Any) -> ServerEvent:
    fields.setdefault("event_id", "evt")
    event = decode_server_event(json.dumps(fields).encode())
    assert not isinstance(event, Exception)
    return event


def created_event(sid: str) -> ServerEvent:
    return ev(type="session.created", session={"type": "realtime", "id": sid})


def item_done(item_id: str, role: str, text: str, status: str = "completed") -> ServerEvent:
    kind = "input_text" if role == "user" else "output_text"
    item = {
        "id": item_id,
        "type": "message",
        "role": role,
        "status": status,
        "object": "realtime.item",
        "content": [{"type": kind, "text": text}],
    }
    return ev(type="conversation.item.done", previous_item_id=None, item=item)


def response(kind: str, rid: str) -> ServerEvent:
    status = "in_progress" if kind == "created" else "completed"
    return ev(type=f"response.{kind}", response={"id": rid, "status": status, "output": []})


EXPIRED = {
    "type": "error",
    "error": {
        "type": "invalid_request_error",
        "code": "session_expired",
        "message": "Your session hit the maximum duration of 0.3 seconds.",
    },
}


class ScriptedConnection:
    """A connection whose server events the test pushes, recording what was sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[ClientEvent] = []
        self._send, self._recv = anyio.create_memory_object_stream[Any](100)
        self.close_code: int | None = None
        self.gate: anyio.Event | None = None  # when set, sends wait for it
        self.dead = False
        self.state = ConnectionState.OPEN
        self.is_sideband = False
        self.closed: ConnectionClosed | None = None
        self.session_expires_at: int | None = None  # what session.created said

    def push(self, *events: Any) -> None:
        for e in events:
            self._send.send_nowait(e)

    def end(self, code: int, reason: str = "") -> None:
        self.dead = True
        self.closed = ConnectionClosed(code, reason)
        self.push(ConnectionClosedError(code, reason))

    async def send(self, event: ClientEvent) -> None:
        if self.dead:
            raise ConnectionClosedError(self.closed.code if self.closed else 1006)
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append(event)

    async def send_raw(self, text: str) -> None:
        raise AssertionError("not used")

    async def next_event(self) -> Any:
        item = await self._recv.receive()
        if isinstance(item, Exception):
            raise item
        return item

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.close_code is None:
            self.close_code = code
        if not self.dead:
            self.end(code, reason)

    def __repr__(self) -> str:
        return f"ScriptedConnection({self.name})"


class Rig:
    """A rollover connection over scripted sessions, and a reader feeding the core."""

    def __init__(self, tg: anyio.abc.TaskGroup, policy: RolloverPolicy) -> None:
        self.first = ScriptedConnection("s1")
        self.opened: list[ScriptedConnection] = []
        self.fail_opens = 0
        self.core = VoiceSession(VoiceConfig(instructions="Be brief.", turn_detection=None))
        self.lock = Lock(BACKEND)
        self.conn = RolloverConnection(BACKEND, policy, self.first, self.open_next, tg)
        self.conn.attach(self.core, self.lock)
        self.delivered: list[Any] = []
        self.new_session: Callable[[ScriptedConnection], Awaitable[None]] | None = None

    async def open_next(self) -> ScriptedConnection:
        if self.fail_opens:
            self.fail_opens -= 1
            raise HandshakeError(503, "busy")
        conn = ScriptedConnection(f"s{len(self.opened) + 2}")
        conn.push(created_event(f"sess_{len(self.opened) + 2}"))
        self.opened.append(conn)
        return conn

    async def read_until(self, stop: Callable[[Any], bool]) -> list[Any]:
        """What the app would see (voice events and notices) up to the first ``stop``."""
        out: list[Any] = []
        with anyio.fail_after(GUARD):
            while True:
                event = await self.conn.next_event()
                new: list[Any]
                if isinstance(event, SessionRolledOver):
                    new = [event]
                else:
                    async with self.lock:
                        actions = self.core.feed(event, anyio.current_time())
                    for sent in actions.send:
                        await self.conn.send(sent)
                    new = list(actions.deliver)
                for e in new:
                    out.append(e)
                    if stop(e):
                        self.delivered += out
                        return out


def texts(events: list[ClientEvent]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for e in events:
        if isinstance(e, ConversationItemCreateEvent) and isinstance(e.item, MessageItem):
            part = e.item.content[0]
            assert isinstance(part, (InputTextContent, OutputTextContent))
            assert isinstance(part.text, str)
            out.append((e.item.role, part.text))
    return out


def is_notice(e: Any) -> bool:
    return isinstance(e, SessionRolledOver)


async def a_turn(rig: Rig, conn: ScriptedConnection, n: int) -> None:
    conn.push(
        item_done(f"u{n}", "user", f"question {n}"),
        response("created", f"r{n}"),
        item_done(f"a{n}", "assistant", f"answer {n}"),
        response("done", f"r{n}"),
    )
    await rig.read_until(lambda e: type(e).__name__ == "ResponseDone")


async def test_quiet_rollover_carries_the_conversation_and_hides_the_acknowledgements() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=0.4)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"))
        await a_turn(rig, rig.first, 1)
        events = await rig.read_until(is_notice)
        notice = events[-1]
        assert notice == SessionRolledOver(
            reason="quiet", at_cap=False, carried_items=2, rollovers=1
        )
        [second] = rig.opened
        assert isinstance(second.sent[0], SessionUpdateEvent)
        assert second.sent[0].session.instructions == "Be brief."  # type: ignore[union-attr]
        assert texts(second.sent) == [("user", "question 1"), ("assistant", "answer 1")]
        # The new session acknowledges the carried items; the app does not see that.
        second.push(
            ev(type="session.updated", session={"type": "realtime", "instructions": "Be brief."}),
            item_done("n1", "user", "question 1"),
            item_done("n2", "assistant", "answer 1"),
            response("created", "r9"),
        )
        later = await rig.read_until(lambda e: type(e).__name__ == "ResponseStarted")
        assert [type(e).__name__ for e in later] == ["ResponseStarted"]
        assert list(rig.core.conversation.items) == ["n1", "n2"]
        tg.cancel_scope.cancel()
    assert rig.first.close_code == 1000  # the old session was closed normally


async def test_sends_during_the_switch_go_to_the_new_session_after_the_carry_over() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=0.4, resend_input_ms=0.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"))
        await a_turn(rig, rig.first, 1)
        gate = anyio.Event()
        original = rig.open_next

        async def gated() -> ScriptedConnection:
            conn = await original()
            conn.gate = gate  # the carry-over is stuck until the app has sent
            return conn

        rig.conn._open_next = gated

        async def app() -> None:
            with anyio.fail_after(GUARD):
                while not rig.conn._switching:
                    await anyio.sleep(0.005)
            await rig.conn.send(InputAudioBufferAppendEvent(audio=b"\1\0" * 10))
            await rig.conn.send(ResponseCreateEvent())
            gate.set()

        tg.start_soon(app)
        await rig.read_until(is_notice)
        [second] = rig.opened
        kinds = [type(e).__name__ for e in second.sent]
        assert kinds == [
            "SessionUpdateEvent",
            "ConversationItemCreateEvent",
            "ConversationItemCreateEvent",
            "InputAudioBufferAppendEvent",
            "ResponseCreateEvent",
        ]
        assert not any(isinstance(e, InputAudioBufferAppendEvent) for e in rig.first.sent)
        tg.cancel_scope.cancel()


async def test_at_the_cap_the_error_is_consumed_and_the_cut_response_asked_again() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=30.0)  # our deadline is far: the server's
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"))
        await a_turn(rig, rig.first, 1)
        rig.first.push(
            item_done("u2", "user", "question 2"),
            response("created", "r2"),
            item_done("a2", "assistant", "half an ans", status="in_progress"),
            ev(**EXPIRED),
        )
        rig.first.end(1001, "Your session hit the maximum duration of 0.3 seconds.")
        events = await rig.read_until(is_notice)
        notice = events[-1]
        assert notice.at_cap and notice.reason == "cap"
        assert notice.lost == (ResponseLost(response_id="r2"), ItemsLost(item_ids=("a2",)))
        assert notice.resumed_response
        # No Error reached the app: the session_expired error was consumed.
        assert not any(type(e).__name__ == "Error" for e in events)
        [second] = rig.opened
        assert texts(second.sent)[-1] == ("user", "question 2")
        assert isinstance(second.sent[-1], ResponseCreateEvent)
        tg.cancel_scope.cancel()


async def test_at_the_cap_with_no_session_to_move_to_the_call_ends_with_the_error() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=30.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.fail_opens = 10
        rig.first.push(created_event("sess_1"), ev(**EXPIRED))
        rig.first.end(1001)
        with pytest.raises(HandshakeError):
            await rig.read_until(lambda e: False)
        tg.cancel_scope.cancel()


async def test_a_standby_that_fails_to_open_is_tried_again() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=0.3)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.fail_opens = 1
        rig.first.push(created_event("sess_1"))
        notice = (await rig.read_until(is_notice))[-1]
        assert notice.reason == "quiet" and len(rig.opened) == 1
        tg.cancel_scope.cancel()


@pytest.mark.parametrize("kind", ["sync", "async", "raises"])
async def test_the_summary_hook(kind: str) -> None:
    seen: list[int] = []

    def sync_hook(items: Any) -> str:
        seen.append(len(items))
        return "They asked twice."

    async def async_hook(items: Any) -> str:
        await anyio.sleep(0)
        return sync_hook(items)

    def bad_hook(items: Any) -> str:
        raise RuntimeError("no summary today")

    hooks: dict[str, Summarizer] = {"sync": sync_hook, "async": async_hook, "raises": bad_hook}
    hook = hooks[kind]
    policy = RolloverPolicy(before=0.2, session_limit=0.4, summarize=hook)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"))
        await a_turn(rig, rig.first, 1)
        notice = (await rig.read_until(is_notice))[-1]
        [second] = rig.opened
        if kind == "raises":
            assert notice.summary_error == "RuntimeError: no summary today"
            assert not notice.summarized and notice.carried_items == 2
            assert texts(second.sent) == [("user", "question 1"), ("assistant", "answer 1")]
        else:
            assert seen == [2] and notice.summarized and notice.dropped_items == ("u1", "a1")
            assert texts(second.sent) == [("system", "They asked twice.")]
        tg.cancel_scope.cancel()


async def test_no_rollover_while_a_response_is_in_progress_before_the_cap() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=0.3)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"), response("created", "r1"))
        await rig.read_until(lambda e: type(e).__name__ == "ResponseStarted")
        found: list[Any] = []

        async def reader() -> None:
            found.extend(await rig.read_until(is_notice))

        tg.start_soon(reader)
        # Past the window, a standby ready: the reader looks, and waits (not quiet).
        with anyio.fail_after(GUARD):
            while rig.conn._standby is None:
                await anyio.sleep(0.01)
        await wait_all_tasks_blocked()
        assert found == [] and rig.opened and rig.conn._standby is not None
        assert rig.conn.rollover is not None
        now = anyio.current_time()
        assert rig.conn.rollover.watching(now)
        reason = rig.conn.rollover.quiet_reason(rig.core.conversation, rig.core.playback, now)
        assert reason == "response in progress"
        rig.first.push(response("done", "r1"))
        with anyio.fail_after(GUARD):
            while not found:
                await anyio.sleep(0.01)
        notice = found[-1]
        assert notice.reason == "quiet" and notice.lost == ()
        tg.cancel_scope.cancel()


async def test_held_audio_beyond_the_bound_is_dropped_oldest_first_and_reported() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=30.0, resend_input_ms=0.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.conn._max_held = 120
        rig.first.push(created_event("sess_1"), response("created", "r1"), ev(**EXPIRED))
        rig.first.end(1001)
        gate = anyio.Event()
        original = rig.open_next

        async def slow() -> ScriptedConnection:
            await gate.wait()  # the new session takes a while to open
            return await original()

        rig.conn._open_next = slow

        async def app() -> None:
            with anyio.fail_after(GUARD):
                while not rig.conn._switching:
                    await anyio.sleep(0.005)
            for n in range(5):  # 5 x 40 bytes held; the bound is 120
                await rig.conn.send(InputAudioBufferAppendEvent(audio=bytes([n + 1]) * 40))
            gate.set()

        tg.start_soon(app)
        notice = (await rig.read_until(is_notice))[-1]
        [second] = rig.opened
        sent = [e.audio for e in second.sent if isinstance(e, InputAudioBufferAppendEvent)]
        assert sent == [b"\3" * 40, b"\4" * 40, b"\5" * 40]  # the newest, in order
        assert InputAudioLost(bytes=80, ms=80 / 48, in_speech=False) in notice.lost
        tg.cancel_scope.cancel()


async def test_reconnection_notices_pass_through_untouched() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=30.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        notice = Reconnecting(attempt=1, delay=0.5, close_code=1012, retry_at=1.0)
        rig.first.push(created_event("sess_1"), notice)
        with anyio.fail_after(GUARD):
            assert isinstance(await rig.conn.next_event(), SessionCreatedEvent)
            assert await rig.conn.next_event() is notice
        tg.cancel_scope.cancel()


async def test_a_1001_at_the_deadline_without_the_error_is_the_cap_too() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=0.3)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"), response("created", "r1"))
        await rig.read_until(lambda e: type(e).__name__ == "ResponseStarted")
        with anyio.fail_after(GUARD):
            while rig.conn.rollover is None or not rig.conn.rollover.watching(anyio.current_time()):
                await anyio.sleep(0.01)
        rig.first.end(1001, "going away")
        notice = (await rig.read_until(is_notice))[-1]
        assert notice.at_cap and notice.lost == (ResponseLost(response_id="r1"),)
        tg.cancel_scope.cancel()


async def test_a_1001_long_before_the_deadline_is_not_a_rollover() -> None:
    policy = RolloverPolicy(before=1.0, session_limit=60.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"))
        await rig.read_until(lambda e: type(e).__name__ == "SessionReady")
        rig.first.end(1001, "going away")
        with pytest.raises(ConnectionClosedError) as closed:
            await rig.read_until(lambda e: False)
        assert closed.value.code == 1001 and rig.opened == []
        tg.cancel_scope.cancel()


async def test_a_send_that_meets_the_cap_close_first_is_held_not_raised() -> None:
    policy = RolloverPolicy(before=0.2, session_limit=0.3, resend_input_ms=0.0)
    async with anyio.create_task_group() as tg:
        rig = Rig(tg, policy)
        rig.first.push(created_event("sess_1"), response("created", "r1"))
        await rig.read_until(lambda e: type(e).__name__ == "ResponseStarted")
        with anyio.fail_after(GUARD):
            while rig.conn.rollover is None or not rig.conn.rollover.watching(anyio.current_time()):
                await anyio.sleep(0.01)
        rig.first.end(1001, "Your session hit the maximum duration of 0.3 seconds.")
        # The app's microphone meets the closed session before the reader does.
        await rig.conn.send(InputAudioBufferAppendEvent(audio=b"\7\0" * 8))
        notice = (await rig.read_until(is_notice))[-1]
        assert notice.at_cap
        [second] = rig.opened
        assert isinstance(second.sent[-1], InputAudioBufferAppendEvent)
        assert second.sent[-1].audio == b"\7\0" * 8
        tg.cancel_scope.cancel()
