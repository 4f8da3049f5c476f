"""MCP approvals of a voice session: requests in, ``mcp_approval_response`` items out.

A request reaches the app as :class:`~oairt_core._voice_events.McpApprovalRequest`
and, when an approval callback is configured, as an
:class:`~oairt_core._actions.ApprovalJob` for the adapter to run. The answer
(``approve``/``deny``, or the callback's) is sent as an item followed by the
automatic ``response.create``. A callback that raises denies (fail closed).

>>> from oairt_core._actions import Outbox
>>> from oairt_core._conversation import SessionMirror
>>> from oairt_core._tool_calls import ToolCallTracker
>>> out = Outbox()
>>> mcp = McpApprovals(out, ToolCallTracker(out, SessionMirror()), SessionMirror())
>>> mcp.deny("apr_1", reason="not today")
>>> [type(e).__name__ for e in out.drain().send]
['ConversationItemCreateEvent', 'ResponseCreateEvent']
"""

from __future__ import annotations

import msgspec

from ._actions import ApprovalJob, Outbox
from ._config import ApprovalCallback
from ._conversation import SessionMirror
from ._log import get_logger
from ._playback import remember
from ._redact import redact_text
from ._tool_calls import ToolCallTracker
from ._validation import validate_client_event
from ._voice_events import Error, McpApprovalRequest
from .events import ConversationItemCreateEvent, ServerEvent
from .models import McpApprovalRequestItem, McpApprovalResponseItem

__all__ = ["McpApprovals"]

log = get_logger("voice")


class McpApprovals:
    """Approval requests seen (recent ones, to ignore repeats) and the answers sent."""

    def __init__(
        self,
        outbox: Outbox,
        tools: ToolCallTracker,
        conversation: SessionMirror,
        callback: ApprovalCallback | None = None,
    ) -> None:
        self._out = outbox
        self._tools = tools
        self._conversation = conversation
        self.callback = callback
        self._seen: dict[str, int] = {}  # request id -> seq of the response that asked
        self._counter = 0

    def on_request(
        self, item: McpApprovalRequestItem, raw: ServerEvent, response_id: str | None
    ) -> None:
        """An ``mcp_approval_request`` item arrived (added, done or as a response output)."""
        if item.id in self._seen:
            return
        if not item.id:
            self._out.violation("MCP approval request without an id: ignored", None, raw)
            return
        seq = self._conversation.response_seq(response_id) if response_id else None
        remember(self._seen, item.id, self._conversation.next_response_seq if seq is None else seq)
        request = McpApprovalRequest(
            id=item.id,
            server_label=item.server_label,
            name=item.name,
            arguments=item.arguments,
            item=item,
            raw=raw,
        )
        self._out.emit(request)
        if self.callback is not None:
            self._out.approvals.append(ApprovalJob(request, self.callback))

    def approve(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Approve an MCP tool call (``mcp_approval_response`` with ``approve: true``)."""
        self._answer(request, True, reason)

    def deny(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Refuse an MCP tool call."""
        self._answer(request, False, reason)

    def failed(self, request: McpApprovalRequest, error: BaseException) -> None:
        """The approval callback raised: deny (fail closed) and report an ``Error``."""
        log.error("MCP approval callback failed for %s", request.id[:200], exc_info=error)
        self._out.emit(
            Error(message=redact_text(f"MCP approval callback failed: {error!r}"), exception=error)
        )
        self.deny(request, reason="the approval check failed")

    def _answer(self, request: McpApprovalRequest | str, approve: bool, reason: str | None) -> None:
        request_id = request.id if isinstance(request, McpApprovalRequest) else request
        self._counter += 1
        event = ConversationItemCreateEvent(
            item=McpApprovalResponseItem(
                id=f"mcpr_oairt_{self._counter}",
                approval_request_id=request_id,
                approve=approve,
                reason=msgspec.UNSET if reason is None else reason,
            )
        )
        if isinstance(request, McpApprovalRequest):
            # The id came from the server: a bad one is reported, not raised.
            if not self._out.queue_checked(event, request.raw, "mcp_approval_response"):
                return
        else:
            validate_client_event(event)  # the app's own value: its mistake, raised
            self._out.send.append(event)
        since = self._seen.get(request_id, self._conversation.next_response_seq)
        self._tools.request_response(since)
