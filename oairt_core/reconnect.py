"""Opt-in reconnection, sans-IO: a backoff policy and a mirror of what the session knew.

Nothing here sleeps, reads the clock or draws random numbers by itself: the
adapter passes ``now`` (seconds, any monotonic origin) and a random source.

>>> import random
>>> policy = ReconnectPolicy()
>>> policy.should_reconnect(1006), policy.should_reconnect(1000)
(True, False)
>>> [round(policy.next_delay(n, lambda: 1.0), 2) for n in (1, 2, 3, 4, 5, 6)]
[0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
>>> 0.375 <= policy.next_delay(1, random.Random(7)) <= 0.5
True
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import msgspec

from .errors import LocalProtocolError
from .events import (
    ClientEvent,
    ConversationItemAddedEvent,
    ConversationItemCreatedEvent,
    ConversationItemCreateEvent,
    ConversationItemDeletedEvent,
    ConversationItemDeleteEvent,
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
    ResponseOutputItemAddedEvent,
    ServerEvent,
    SessionCreatedEvent,
    SessionUpdatedEvent,
    SessionUpdateEvent,
)
from .models import (
    ContentPart,
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioContent,
    InputTextContent,
    MessageItem,
    OutputAudioContent,
    OutputTextContent,
    PCMAFormat,
    PCMFormat,
    PCMUFormat,
    SessionConfig,
)

__all__ = [
    "DEFAULT_RECOVERABLE_CODES",
    "RETRYABLE_HANDSHAKE_STATUSES",
    "InputAudioLost",
    "ItemsLost",
    "RandomSource",
    "ReconnectFailed",
    "ReconnectNotice",
    "ReconnectPhase",
    "ReconnectPolicy",
    "ReconnectState",
    "Reconnected",
    "Reconnecting",
    "ResponseLost",
    "SessionMirror",
    "merge_config",
    "replayable",
]

#: Close codes the OpenAI SDK treats as recoverable (going away, no status,
#: abnormal closure, server error, service restart, try again later, TLS).
DEFAULT_RECOVERABLE_CODES: frozenset[int] = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1015})

#: HTTP statuses of a refused upgrade worth trying again (timeout, rate limit,
#: server side trouble). 401/403/404 never get better by waiting.
RETRYABLE_HANDSHAKE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

#: A random source: ``random.Random`` (its ``random()`` is used) or any
#: zero-argument callable returning a float in [0, 1].
RandomSource: TypeAlias = random.Random | Callable[[], float]


def _draw(rng: RandomSource) -> float:
    value = rng.random() if isinstance(rng, random.Random) else rng()
    # Clamp: a misbehaving source must not push the delay outside the bounds.
    if not math.isfinite(value):
        return 0.0
    return min(1.0, max(0.0, float(value)))


@dataclass(frozen=True)
class ReconnectPolicy:
    """When to reconnect and how long to wait; the OpenAI SDK's defaults.

    The delay before attempt ``n`` (1-based) is
    ``min(base_delay * 2**(n-1), max_delay)`` times a jitter factor drawn
    uniformly from ``jitter``. At most ``max_attempts`` attempts follow one
    disconnection; the budget is refilled only once a connection has proved
    healthy: it completed a response (``response.done``) or stayed up for
    ``healthy_after`` seconds. A server that accepts and then drops at once
    (``session.created``, close 1011) therefore ends in :class:`ReconnectFailed`
    after ``max_attempts`` attempts instead of being retried forever.
    ``replay_items`` also re-creates the conversation items the client knew of
    (see :class:`SessionMirror`); ``None`` (the default) means off for a plain
    connection and on for a voice session.

    >>> ReconnectPolicy(max_attempts=2).should_reconnect(1012)
    True
    >>> ReconnectPolicy(recoverable_codes=frozenset()).should_reconnect(1012)
    False
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    jitter: tuple[float, float] = (0.75, 1.0)
    recoverable_codes: frozenset[int] = field(default=DEFAULT_RECOVERABLE_CODES)
    replay_items: bool | None = None
    healthy_after: float = 10.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.healthy_after) and self.healthy_after >= 0):
            raise ValueError("healthy_after must be a finite number >= 0")
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")
        if not (math.isfinite(self.base_delay) and self.base_delay >= 0):
            raise ValueError("base_delay must be a finite number >= 0")
        if not (math.isfinite(self.max_delay) and self.max_delay >= self.base_delay):
            raise ValueError("max_delay must be finite and >= base_delay")
        lo, hi = self.jitter
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
            raise ValueError("jitter must be (low, high) with 0 <= low <= high")
        # Accept any iterable of ints but store a frozenset (hashable, immutable).
        object.__setattr__(self, "recoverable_codes", frozenset(self.recoverable_codes))

    def should_reconnect(self, close_code: int | None) -> bool:
        """Whether a close with ``close_code`` is worth reconnecting after.

        ``None`` (the TCP connection vanished without a close frame) counts as
        1006, abnormal closure.
        """
        code = 1006 if close_code is None else close_code
        return code in self.recoverable_codes

    def should_retry_handshake(self, status_code: int) -> bool:
        """Whether a refused upgrade with this HTTP status is worth another attempt."""
        return status_code in RETRYABLE_HANDSHAKE_STATUSES

    def base_for(self, attempt: int) -> float:
        """The delay before jitter for 1-based ``attempt``: capped exponential."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        # Bound the exponent so 2.0**n stays a float; the cap wins long before.
        return min(self.base_delay * 2.0 ** min(attempt - 1, 1000), self.max_delay)

    def next_delay(self, attempt: int, rng: RandomSource) -> float:
        """Seconds to wait before 1-based ``attempt``; ``rng`` supplies the jitter."""
        lo, hi = self.jitter
        return self.base_for(attempt) * (lo + (hi - lo) * _draw(rng))

    def with_codes(self, codes: Iterable[int]) -> ReconnectPolicy:
        """A copy recovering from exactly ``codes``."""
        return ReconnectPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.base_delay,
            max_delay=self.max_delay,
            jitter=self.jitter,
            recoverable_codes=frozenset(codes),
            replay_items=self.replay_items,
            healthy_after=self.healthy_after,
        )


# --------------------------------------------------------------------------------------
# What the client knew: the session mirror
# --------------------------------------------------------------------------------------


class Reconnecting(msgspec.Struct, frozen=True, kw_only=True):
    """The connection dropped; attempt ``attempt`` starts ``delay`` s later (at ``retry_at``)."""

    attempt: int
    delay: float
    close_code: int | None
    retry_at: float
    reason: str = ""


class Reconnected(msgspec.Struct, frozen=True, kw_only=True):
    """A new connection is up (after ``attempt`` attempts); the session config is being re-applied.

    ``replayed_items`` conversation items are being re-created (``replay_items=True``).
    """

    attempt: int
    replayed_items: int = 0


class ResponseLost(msgspec.Struct, frozen=True, kw_only=True):
    """A response was in flight when the connection dropped; its ``response.done`` never came.

    ``response_id`` is ``None`` for a ``response.create`` the server had not yet
    answered with ``response.created``.
    """

    response_id: str | None


class InputAudioLost(msgspec.Struct, frozen=True, kw_only=True):
    """Audio appended but never committed (nor cleared) by the server was lost.

    ``in_speech`` says server VAD had detected speech that had not ended yet.
    """

    bytes: int
    ms: float
    in_speech: bool = False


class ItemsLost(msgspec.Struct, frozen=True, kw_only=True):
    """Conversation items that the new session does not have (in conversation order).

    Without ``replay_items`` that is every item; with it, the items that cannot
    be re-created (see :meth:`SessionMirror.replay_events`).
    """

    item_ids: tuple[str, ...]
    unacknowledged_creates: int = 0


class ReconnectFailed(msgspec.Struct, frozen=True, kw_only=True):
    """Reconnection gave up: ``attempts`` made, the last close code and why."""

    attempts: int
    close_code: int | None
    reason: str


ReconnectNotice: TypeAlias = (
    Reconnecting | Reconnected | ResponseLost | InputAudioLost | ItemsLost | ReconnectFailed
)


def merge_config(old: Any, new: Any) -> Any:
    """``new`` applied over ``old`` the way ``session.update`` applies: only sent fields change.

    Nested objects of the same type merge field by field; anything else (a list,
    a scalar, ``None`` which clears, an object of another type) replaces.

    >>> from oairt_core.models import RealtimeSessionConfig
    >>> a = RealtimeSessionConfig(instructions="a", output_modalities=["text"])
    >>> merge_config(a, RealtimeSessionConfig(instructions="b"))
    RealtimeSessionConfig(instructions='b', output_modalities=['text'])
    """
    if new is msgspec.UNSET:
        return old
    if (
        old is msgspec.UNSET
        or old is None
        or not isinstance(new, msgspec.Struct)
        or type(old) is not type(new)
    ):
        return new
    changes = {}
    for name in new.__struct_fields__:
        value = getattr(new, name)
        if value is not msgspec.UNSET:
            changes[name] = merge_config(getattr(old, name), value)
    return msgspec.structs.replace(old, **changes)


def _bytes_per_ms(fmt: Any) -> float:
    # PCM16 mono at the format's rate (24 kHz in GA); G.711 is 8-bit at 8 kHz.
    if isinstance(fmt, PCMFormat):
        rate = fmt.rate if isinstance(fmt.rate, int) and fmt.rate > 0 else 24000
        return rate * 2 / 1000
    if isinstance(fmt, (PCMUFormat, PCMAFormat)):
        return 8.0
    return 48.0


def _input_format(session: Any) -> Any:
    audio = getattr(session, "audio", None)
    inp = getattr(audio, "input", None)
    return getattr(inp, "format", None)


def _item_id(item: Any) -> str | None:
    value = getattr(item, "id", None)
    return value if isinstance(value, str) and value else None


def _strip_audio(item: ConversationItem) -> ConversationItem:
    # Audio bytes are never kept: memory stays bounded however long the session.
    if not isinstance(item, MessageItem):
        return item
    parts: list[ContentPart] = []
    changed = False
    for part in item.content:
        if isinstance(part, (InputAudioContent, OutputAudioContent)) and isinstance(
            part.audio, bytes
        ):
            part = msgspec.structs.replace(part, audio=msgspec.UNSET)
            changed = True
        parts.append(part)
    return msgspec.structs.replace(item, content=parts) if changed else item


def replayable(item: ConversationItem) -> ConversationItem | None:
    """The item as it can be re-created with ``conversation.item.create``, or ``None``.

    - system/user/assistant messages: text and image parts as they are; an audio
      part becomes a text part holding its transcript (the server never sends the
      audio back, and assistant audio cannot be created); parts with nothing
      left are dropped, a message with no parts left is not replayable;
    - ``function_call`` and ``function_call_output``: as they are;
    - MCP items (server-side tool state) and items still ``in_progress``: no.

    ``status`` and ``object`` are dropped; ``id`` is kept so references still hold.
    """
    if getattr(item, "status", None) == "in_progress":
        return None
    if isinstance(item, MessageItem):
        parts: list[ContentPart] = []
        for part in item.content:
            if isinstance(part, InputAudioContent):
                if isinstance(part.transcript, str) and part.transcript:
                    parts.append(InputTextContent(text=part.transcript))
            elif isinstance(part, OutputAudioContent):  # includes the "audio" alias
                if isinstance(part.transcript, str) and part.transcript:
                    parts.append(OutputTextContent(text=part.transcript))
            elif isinstance(part, OutputTextContent):  # includes the "text" alias
                if isinstance(part.text, str) and part.text:
                    parts.append(OutputTextContent(text=part.text))
            elif isinstance(part, InputTextContent):
                if isinstance(part.text, str) and part.text:
                    parts.append(part)
            else:
                parts.append(part)
        if not parts:
            return None
        return MessageItem(role=item.role, content=parts, id=item.id)
    if isinstance(item, (FunctionCallItem, FunctionCallOutputItem)):
        return msgspec.structs.replace(item, status=msgspec.UNSET, object=msgspec.UNSET)
    return None


@dataclass
class _PendingCreate:
    event_id: str | None
    item: ConversationItem


class SessionMirror:
    """Watches the events of one session to know what a new connection must be told.

    Feed every client event sent (:meth:`client_event`) and every server event
    received (:meth:`server_event`). It tracks

    - the effective session configuration the client asked for (every
      ``session.update`` merged, see :func:`merge_config`);
    - the conversation items, in order (``conversation.item.added``/``done``,
      ``deleted``, ``truncated``, input transcripts), audio bytes stripped;
    - responses in flight (``response.created`` without ``response.done``) and
      ``response.create`` requests not yet answered;
    - input audio appended but not yet committed or cleared by the server.

    After a reconnection :meth:`replay_events` gives the client events to send
    and :meth:`lost` the notices saying what did not survive.

    >>> from oairt_core.events import SessionUpdateEvent
    >>> from oairt_core.models import RealtimeSessionConfig
    >>> m = SessionMirror()
    >>> m.client_event(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
    >>> m.replay_events(replay_items=False)
    [SessionUpdateEvent(session=RealtimeSessionConfig(instructions='Hi'))]
    """

    def __init__(self) -> None:
        self.session: SessionConfig | None = None
        self.items: dict[str, ConversationItem] = {}
        self.truncated: set[str] = set()
        self.responses_in_flight: dict[str, None] = {}
        self._pending_response_creates: list[str | None] = []
        self._pending_item_creates: list[_PendingCreate] = []
        self._server_item_ids: set[str] = set()
        self._input_format: Any = None
        self._server_input_format: Any = None
        self._reset_audio()

    def _reset_audio(self) -> None:
        self.appended_bytes = 0
        self.acknowledged_bytes = 0
        self._audio_marks: list[tuple[str, str | None, int]] = []
        self.in_speech = False
        self._speech_end_bytes = 0

    # -- client side ---------------------------------------------------------------------

    def client_event(self, event: ClientEvent) -> None:
        """Record a client event just sent."""
        if isinstance(event, SessionUpdateEvent):
            self.session = merge_config(self.session, event.session)
            fmt = _input_format(event.session)
            if fmt is not None and fmt is not msgspec.UNSET:
                self._input_format = fmt
        elif isinstance(event, InputAudioBufferAppendEvent):
            self.appended_bytes += len(event.audio)
        elif isinstance(event, InputAudioBufferCommitEvent):
            self._audio_marks.append(("commit", _eid(event), self.appended_bytes))
        elif isinstance(event, InputAudioBufferClearEvent):
            self._audio_marks.append(("clear", _eid(event), self.appended_bytes))
        elif isinstance(event, ResponseCreateEvent):
            # Out-of-band responses do not touch the conversation but are lost all the same.
            self._pending_response_creates.append(_eid(event))
        elif isinstance(event, ConversationItemCreateEvent):
            self._pending_item_creates.append(_PendingCreate(_eid(event), _strip_audio(event.item)))
        elif isinstance(event, ConversationItemDeleteEvent):
            self.items.pop(event.item_id, None)

    # -- server side ---------------------------------------------------------------------

    def server_event(self, event: ServerEvent) -> None:
        """Record a server event just received."""
        if isinstance(
            event,
            (ConversationItemAddedEvent, ConversationItemDoneEvent, ConversationItemCreatedEvent),
        ):
            self._item(event.item, event.previous_item_id)
        elif isinstance(event, ConversationItemDeletedEvent):
            self.items.pop(event.item_id, None)
        elif isinstance(event, ConversationItemTruncatedEvent):
            self.truncated.add(event.item_id)
        elif isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent):
            self._transcript(event.item_id, event.content_index, event.transcript)
        elif isinstance(event, ResponseCreatedEvent):
            if self._pending_response_creates:
                self._pending_response_creates.pop(0)
            if event.response.id:
                self.responses_in_flight[event.response.id] = None
        elif isinstance(event, ResponseDoneEvent):
            if event.response.id:
                self.responses_in_flight.pop(event.response.id, None)
        elif isinstance(event, ResponseOutputItemAddedEvent):
            item_id = _item_id(event.item)
            if item_id:
                self._server_item_ids.add(item_id)
        elif isinstance(event, InputAudioBufferCommittedEvent):
            self._server_item_ids.add(event.item_id)
            self._ack_audio("commit")
        elif isinstance(event, InputAudioBufferClearedEvent):
            self._ack_audio("clear")
        elif isinstance(event, InputAudioBufferSpeechStartedEvent):
            self.in_speech = True
        elif isinstance(event, InputAudioBufferSpeechStoppedEvent):
            self.in_speech = False
            end = int(event.audio_end_ms * self.bytes_per_ms)
            self._speech_end_bytes = max(self._speech_end_bytes, min(end, self.appended_bytes))
        elif isinstance(event, (SessionCreatedEvent, SessionUpdatedEvent)):
            fmt = _input_format(event.session)
            if fmt is not None and fmt is not msgspec.UNSET:
                self._server_input_format = fmt
        elif isinstance(event, ErrorEvent):
            self._error(event.error.event_id)

    def _item(self, item: ConversationItem, previous_item_id: str | None) -> None:
        item_id = _item_id(item)
        if item_id is None:
            return
        self._ack_create(item_id)
        item = _strip_audio(item)
        if item_id in self.items:
            old = self.items[item_id]
            self.items[item_id] = _keep_transcripts(old, item)
            return
        if previous_item_id and previous_item_id in self.items:
            # Insert right after previous_item_id, as the server did.
            rebuilt: dict[str, ConversationItem] = {}
            for key, value in self.items.items():
                rebuilt[key] = value
                if key == previous_item_id:
                    rebuilt[item_id] = item
            self.items = rebuilt
        else:
            self.items[item_id] = item

    def _ack_create(self, item_id: str) -> None:
        for i, pending in enumerate(self._pending_item_creates):
            if _item_id(pending.item) == item_id:
                del self._pending_item_creates[i]
                return
        if item_id in self._server_item_ids:
            return  # from a commit or a response, not an answer to our create
        for i, pending in enumerate(self._pending_item_creates):
            if _item_id(pending.item) is None:
                del self._pending_item_creates[i]
                return

    def _transcript(self, item_id: str, index: int, transcript: str) -> None:
        item = self.items.get(item_id)
        if not isinstance(item, MessageItem) or not 0 <= index < len(item.content):
            return
        part = item.content[index]
        if isinstance(part, InputAudioContent):
            content = list(item.content)
            content[index] = msgspec.structs.replace(part, transcript=transcript)
            self.items[item_id] = msgspec.structs.replace(item, content=content)

    def _ack_audio(self, kind: str) -> None:
        for i, (mark_kind, _, offset) in enumerate(self._audio_marks):
            if mark_kind == kind:
                del self._audio_marks[: i + 1]
                self.acknowledged_bytes = max(self.acknowledged_bytes, offset)
                return
        if kind == "commit":
            # Server VAD committed on its own: everything up to the end of speech.
            self.acknowledged_bytes = max(self.acknowledged_bytes, self._speech_end_bytes)

    def _error(self, event_id: str | None) -> None:
        if event_id is None:
            return
        if event_id in self._pending_response_creates:
            self._pending_response_creates.remove(event_id)
        self._audio_marks = [m for m in self._audio_marks if m[1] != event_id]
        self._pending_item_creates = [
            p for p in self._pending_item_creates if p.event_id != event_id
        ]

    # -- after a disconnection -------------------------------------------------------------

    @property
    def bytes_per_ms(self) -> float:
        return _bytes_per_ms(self._server_input_format or self._input_format)

    @property
    def unacknowledged_audio_bytes(self) -> int:
        return max(0, self.appended_bytes - self.acknowledged_bytes)

    def replay_items(self) -> tuple[list[ConversationItem], list[str]]:
        """(items that can be re-created, in order; ids of those that cannot)."""
        keep: list[ConversationItem] = []
        lost: list[str] = []
        for item_id, item in self.items.items():
            candidate = None if item_id in self.truncated and _is_audio(item) else replayable(item)
            if candidate is None:
                lost.append(item_id)
            else:
                keep.append(candidate)
        for pending in self._pending_item_creates:
            candidate = replayable(pending.item)
            if candidate is not None:
                keep.append(candidate)
        return keep, lost

    def replay_events(self, *, replay_items: bool) -> list[ClientEvent]:
        """The client events that restore the session on a new connection, in order."""
        out: list[ClientEvent] = []
        if self.session is not None:
            out.append(SessionUpdateEvent(session=self.session))
        if replay_items:
            items, _ = self.replay_items()
            out.extend(ConversationItemCreateEvent(item=item) for item in items)
        return out

    def lost(self, *, replay_items: bool) -> list[ReconnectNotice]:
        """What the dropped connection took with it, as notices."""
        notices: list[ReconnectNotice] = [
            ResponseLost(response_id=rid) for rid in self.responses_in_flight
        ]
        notices += [ResponseLost(response_id=None) for _ in self._pending_response_creates]
        pending = self.unacknowledged_audio_bytes
        if pending or self.in_speech:
            notices.append(
                InputAudioLost(
                    bytes=pending, ms=pending / self.bytes_per_ms, in_speech=self.in_speech
                )
            )
        if replay_items:
            _, lost_ids = self.replay_items()
            if lost_ids:
                notices.append(ItemsLost(item_ids=tuple(lost_ids)))
        elif self.items or self._pending_item_creates:
            notices.append(
                ItemsLost(
                    item_ids=tuple(self.items),
                    unacknowledged_creates=len(self._pending_item_creates),
                )
            )
        return notices

    def new_connection(self, *, replay_items: bool) -> None:
        """Forget per-connection state once a new connection replaced the old one.

        The configuration stays (it is re-applied). With ``replay_items`` the items
        stay too (they are re-created, and the server acknowledges them again).
        """
        self.responses_in_flight.clear()
        self._pending_response_creates.clear()
        self._server_item_ids.clear()
        self._server_input_format = None
        self.truncated.clear()
        if replay_items:
            items, _ = self.replay_items()
            self.items = {}
            self._pending_item_creates = [_PendingCreate(None, item) for item in items]
        else:
            self.items = {}
            self._pending_item_creates = []
        self._reset_audio()


def _eid(event: Any) -> str | None:
    value = getattr(event, "event_id", None)
    return value if isinstance(value, str) else None


def _is_audio(item: ConversationItem) -> bool:
    return isinstance(item, MessageItem) and any(
        isinstance(p, (InputAudioContent, OutputAudioContent)) for p in item.content
    )


def _keep_transcripts(old: ConversationItem, new: ConversationItem) -> ConversationItem:
    # conversation.item.done may come before the input transcription: keep what we learnt.
    if not (isinstance(old, MessageItem) and isinstance(new, MessageItem)):
        return new
    if len(old.content) != len(new.content):
        return new
    content = list(new.content)
    for i, (a, b) in enumerate(zip(old.content, new.content, strict=True)):
        if (
            isinstance(a, InputAudioContent)
            and isinstance(b, InputAudioContent)
            and isinstance(a.transcript, str)
            and not isinstance(b.transcript, str)
        ):
            content[i] = msgspec.structs.replace(b, transcript=a.transcript)
    return msgspec.structs.replace(new, content=content)


# --------------------------------------------------------------------------------------
# The controller: policy + mirror + attempts, time as an input
# --------------------------------------------------------------------------------------


class ReconnectPhase(enum.Enum):
    CONNECTED = "connected"
    WAITING = "waiting"  # backing off until retry_at
    CONNECTING = "connecting"
    FAILED = "failed"


class ReconnectState:
    """Drives reconnection for one logical session; the adapter does the I/O.

    The adapter reports what happens (``client_event``/``server_event`` while
    connected, ``disconnected`` when the connection drops, ``attempt_failed`` or
    ``connected`` after each attempt) and gets back the notices to hand to the
    user and the client events to send. It waits ``Reconnecting.delay`` seconds
    (until ``Reconnecting.retry_at`` on its clock) before each attempt.

    >>> state = ReconnectState(ReconnectPolicy(), rng=lambda: 1.0)
    >>> [type(n).__name__ for n in state.disconnected(1012, now=10.0)]
    ['Reconnecting']
    >>> state.phase.value, state.retry_at
    ('waiting', 10.5)
    >>> to_send, notices = state.connected(now=10.5)
    >>> notices
    [Reconnected(attempt=1, replayed_items=0)]
    """

    def __init__(
        self,
        policy: ReconnectPolicy | None = None,
        *,
        rng: RandomSource | None = None,
        mirror: SessionMirror | None = None,
    ) -> None:
        self.policy = policy or ReconnectPolicy()
        self.rng: RandomSource = rng if rng is not None else random.Random()
        self.mirror = mirror or SessionMirror()
        self.phase = ReconnectPhase.CONNECTED
        #: attempts made since the last healthy connection (the retry budget used)
        self.attempt = 0
        self.last_close_code: int | None = None
        self.retry_at: float | None = None
        self._healthy = True
        self._connected_at: float | None = None
        self.total_reconnects = 0
        #: the ``replay_items`` in force (the policy's, or the caller's default for None)
        self.replay_items = bool(self.policy.replay_items)

    def default_replay(self, replay_items: bool) -> None:
        """Use ``replay_items`` when the policy left it to the caller (``None``)."""
        if self.policy.replay_items is None:
            self.replay_items = replay_items

    # -- while connected ------------------------------------------------------------------

    def client_event(self, event: ClientEvent) -> None:
        self.mirror.client_event(event)

    def server_event(self, event: ServerEvent, *, now: float | None = None) -> None:
        self.mirror.server_event(event)
        # Any event is not proof enough (a server may send session.created and drop):
        # a completed response, or a connection that lasted, refills the budget.
        healthy = isinstance(event, ResponseDoneEvent) or self._lasted(now)
        if not self._healthy and healthy:
            self._refill()

    def _lasted(self, now: float | None) -> bool:
        start = self._connected_at
        return now is not None and start is not None and now - start >= self.policy.healthy_after

    def _refill(self) -> None:
        self._healthy = True
        self.attempt = 0

    # -- transitions ----------------------------------------------------------------------

    def disconnected(
        self, close_code: int | None, *, now: float, reason: str = ""
    ) -> list[ReconnectNotice]:
        """The connection dropped (``close_code`` ``None``: no close frame at all)."""
        if self.phase is not ReconnectPhase.CONNECTED:
            raise LocalProtocolError(f"disconnected() while {self.phase.value}")
        if not self._healthy and self._lasted(now):
            self._refill()
        self.last_close_code = close_code
        notices = self.mirror.lost(replay_items=self.replay_items)
        if not self.policy.should_reconnect(close_code):
            self.phase = ReconnectPhase.FAILED
            why = reason or f"close code {close_code} is not recoverable"
            return [
                *notices,
                ReconnectFailed(attempts=self.attempt, close_code=close_code, reason=why),
            ]
        return [*notices, self._schedule(now, close_code, reason)]

    def attempt_started(self) -> None:
        """The adapter begins the attempt it was told to make (after the delay)."""
        if self.phase is not ReconnectPhase.WAITING:
            raise LocalProtocolError(f"attempt_started() while {self.phase.value}")
        self.phase = ReconnectPhase.CONNECTING

    def attempt_failed(
        self,
        *,
        now: float,
        retryable: bool = True,
        status_code: int | None = None,
        close_code: int | None = None,
        reason: str = "",
    ) -> ReconnectNotice:
        """An attempt failed: a refused upgrade (``status_code``), an immediate close
        (``close_code``) or a network error (neither). ``retryable=False`` gives up
        at once (a TLS certificate that will not verify, say)."""
        if self.phase not in (ReconnectPhase.CONNECTING, ReconnectPhase.WAITING):
            raise LocalProtocolError(f"attempt_failed() while {self.phase.value}")
        if status_code is not None and not self.policy.should_retry_handshake(status_code):
            retryable = False
        if close_code is not None and not self.policy.should_reconnect(close_code):
            retryable = False
        code = close_code if close_code is not None else self.last_close_code
        if not retryable:
            self.phase = ReconnectPhase.FAILED
            return ReconnectFailed(attempts=self.attempt, close_code=code, reason=reason)
        return self._schedule(now, code, reason)

    def connected(self, *, now: float) -> tuple[list[ClientEvent], list[ReconnectNotice]]:
        """An attempt succeeded: the client events to send first, and the notices."""
        if self.phase not in (ReconnectPhase.CONNECTING, ReconnectPhase.WAITING):
            raise LocalProtocolError(f"connected() while {self.phase.value}")
        replay = self.replay_items
        events = self.mirror.replay_events(replay_items=replay)
        replayed = sum(isinstance(e, ConversationItemCreateEvent) for e in events)
        self.mirror.new_connection(replay_items=replay)
        for event in events:
            self.mirror.client_event(event)
        self.phase = ReconnectPhase.CONNECTED
        self.retry_at = None
        self._healthy = False
        self._connected_at = now
        self.total_reconnects += 1
        return events, [Reconnected(attempt=self.attempt, replayed_items=replayed)]

    def delay_remaining(self, now: float) -> float:
        """Seconds left before the scheduled attempt (0 when due)."""
        if self.retry_at is None:
            return 0.0
        return max(0.0, self.retry_at - now)

    def _schedule(self, now: float, close_code: int | None, reason: str) -> ReconnectNotice:
        if self.attempt >= self.policy.max_attempts:
            self.phase = ReconnectPhase.FAILED
            return ReconnectFailed(
                attempts=self.attempt,
                close_code=close_code,
                reason=reason or f"gave up after {self.attempt} attempts",
            )
        self.attempt += 1
        delay = self.policy.next_delay(self.attempt, self.rng)
        self.retry_at = now + delay
        self.phase = ReconnectPhase.WAITING
        return Reconnecting(
            attempt=self.attempt,
            delay=delay,
            close_code=close_code,
            retry_at=self.retry_at,
            reason=reason,
        )
