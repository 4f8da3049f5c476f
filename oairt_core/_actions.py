"""What the voice session asks of the adapter: :class:`VoiceActions` and the queues behind it.

:class:`Outbox` is the one place a part of the session puts its outputs: client
events to send, voice events for the app, tools to start or cancel, approval
callbacks to run. :meth:`Outbox.queue_checked` is how a client event built from
server values is queued: it is validated first, and a value the server got
wrong becomes a :class:`~oairt_core._voice_events.ProtocolViolation` instead of
an exception.

>>> out = Outbox()
>>> out.drain()
VoiceActions(send=[], deliver=[], start=[], cancel=[], approvals=[])
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._config import ApprovalCallback
from ._log import get_logger
from ._validation import validate_client_event
from ._voice_events import McpApprovalRequest, ProtocolViolation, VoiceEvent
from .errors import InvalidClientEvent
from .events import ClientEvent, ServerEvent
from .tools import TypedTool

__all__ = ["ApprovalJob", "Outbox", "ToolRun", "VoiceActions"]

log = get_logger("voice")


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


def _take(queue: deque[Any]) -> list[Any]:
    out = list(queue)
    queue.clear()
    return out


class Outbox:
    """The pending outputs of a voice session, oldest first."""

    def __init__(self) -> None:
        self.send: deque[ClientEvent] = deque()
        self.deliver: deque[VoiceEvent] = deque()
        self.start: deque[ToolRun] = deque()
        self.cancel: deque[str] = deque()
        self.approvals: deque[ApprovalJob] = deque()

    def drain(self) -> VoiceActions:
        """Take every pending output at once."""
        return VoiceActions(
            send=_take(self.send),
            deliver=_take(self.deliver),
            start=_take(self.start),
            cancel=_take(self.cancel),
            approvals=_take(self.approvals),
        )

    def emit(self, event: VoiceEvent) -> None:
        self.deliver.append(event)

    def queue_checked(self, event: ClientEvent, raw: ServerEvent | None, what: str) -> bool:
        """Queue ``event`` (built from server values) if it is valid; else report it.

        Returns whether it was queued. ``what`` names the action for the report.
        """
        try:
            validate_client_event(event)
        except InvalidClientEvent as exc:
            self.violation(f"{what} not sent: {exc}", exc, raw, event)
            return False
        self.send.append(event)
        return True

    def violation(
        self,
        message: str,
        exc: BaseException | None,
        raw: ServerEvent | None,
        event: ClientEvent | None = None,
    ) -> None:
        """Report a server value the session could not act on, and go on."""
        log.warning("protocol violation by the server: %s", message)
        self.emit(ProtocolViolation(message=message, event=event, exception=exc, raw=raw))
