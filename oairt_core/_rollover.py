"""Session rollover, sans-IO: a fresh session before the server's cap, the context carried over.

The GA server ends every session at its maximum duration (60 minutes): an ``error``
with code ``session_expired``, then a close with 1001. A long call survives it by
moving to a new session first. This module decides when, and what the new session
is told; the async layer (``open_voice(..., rollover=RolloverPolicy())``) opens the
connection and switches over.

* **When.** The window opens ``before`` seconds ahead of the cap. In it, the first
  quiet moment is taken: no response in progress or requested, no user speech
  (between ``speech_started`` and ``speech_stopped``), no tool running, and the
  assistant's audio played out per the session's playback accounting. If none
  comes, the server ends the session at the cap and the rollover happens then, with
  the least loss: the speech in progress is sent again, a cut-off response is asked
  for again, and whatever could not be saved is named in the notice.
* **What.** The session configuration (one ``session.update``), then the conversation
  as text: text items as they are, audio items replaced by their transcripts (the
  assistant's audio cannot be created again), function calls and their outputs as
  they are; newest first within ``max_carry_bytes``, the oldest dropped. Or, with
  ``summarize``, one text item holding the app's summary instead of the history.
* **Input audio.** The last ``resend_input_ms`` of microphone audio goes to the new
  session again (the start of speech the server had not reported yet).

Nothing here reads a clock: ``now`` is passed in (any monotonic origin).

>>> state = RolloverState(RolloverPolicy(before=120))
>>> state.session_created(now=0.0)
>>> state.deadline, state.opens_at
(3600.0, 3480.0)
>>> state.watching(now=3000.0), state.watching(now=3500.0)
(False, True)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

import msgspec

from ._conversation import MAX_IN_FLIGHT, SessionMirror, replayable
from ._playback import Playback, remember
from .events import (
    ClientEvent,
    ConversationItemCreateEvent,
    ConversationItemTruncatedEvent,
    ErrorEvent,
    InputAudioBufferAppendEvent,
    InputAudioBufferSpeechStartedEvent,
    InputAudioBufferSpeechStoppedEvent,
    ResponseCreatedEvent,
    ResponseCreateEvent,
    ServerEvent,
    SessionUpdateEvent,
)
from .models import (
    ConversationItem,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputAudioContent,
    InputTextContent,
    MessageItem,
    OutputAudioContent,
    OutputTextContent,
)
from .reconnect import InputAudioLost, ItemsLost, ResponseLost

__all__ = [
    "PLAYOUT_SLACK_MS",
    "SESSION_EXPIRED",
    "InputTail",
    "LostNotice",
    "RolloverPlan",
    "RolloverPolicy",
    "RolloverReason",
    "RolloverState",
    "SessionRolledOver",
    "Summarizer",
    "carried_size",
    "cut_transcript",
    "fit_budget",
    "is_session_expired",
    "playout_end",
    "quiet_reason",
    "summary_item",
    "text_items",
]

#: The ``error.code`` of the server's "your session hit the maximum duration".
SESSION_EXPIRED = "session_expired"

#: The app's summary hook: the carried items (text only, oldest first) -> one text.
#: It may be async (the async layer awaits it).
Summarizer: TypeAlias = Callable[[Sequence[ConversationItem]], "str | Awaitable[str]"]

RolloverReason: TypeAlias = Literal["quiet", "cap", "manual"]

LostNotice: TypeAlias = ResponseLost | InputAudioLost | ItemsLost
"""What a rollover could not carry over (the reconnection notices, reused)."""

# Audio reported played within this of what was received counts as played out: the
# app's mark_played may round to whole samples or frames.
PLAYOUT_SLACK_MS = 1.0


@dataclass(frozen=True)
class RolloverPolicy:
    """When to move a long call to a new session, and what to carry over.

    - ``before``: seconds ahead of the cap when the window for a quiet moment opens.
    - ``session_limit``: the server's cap, counted from ``session.created`` (GA: 60
      minutes; a ``session.created`` whose ``expires_at`` says earlier wins).
    - ``max_carry_bytes``: the size budget of the carried conversation (its JSON).
    - ``summarize``: ``summarize(items) -> str`` (or async) replaces the history by
      one ``summary_role`` text item; if it raises, the history is carried instead.
    - ``resume_response``: ask again for a response the rollover cut off.
    - ``resend_input_ms``: the last milliseconds of input audio sent again to the new
      session; ``max_resend_ms`` bounds the speech sent again at the cap.

    >>> RolloverPolicy(before=1.0, session_limit=3.0).session_limit
    3.0
    >>> RolloverPolicy(before=10.0, session_limit=5.0)
    Traceback (most recent call last):
    ...
    ValueError: before must be a finite number with 0 <= before < session_limit
    """

    before: float = 120.0
    session_limit: float = 3600.0
    max_carry_bytes: int = 32_000
    summarize: Summarizer | None = None
    summary_role: Literal["system", "user"] = "system"
    resume_response: bool = True
    resend_input_ms: float = 300.0
    max_resend_ms: float = 30_000.0

    def __post_init__(self) -> None:
        if not (_finite(self.session_limit) and self.session_limit > 0):
            raise ValueError("session_limit must be a finite number > 0")
        if not (_finite(self.before) and 0 <= self.before < self.session_limit):
            raise ValueError("before must be a finite number with 0 <= before < session_limit")
        if isinstance(self.max_carry_bytes, bool) or not isinstance(self.max_carry_bytes, int):
            raise TypeError("max_carry_bytes must be an int")
        if self.max_carry_bytes < 0:
            raise ValueError("max_carry_bytes must be >= 0")
        if self.summary_role not in ("system", "user"):
            raise ValueError("summary_role must be 'system' or 'user'")
        if self.summarize is not None and not callable(self.summarize):
            raise TypeError("summarize must be callable")
        if not (_finite(self.resend_input_ms) and self.resend_input_ms >= 0):
            raise ValueError("resend_input_ms must be a finite number >= 0")
        if not (_finite(self.max_resend_ms) and self.max_resend_ms >= self.resend_input_ms):
            raise ValueError("max_resend_ms must be finite and >= resend_input_ms")


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class SessionRolledOver(msgspec.Struct, frozen=True, kw_only=True):
    """The call moved to a new session (the ``rollovers``-th time).

    - ``reason``: ``"quiet"`` (a quiet moment before the cap), ``"cap"`` (the server
      ended the session: ``at_cap``) or ``"manual"`` (the app asked).
    - ``carried_items``: conversation items re-created in the new session (the
      summary counts as one); ``dropped_items``: ids of the items left out for the
      size budget or replaced by the summary (``summarized``), oldest first.
    - ``resent_audio_ms``: input audio sent again to the new session;
      ``resumed_response``: a response cut off by the switch was asked for again.
    - ``lost``: what could not be carried over: responses cut off
      (:class:`ResponseLost`), speech that could not be sent again
      (:class:`InputAudioLost`), items with nothing to re-create them from, such as
      audio without a transcript (:class:`ItemsLost`).
    - ``summary_error``: the summary hook raised (the history was carried instead).
    """

    reason: RolloverReason
    at_cap: bool
    carried_items: int
    dropped_items: tuple[str, ...] = ()
    summarized: bool = False
    resent_audio_ms: float = 0.0
    resumed_response: bool = False
    lost: tuple[LostNotice, ...] = ()
    rollovers: int = 1
    summary_error: str | None = None


@dataclass
class RolloverPlan:
    """What to send on the new connection, in order, and the notice for the app.

    ``events``: the ``session.update``, the ``conversation.item.create`` of each
    carried item, the input audio sent again, then a ``response.create`` if one is
    resumed. ``items`` are the carried items (also inside ``events``).
    """

    events: list[ClientEvent]
    notice: SessionRolledOver
    items: list[ConversationItem] = field(default_factory=list)


def is_session_expired(event: object) -> bool:
    """Whether ``event`` is the server's ``session_expired`` error (the cap was hit).

    >>> from oairt_core.codec import decode_server_event
    >>> is_session_expired(decode_server_event(b'{"type":"error","event_id":"e",'
    ...     b'"error":{"type":"invalid_request_error","code":"session_expired",'
    ...     b'"message":"Your session hit the maximum duration of 60 minutes."}}'))
    True
    """
    return isinstance(event, ErrorEvent) and event.error.code == SESSION_EXPIRED


# --------------------------------------------------------------------------------------
# The conversation as text, within a budget
# --------------------------------------------------------------------------------------


def cut_transcript(text: str, fraction: float) -> str:
    """The first ``fraction`` of ``text``, cut at a word boundary, marked as cut off.

    The part of an interrupted answer the user heard, estimated from the share of
    its audio that was played.

    >>> cut_transcript("one two three four", 0.5)
    'one two…'
    >>> cut_transcript("one two", 1.0), cut_transcript("one two", 0.1)
    ('one two', '')
    """
    if not math.isfinite(fraction) or fraction <= 0:
        return ""
    if fraction >= 1:
        return text
    n = int(len(text) * fraction)
    if n < len(text) and not text[n].isspace():
        space = text.rfind(" ", 0, n + 1)
        n = space if space > 0 else 0
    head = text[:n].rstrip()
    return f"{head}…" if head else ""


def _truncated_text(item: ConversationItem, fraction: float | None) -> ConversationItem | None:
    # The server forgets the transcript of a truncated item (only heard audio stays);
    # carry the share of the transcript that matches the share of audio heard.
    if fraction is None or not isinstance(item, MessageItem):
        return None
    parts: list[InputTextContent | OutputTextContent] = []
    for part in item.content:
        if isinstance(part, OutputAudioContent) and isinstance(part.transcript, str):
            text = cut_transcript(part.transcript, fraction)
            if text:
                parts.append(OutputTextContent(text=text))
        elif isinstance(part, OutputTextContent) and isinstance(part.text, str) and part.text:
            parts.append(OutputTextContent(text=part.text))
    if not parts:
        return None
    return MessageItem(role=item.role, content=list(parts))


def _without_id(item: ConversationItem) -> ConversationItem:
    # The new session names its own items: an old id could collide with one of its.
    if isinstance(item, (MessageItem, FunctionCallItem, FunctionCallOutputItem)):
        return msgspec.structs.replace(item, id=msgspec.UNSET)
    return item


def _is_audio(item: ConversationItem) -> bool:
    return isinstance(item, MessageItem) and any(
        isinstance(p, (InputAudioContent, OutputAudioContent)) for p in item.content
    )


def text_items(
    conversation: SessionMirror, *, heard: Mapping[str, float] | None = None
) -> tuple[list[tuple[str, ConversationItem]], list[str]]:
    """The conversation as items a new session can be given, and the ids that cannot.

    Returns ``([(old item id, item without id), ...], [ids with nothing to carry])``
    in conversation order. Text parts stay as they are, an audio part becomes its
    transcript; function calls and outputs stay. A truncated assistant item keeps
    the share ``heard[item_id]`` (0..1) of its transcript, if known. Items with no
    text (audio without a transcript, items in progress, MCP items) cannot be
    carried.
    """
    heard = heard or {}
    keep: list[tuple[str, ConversationItem]] = []
    lost: list[str] = []
    for item_id, item in conversation.items.items():
        if item_id in conversation.truncated and _is_audio(item):
            candidate = _truncated_text(item, heard.get(item_id))
        else:
            candidate = replayable(item)
        if candidate is None:
            lost.append(item_id)
        else:
            keep.append((item_id, _without_id(candidate)))
    return keep, lost


def carried_size(item: ConversationItem) -> int:
    """The size an item counts against the budget: its JSON, in bytes."""
    return len(msgspec.json.encode(item))


def fit_budget(
    items: Sequence[tuple[str, ConversationItem]], max_bytes: int
) -> tuple[list[tuple[str, ConversationItem]], list[str]]:
    """The newest items whose sizes add up to at most ``max_bytes``, and the dropped ids.

    The kept items are the most recent ones, in order (the oldest go first, never
    one from the middle). A function output whose call is not kept is dropped too
    (the server refuses an output without its call).

    >>> from oairt_core.models import MessageItem, InputTextContent
    >>> msg = lambda t: MessageItem(role="user", content=[InputTextContent(text=t)])
    >>> kept, dropped = fit_budget([("a", msg("x" * 50)), ("b", msg("hi"))], 100)
    >>> [i for i, _ in kept], dropped
    (['b'], ['a'])
    """
    total = 0
    start = len(items)
    for index in range(len(items) - 1, -1, -1):
        total += carried_size(items[index][1])
        if total > max_bytes:
            break
        start = index
    kept = list(items[start:])
    dropped = [item_id for item_id, _ in items[:start]]
    calls = {it.call_id for _, it in kept if isinstance(it, FunctionCallItem)}
    orphans = {
        item_id
        for item_id, it in kept
        if isinstance(it, FunctionCallOutputItem) and it.call_id not in calls
    }
    if orphans:
        dropped += [item_id for item_id, _ in kept if item_id in orphans]
        kept = [(item_id, it) for item_id, it in kept if item_id not in orphans]
    return kept, dropped


def summary_item(
    text: str, role: Literal["system", "user"], max_bytes: int
) -> ConversationItem | None:
    """One ``role`` text item holding ``text``, cut to fit ``max_bytes`` (None if empty).

    >>> summary_item("The caller wants a refund.", "system", 1000)
    MessageItem(role='system', content=[InputTextContent(text='The caller wants a refund.')])
    """
    while text:
        item = MessageItem(role=role, content=[InputTextContent(text=text)])
        size = carried_size(item)
        if size <= max_bytes:
            return item
        # Shrink in proportion (JSON escapes make bytes and characters differ).
        text = text[: min(len(text) - 1, int(len(text) * max_bytes / size))]
    return None


# --------------------------------------------------------------------------------------
# Quiet moments
# --------------------------------------------------------------------------------------


def quiet_reason(
    conversation: SessionMirror,
    playback: Playback,
    now: float,
    *,
    tools_running: int = 0,
    responses_requested: int = 0,
) -> str | None:
    """Why now is not a quiet moment to switch sessions, or ``None`` if it is.

    >>> quiet_reason(SessionMirror(), Playback(), now=0.0) is None
    True
    >>> quiet_reason(SessionMirror(), Playback(), now=0.0, tools_running=1)
    'tool running'
    """
    if conversation.responses_in_flight:
        return "response in progress"
    if responses_requested:
        return "response requested"
    if conversation.in_speech:
        return "user speaking"
    if tools_running:
        return "tool running"
    if playout_end(playback, now) is not None:
        return "audio playing"
    return None


def _playing(playback: Playback) -> bool:
    item = playback.current_item()
    return item is not None and not item.truncated and not playback.is_dropped(item.response_id)


def playout_end(playback: Playback, now: float) -> float | None:
    """``None`` once the assistant's audio is played out; else when it will be.

    Without the app's ``mark_played`` reports, playback is assumed to run in real
    time from the item's first delta (as for barge-in), so the end is known. With
    them, the end is whenever the app reports it: ``math.inf``.
    """
    item = playback.current_item()
    if item is None or not _playing(playback):
        return None
    if playback.heard_ms(item.item_id, now) >= item.received_ms - PLAYOUT_SLACK_MS:
        return None
    if item.item_id in playback.played or item.first_at is None:
        return math.inf
    return item.first_at + item.received_ms / 1000.0


# --------------------------------------------------------------------------------------
# Input audio kept for the new session
# --------------------------------------------------------------------------------------


class InputTail:
    """The most recent input audio of this session, and where each speech turn lies in it.

    Offsets count bytes appended since the session began (the server's
    ``audio_start_ms``/``audio_end_ms`` count the same audio). At most ``max_bytes``
    are kept.

    >>> tail = InputTail(bytes_per_ms=48.0, max_bytes=96)
    >>> tail.append(b"a" * 100)
    >>> tail.appended, tail.kept_from, tail.last_ms(1.0)
    (100, 4, b'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
    """

    def __init__(self, bytes_per_ms: float, max_bytes: int) -> None:
        if not (bytes_per_ms > 0 and math.isfinite(bytes_per_ms)):
            raise ValueError("bytes_per_ms must be finite and > 0")
        self.bytes_per_ms = bytes_per_ms
        self.max_bytes = max(0, int(max_bytes))
        self.new_session()

    def new_session(self) -> None:
        self.appended = 0
        self._buf = bytearray()
        #: item id -> (start offset, end offset or None while speaking), recent turns
        self.speech: dict[str, tuple[int, int | None]] = {}

    @property
    def kept_from(self) -> int:
        """The offset of the oldest byte still kept."""
        return max(self.appended - len(self._buf), self.appended - self.max_bytes)

    def append(self, data: bytes) -> None:
        self.appended += len(data)
        if self.max_bytes == 0:
            return
        self._buf += data
        # Trim in batches: O(1) amortised per byte.
        if len(self._buf) > 2 * self.max_bytes:
            del self._buf[: len(self._buf) - self.max_bytes]

    def _offset(self, ms: float) -> int:
        if not math.isfinite(ms) or ms < 0:
            return 0
        n = int(ms * self.bytes_per_ms)
        return min(n - n % 2, self.appended)  # whole PCM16 samples, never past the end

    def server_event(self, event: ServerEvent) -> None:
        if isinstance(event, InputAudioBufferSpeechStartedEvent):
            remember(self.speech, event.item_id, (self._offset(event.audio_start_ms), None))
        elif isinstance(event, InputAudioBufferSpeechStoppedEvent):
            turn = self.speech.get(event.item_id)
            if turn is not None:
                self.speech[event.item_id] = (turn[0], self._offset(event.audio_end_ms))

    def since(self, offset: int, max_bytes: int) -> bytes:
        """The kept audio from ``offset`` on, at most the last ``max_bytes`` of it."""
        start = max(offset, self.kept_from, self.appended - max_bytes)
        return bytes(self._buf[len(self._buf) - (self.appended - start) :])

    def last_ms(self, ms: float) -> bytes:
        n = int(ms * self.bytes_per_ms)
        return self.since(self.appended - (n - n % 2), n)


# --------------------------------------------------------------------------------------
# The controller
# --------------------------------------------------------------------------------------


class RolloverState:
    """Rollover for one call: the cap of the current session, quiet moments, the plan.

    Feed it the client events sent (:meth:`client_event`) and the server events
    received (:meth:`server_event`), and :meth:`session_created` for each new
    session. While :meth:`watching`, ask :meth:`should_roll_over` after each event
    (and at :meth:`next_check`); then :meth:`plan`, send the plan's events on the
    new connection, and :meth:`switched`.

    >>> from oairt_core._playback import Playback
    >>> state = RolloverState(RolloverPolicy(before=1.0, session_limit=3.0))
    >>> state.session_created(now=10.0)
    >>> conv = SessionMirror()
    >>> state.should_roll_over(conv, Playback(), now=11.0)  # the window is not open
    False
    >>> state.should_roll_over(conv, Playback(), now=12.5)
    True
    >>> plan = state.plan(conv, Playback(), None, now=12.5, reason="quiet")
    >>> plan.notice
    SessionRolledOver(reason='quiet', at_cap=False, carried_items=0, dropped_items=(), \
summarized=False, resent_audio_ms=0.0, resumed_response=False, lost=(), rollovers=1, \
summary_error=None)
    """

    def __init__(self, policy: RolloverPolicy | None = None, *, bytes_per_ms: float = 48.0):
        self.policy = policy or RolloverPolicy()
        self.deadline: float | None = None
        self.opens_at: float | None = None
        self.rollovers = 0
        # ``response.create`` sent and not yet answered (their event ids, None if unset)
        # (bounded: a server that never answers must not grow it)
        self._requested: deque[str | None] = deque(maxlen=MAX_IN_FLIGHT)
        self._truncated: dict[str, float] = {}  # item id -> audio_end_ms (recent)
        self.input = InputTail(bytes_per_ms, int(self.policy.max_resend_ms * bytes_per_ms))

    # -- the cap --------------------------------------------------------------------------

    def session_created(
        self, *, now: float, expires_at: float | None = None, wall_now: float | None = None
    ) -> None:
        """A session began at ``now``; its cap is ``session_limit`` later.

        With ``expires_at`` (unix seconds, from ``session.created``) and the wall
        clock at ``now`` (``wall_now``), an earlier expiry wins; one that is already
        past or later than ``session_limit`` (a skewed clock) is ignored.
        """
        limit = self.policy.session_limit
        if expires_at is not None and wall_now is not None:
            left = expires_at - wall_now
            if _finite(left) and 0 < left < limit:
                limit = left
        self.deadline = now + limit
        self.opens_at = self.deadline - min(self.policy.before, limit)

    def reconnected(
        self, *, now: float, expires_at: float | None = None, wall_now: float | None = None
    ) -> None:
        """The connection dropped and a new server session replaced it (``reconnect=``).

        Its cap counts from now (or its ``expires_at``, as in :meth:`session_created`),
        and its input audio from zero.
        """
        self.session_created(now=now, expires_at=expires_at, wall_now=wall_now)
        self._requested.clear()
        self._truncated.clear()
        self.input.new_session()

    def watching(self, now: float) -> bool:
        """Whether the window for a quiet moment is open."""
        return self.opens_at is not None and now >= self.opens_at

    # -- events ---------------------------------------------------------------------------

    def client_event(self, event: ClientEvent) -> None:
        """Record a client event just sent on the current session."""
        if isinstance(event, InputAudioBufferAppendEvent):
            self.input.append(event.audio)
        elif isinstance(event, ResponseCreateEvent):
            eid = event.event_id
            self._requested.append(eid if isinstance(eid, str) else None)

    def server_event(self, event: ServerEvent) -> None:
        """Record a server event of the current session."""
        if isinstance(event, ResponseCreatedEvent):
            if self._requested:
                self._requested.popleft()
        elif isinstance(event, ConversationItemTruncatedEvent):
            remember(self._truncated, event.item_id, float(event.audio_end_ms))
        elif isinstance(event, ErrorEvent):
            # A refused response.create is never answered by response.created.
            eid = event.error.event_id
            if eid is not None and eid in self._requested:
                self._requested.remove(eid)
        else:
            self.input.server_event(event)

    # -- deciding -------------------------------------------------------------------------

    @property
    def responses_requested(self) -> int:
        """``response.create`` sent and not yet answered by ``response.created``."""
        return len(self._requested)

    def quiet_reason(
        self, conversation: SessionMirror, playback: Playback, now: float, tools_running: int = 0
    ) -> str | None:
        """Why now is not a quiet moment (``None``: it is); see :func:`quiet_reason`."""
        return quiet_reason(
            conversation,
            playback,
            now,
            tools_running=tools_running,
            responses_requested=self.responses_requested,
        )

    def should_roll_over(
        self, conversation: SessionMirror, playback: Playback, now: float, tools_running: int = 0
    ) -> bool:
        """In the window, at a quiet moment."""
        return (
            self.watching(now)
            and self.quiet_reason(conversation, playback, now, tools_running) is None
        )

    def next_check(self, playback: Playback, now: float) -> float | None:
        """When to ask :meth:`should_roll_over` again if no event comes before.

        The window's opening, or the end of the audio playing (when known);
        ``None`` when only an event can change the answer.
        """
        if self.opens_at is None:
            return None
        if now < self.opens_at:
            return self.opens_at
        end = playout_end(playback, now)
        return end if end is not None and math.isfinite(end) else None

    # -- the plan -------------------------------------------------------------------------

    def heard_fractions(self, playback: Playback) -> dict[str, float]:
        """Truncated item id -> the share of its received audio the user heard."""
        out: dict[str, float] = {}
        for item_id, end_ms in self._truncated.items():
            received = playback.received_ms(item_id)
            if received > 0:
                out[item_id] = min(1.0, max(0.0, end_ms / received))
        return out

    def plan(
        self,
        conversation: SessionMirror,
        playback: Playback,
        session_update: SessionUpdateEvent | None,
        *,
        now: float,
        reason: RolloverReason,
        tools_running: int = 0,
        summary: str | None = None,
        summary_error: str | None = None,
        max_chunk_bytes: int = 15 * 1024 * 1024,
    ) -> RolloverPlan:
        """The events that set up the new session, and the notice saying what happened.

        ``summary`` is the summary hook's answer (the async layer calls the hook,
        which may be async); ``None`` carries the history within the budget.
        Away from a quiet moment (the cap, or a manual rollover mid-turn) the loss
        is kept least: speech in progress, and speech the server committed but never
        transcribed, are sent again as audio (so the new session hears it); a
        response cut off is asked for again (``resume_response``) unless speech sent
        again will bring one.
        """
        policy = self.policy
        quiet = self.quiet_reason(conversation, playback, now, tools_running) is None
        items, lost_ids = text_items(conversation, heard=self.heard_fractions(playback))
        lost: list[LostNotice] = []

        # Input audio: the last moments always; away from quiet, the unheard speech.
        max_resend = int(policy.max_resend_ms * self.input.bytes_per_ms)
        audio = self.input.last_ms(policy.resend_input_ms)
        resent_speech = False
        if not quiet:
            known = set(conversation.items)
            lost_set = set(lost_ids)
            start: int | None = None
            speech_ids: list[str] = []
            for item_id, (begin, end) in self.input.speech.items():
                unheard = end is None or item_id in lost_set or item_id not in known
                if unheard:
                    start = begin if start is None else min(start, begin)
                    speech_ids.append(item_id)
            if start is not None:
                audio = self.input.since(start, max_resend)
                resent_speech = True
                sent_from = self.input.appended - len(audio)
                if sent_from > start:
                    lost.append(
                        InputAudioLost(
                            bytes=sent_from - start,
                            ms=(sent_from - start) / self.input.bytes_per_ms,
                            in_speech=conversation.in_speech,
                        )
                    )
                # Speech sent again is not lost: the new session hears and transcribes it.
                saved = {i for i in speech_ids if self.input.speech[i][0] >= sent_from}
                lost_ids = [i for i in lost_ids if i not in saved]

        # The conversation: the app's summary, or the newest items within the budget.
        summarized = False
        dropped: list[str]
        carried: list[ConversationItem]
        summary_obj = (
            summary_item(summary, policy.summary_role, policy.max_carry_bytes)
            if summary is not None
            else None
        )
        if summary_obj is not None:
            carried = [summary_obj]
            dropped = [item_id for item_id, _ in items]
            summarized = True
        else:
            kept, dropped = fit_budget(items, policy.max_carry_bytes)
            carried = [it for _, it in kept]
        if lost_ids:
            lost.insert(0, ItemsLost(item_ids=tuple(lost_ids)))

        cut = list(conversation.responses_in_flight) + [None] * self.responses_requested
        lost[:0] = [ResponseLost(response_id=rid) for rid in cut]
        resume = bool(cut) and policy.resume_response and not resent_speech

        events: list[ClientEvent] = []
        if session_update is not None:
            events.append(session_update)
        events += [ConversationItemCreateEvent(item=it) for it in carried]
        events += _appends(audio, max_chunk_bytes)
        if resume:
            events.append(ResponseCreateEvent())
        notice = SessionRolledOver(
            reason=reason,
            at_cap=reason == "cap",
            carried_items=len(carried),
            dropped_items=tuple(dropped),
            summarized=summarized,
            resent_audio_ms=len(audio) / self.input.bytes_per_ms,
            resumed_response=resume,
            lost=tuple(lost),
            rollovers=self.rollovers + 1,
            summary_error=summary_error,
        )
        return RolloverPlan(events=events, notice=notice, items=carried)

    def summary_input(
        self, conversation: SessionMirror, playback: Playback
    ) -> list[ConversationItem]:
        """The items a summary hook is given: the whole conversation as text, in order."""
        items, _ = text_items(conversation, heard=self.heard_fractions(playback))
        return [it for _, it in items]

    def switched(self, conversation: SessionMirror, plan: RolloverPlan) -> None:
        """The new session took over: forget the old one, record what was sent to it.

        The conversation tracker starts afresh with the carried items as requests
        the new session will acknowledge; the cap waits for its ``session.created``.
        """
        conversation.new_connection(replay_items=False)
        self.rollovers += 1
        self.deadline = self.opens_at = None
        self._requested.clear()
        self._truncated.clear()
        self.input.new_session()
        for event in plan.events:
            conversation.client_event(event)
            self.client_event(event)


def _appends(data: bytes, max_chunk_bytes: int) -> list[ClientEvent]:
    step = max(2, max_chunk_bytes - max_chunk_bytes % 2)
    return [
        InputAudioBufferAppendEvent(audio=bytes(data[i : i + step]))
        for i in range(0, len(data), step)
    ]
