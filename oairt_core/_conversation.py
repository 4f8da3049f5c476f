"""The conversation tracker: what the client knows of one session's conversation.

:class:`SessionMirror` watches the events of a session and knows the effective
configuration, the conversation items in order, the responses in flight and the
input audio not yet acknowledged. Reconnection reads it to restore a session
(``ReconnectState(mirror=...)``) and the voice session reads it for the
responses in flight (``VoiceSession(config, conversation=...)``): one tracker,
so a voice session over a reconnecting connection shares one instance.

Every update costs O(1) (amortised) however long the conversation: items live in
a linked map, so an item inserted after ``previous_item_id`` does not rebuild
the conversation, and at most :data:`MAX_IN_FLIGHT` responses are tracked.

>>> from oairt_core.codec import decode_server_event
>>> m = SessionMirror()
>>> m.server_event(decode_server_event(b'{"type":"response.created","event_id":"e1",'
...     b'"response":{"id":"resp_1","status":"in_progress","output":[]}}'))
>>> list(m.responses_in_flight)
['resp_1']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

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

if TYPE_CHECKING:
    from .reconnect import ReconnectNotice

__all__ = ["MAX_IN_FLIGHT", "SessionMirror", "merge_config", "replayable"]

#: Responses tracked in flight at most. The server runs one response per
#: conversation at a time plus a few out-of-band ones; a ``response.created``
#: never followed by ``response.done`` must not grow state without bound, so the
#: oldest is forgotten (it is long dead) when a newer one arrives.
MAX_IN_FLIGHT = 32


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


class _ItemList(MutableMapping[str, ConversationItem]):
    """Conversation items by id, in conversation order; O(1) insert after any item.

    A dict of id -> [previous id, next id, item]: the server's ``previous_item_id``
    places an item anywhere, and rebuilding a dict for that costs O(n) per item.
    """

    def __init__(self) -> None:
        self._nodes: dict[str, list[Any]] = {}
        self._head: str | None = None
        self._tail: str | None = None

    def __getitem__(self, key: str) -> ConversationItem:
        item: ConversationItem = self._nodes[key][2]
        return item

    def __setitem__(self, key: str, value: ConversationItem) -> None:
        node = self._nodes.get(key)
        if node is not None:
            node[2] = value
            return
        self._link(key, value, self._tail)

    def insert_after(self, previous: str, key: str, value: ConversationItem) -> None:
        """Add ``key`` right after ``previous`` (at the end if ``previous`` is unknown)."""
        if key in self._nodes:
            self._nodes[key][2] = value
            return
        self._link(key, value, previous if previous in self._nodes else self._tail)

    def _link(self, key: str, value: ConversationItem, prev: str | None) -> None:
        nxt = self._nodes[prev][1] if prev is not None else self._head
        self._nodes[key] = [prev, nxt, value]
        if prev is None:
            self._head = key
        else:
            self._nodes[prev][1] = key
        if nxt is None:
            self._tail = key
        else:
            self._nodes[nxt][0] = key

    def __delitem__(self, key: str) -> None:
        prev, nxt, _ = self._nodes.pop(key)
        if prev is None:
            self._head = nxt
        else:
            self._nodes[prev][1] = nxt
        if nxt is None:
            self._tail = prev
        else:
            self._nodes[nxt][0] = prev

    def __iter__(self) -> Iterator[str]:
        key = self._head
        while key is not None:
            nxt = self._nodes[key][1]
            yield key
            key = nxt

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, key: object) -> bool:
        return key in self._nodes

    def __repr__(self) -> str:
        return f"_ItemList({list(self)!r})"


class SessionMirror:
    """Watches the events of one session to know what a new connection must be told.

    Feed every client event sent (:meth:`client_event`) and every server event
    received (:meth:`server_event`). It tracks

    - the effective session configuration the client asked for (every
      ``session.update`` merged, see :func:`merge_config`);
    - the conversation items, in order (``conversation.item.added``/``done``,
      ``deleted``, ``truncated``, input transcripts), audio bytes stripped;
    - responses in flight (``response.created`` without ``response.done``, at
      most :data:`MAX_IN_FLIGHT`) and ``response.create`` requests not yet answered;
    - input audio appended but not yet committed or cleared by the server.

    Two owners may feed one mirror (a voice session and a ``ReconnectState``):
    the same server event object fed twice in a row counts once. Client events
    are fed by whoever sends them (the voice session never does: only the
    sender knows what went out).

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
        self.items: _ItemList = _ItemList()
        self.truncated: set[str] = set()
        #: response id -> its sequence number (order of ``response.created``), oldest first
        self.responses_in_flight: dict[str, int] = {}
        self._response_seq = 0
        self._pending_response_creates: deque[str | None] = deque()
        self._pending_item_creates: list[_PendingCreate] = []
        self._server_item_ids: set[str] = set()
        self._input_format: Any = None
        self._server_input_format: Any = None
        self._last_server_event: object = None
        self._reset_audio()

    def _reset_audio(self) -> None:
        self.appended_bytes = 0
        self.acknowledged_bytes = 0
        self._audio_marks: list[tuple[str, str | None, int]] = []
        self.in_speech = False
        self._speech_end_bytes = 0

    # -- responses, for the voice session ------------------------------------------------

    def response_seq(self, response_id: str) -> int | None:
        """The sequence number of an in-flight response (``None`` if not in flight)."""
        return self.responses_in_flight.get(response_id)

    @property
    def next_response_seq(self) -> int:
        """The sequence number the next ``response.created`` will get."""
        return self._response_seq

    def newest_in_flight(self) -> str | None:
        """The most recently created response still in flight."""
        return next(reversed(self.responses_in_flight), None)

    def in_flight_since(self, seq: int) -> bool:
        """Whether a response created at or after sequence number ``seq`` is in flight.

        O(1): the newest in-flight response has the highest sequence number.
        """
        newest = self.newest_in_flight()
        return newest is not None and self.responses_in_flight[newest] >= seq

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
        """Record a server event just received (the same object twice in a row counts once)."""
        if event is self._last_server_event:
            return
        self._last_server_event = event
        if isinstance(
            event,
            (ConversationItemAddedEvent, ConversationItemDoneEvent, ConversationItemCreatedEvent),
        ):
            self._item(event.item, event.previous_item_id)
        elif isinstance(event, ConversationItemDeletedEvent):
            self.items.pop(event.item_id, None)
            self.truncated.discard(event.item_id)
        elif isinstance(event, ConversationItemTruncatedEvent):
            self.truncated.add(event.item_id)
        elif isinstance(event, ConversationItemInputAudioTranscriptionCompletedEvent):
            self._transcript(event.item_id, event.content_index, event.transcript)
        elif isinstance(event, ResponseCreatedEvent):
            if self._pending_response_creates:
                self._pending_response_creates.popleft()
            rid = event.response.id
            if isinstance(rid, str) and rid:
                self._response_created(rid)
        elif isinstance(event, ResponseDoneEvent):
            rid = event.response.id
            if isinstance(rid, str) and rid:
                self.responses_in_flight.pop(rid, None)
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

    def _response_created(self, rid: str) -> None:
        if rid in self.responses_in_flight:
            return  # a repeated response.created keeps its place
        self.responses_in_flight[rid] = self._response_seq
        self._response_seq += 1
        while len(self.responses_in_flight) > MAX_IN_FLIGHT:
            del self.responses_in_flight[next(iter(self.responses_in_flight))]

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
            # Right after previous_item_id, as the server placed it (O(1)).
            self.items.insert_after(previous_item_id, item_id, item)
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
        # The notices belong to reconnection; imported here, where they are made.
        from .reconnect import InputAudioLost, ItemsLost, ResponseLost

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
        self._last_server_event = None
        self.truncated.clear()
        if replay_items:
            items, _ = self.replay_items()
            self.items = _ItemList()
            self._pending_item_creates = [_PendingCreate(None, item) for item in items]
        else:
            self.items = _ItemList()
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
