"""The voice session's state and outputs, shared by its parts.

:class:`~oairt_core.session.VoiceSession` is assembled from layers, each in its
own module and each building on the one before:

- :class:`SessionState` (here): the bookkeeping, the output queues and
  :meth:`SessionState.drain`, which hands the adapter everything to do at once;
- ``voice_tools.ToolCalls``: typed tools and MCP approvals;
- ``barge_in.BargeIn``: playback accounting and interruption;
- ``voice_handlers.ServerEventHandlers``: one method per server event;
- ``session.VoiceSession``: the app's inputs (audio, commit, responses, updates).

>>> from oairt_core.config import VoiceConfig
>>> state = SessionState(VoiceConfig())
>>> state.drain()
VoiceActions(send=[], deliver=[], start=[], cancel=[], approvals=[])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .config import ApprovalCallback, AudioFormatName, RealtimeBuilder, VoiceConfig
from .connection import IncomingEvent
from .events import ClientEvent, ConversationItemCreateEvent
from .models import ConversationItem
from .tools import ToolRegistry, TypedTool
from .validation import validate_client_event
from .voice_audio import bytes_per_ms
from .voice_events import McpApprovalRequest, VoiceEvent

__all__ = ["ApprovalJob", "ToolRun", "VoiceActions"]

# Remember this many of our own response.cancel event ids, to recognise the
# server's "no active response" error when a cancel raced a response.done.
CANCEL_MEMORY = 64
# Per-item and per-response memory is bounded: a session may run for hours.
RECENT = 64


def remember(ordered: dict[str, Any], key: str, value: Any = None) -> None:
    """Insert into an insertion-ordered dict, forgetting the oldest beyond ``RECENT``."""
    ordered[key] = value
    while len(ordered) > RECENT:
        del ordered[next(iter(ordered))]


def opt(value: Any) -> Any:
    """``None`` for a field the server did not send."""
    return None if value is msgspec.UNSET else value


@dataclass(frozen=True)
class ToolRun:
    """A typed tool the adapter must run: ``run.func(*run.args)``.

    Async functions are awaited, sync ones run in a worker thread; when the call
    ends the adapter reports :meth:`VoiceSession.tool_finished`.
    """

    call_id: str
    name: str
    tool: TypedTool[Any, Any]
    args: tuple[Any, ...]
    response_id: str

    @property
    def func(self) -> Callable[..., Any]:
        return self.tool.fn

    @property
    def is_async(self) -> bool:
        return self.tool.is_async


@dataclass(frozen=True)
class ApprovalJob:
    """An MCP approval request for the configured approval callback."""

    request: McpApprovalRequest
    callback: ApprovalCallback


@dataclass
class Call:
    call_id: str
    name: str
    response_id: str
    order: int
    output: str | None = None
    finished: bool = False
    skipped: bool = False


@dataclass
class AudioItem:
    item_id: str
    response_id: str
    content_index: int
    fmt: AudioFormatName
    received_bytes: int = 0
    first_at: float | None = None
    carry: bytes = b""
    truncated: bool = False

    @property
    def received_ms(self) -> float:
        return self.received_bytes / bytes_per_ms(self.fmt)


@dataclass
class ResponseState:
    response_id: str
    in_progress: bool = True
    calls: list[str] = field(default_factory=list)
    interrupted: bool = False


@dataclass(frozen=True)
class VoiceActions:
    """Everything the adapter must do after one input to the session, in this order.

    ``send``: client events to send, in order (shielded: never half-sent).
    ``cancel``: ``call_id``\\ s of running tools to cancel (their response was
    interrupted). ``start``: typed tools to start, each in its own task.
    ``approvals``: calls of the MCP approval callback to start. ``deliver``:
    voice events for the app's bounded buffer.
    """

    send: list[ClientEvent] = field(default_factory=list)
    deliver: list[VoiceEvent] = field(default_factory=list)
    start: list[ToolRun] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)
    approvals: list[ApprovalJob] = field(default_factory=list)


class SessionState:
    """The voice session's bookkeeping and output queues (no event handling here)."""

    def __init__(self, config: VoiceConfig | RealtimeBuilder, *, sideband: bool = False) -> None:
        if isinstance(config, RealtimeBuilder):
            config = config.build()
        config.to_session_config()  # fail before connecting, with the rule named
        self.config: VoiceConfig = config
        self.sideband = sideband
        self._registry: ToolRegistry = config.registry()
        self._manual = config.manual_function_names()
        self._outbox: deque[ClientEvent] = deque()
        self._voice: deque[VoiceEvent] = deque()
        self._runs: deque[ToolRun] = deque()
        self._cancels: deque[str] = deque()
        self._approvals: deque[ApprovalJob] = deque()
        self._responses: dict[str, ResponseState] = {}
        self._in_progress: list[str] = []  # response ids, oldest first
        self._dropped: dict[str, None] = {}  # interrupted response ids (ordered set)
        self._cancel_ids: deque[str] = deque(maxlen=CANCEL_MEMORY)
        self._audio: dict[str, AudioItem] = {}
        self._played: dict[str, float] = {}
        self._current_audio: str | None = None
        self._calls: dict[str, Call] = {}
        self._approval_seen: dict[str, None] = {}
        self._want_response = False
        self._input_bytes = 0
        self._counter = 0
        self._sideband_playing = False
        self.last_raw: IncomingEvent | None = None

    # ------------------------------------------------------------------ outputs

    def drain(self) -> VoiceActions:
        """Take every pending output at once (the adapters' single call after each input)."""
        return VoiceActions(
            send=self.events_to_send(),
            deliver=self.voice_events(),
            start=self.tool_runs(),
            cancel=self.tools_to_cancel(),
            approvals=self.approval_jobs(),
        )

    def events_to_send(self) -> list[ClientEvent]:
        """Client events produced so far, oldest first; the caller sends them in order."""
        out = list(self._outbox)
        self._outbox.clear()
        return out

    def next_voice_event(self) -> VoiceEvent | None:
        """The next voice event for the app, or ``None`` when there is none yet."""
        return self._voice.popleft() if self._voice else None

    def voice_events(self) -> list[VoiceEvent]:
        """All pending voice events at once."""
        out = list(self._voice)
        self._voice.clear()
        return out

    def tool_runs(self) -> list[ToolRun]:
        """Typed tools to start now (each in its own task)."""
        out = list(self._runs)
        self._runs.clear()
        return out

    def tools_to_cancel(self) -> list[str]:
        """``call_id``\\ s of running tools to cancel (their response was interrupted)."""
        out = list(self._cancels)
        self._cancels.clear()
        return out

    def approval_jobs(self) -> list[ApprovalJob]:
        """MCP approval requests to hand to the configured approval callback."""
        out = list(self._approvals)
        self._approvals.clear()
        return out

    # ------------------------------------------------------------------ shared helpers

    def send_item(self, item: ConversationItem, *, previous_item_id: str | None = None) -> None:
        """Queue a ``conversation.item.create``."""
        event = ConversationItemCreateEvent(
            item=item,
            previous_item_id=msgspec.UNSET if previous_item_id is None else previous_item_id,
        )
        validate_client_event(event)
        self._outbox.append(event)

    def _emit(self, event: VoiceEvent) -> None:
        self._voice.append(event)

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_oairt_{self._counter}"
