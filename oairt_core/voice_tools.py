"""Typed tools and MCP approvals of the voice session.

When the model calls a function the session validates the arguments, asks the
adapter to run the typed tool (:class:`~oairt_core.voice_state.ToolRun`), and
once every call of the response is answered sends the outputs in call order,
then one ``response.create`` (unless ``auto_tool_response`` is off). A bad call
goes back to the model as an error output. A barge-in abandons the response:
its running tools are cancelled and their outputs never sent. MCP approval
requests go to the approval callback (or the app answers with ``approve``/``deny``).

>>> from oairt_core import codec
>>> from oairt_core.config import VoiceConfig
>>> from oairt_core.session import VoiceSession
>>> s = VoiceSession(VoiceConfig())
>>> ev = codec.decode_server_event(b'{"type":"response.function_call_arguments.done",'
...     b'"event_id":"e","response_id":"r","item_id":"i","output_index":0,'
...     b'"call_id":"c1","name":"nope","arguments":"{}"}')
>>> [type(e).__name__ for e in s.handle_event(ev, now=0.0)]
['ToolResult']
"""

from __future__ import annotations

from typing import Any

import msgspec

from .errors import ToolError
from .events import ConversationItemCreateEvent, ResponseCreateEvent, ServerEvent
from .models import FunctionCallOutputItem, McpApprovalRequestItem, McpApprovalResponseItem
from .redact import redact_text
from .tools import error_output, exception_output, serialize_output
from .voice_events import Error, McpApprovalRequest, ToolCall, ToolResult
from .voice_state import ApprovalJob, Call, ResponseState, SessionState, ToolRun, remember

__all__: list[str] = []


class ToolCalls(SessionState):
    """The tool round trip and MCP approvals (a layer of ``VoiceSession``)."""

    def tool_finished(
        self, call_id: str, output: Any = None, *, error: BaseException | None = None
    ) -> None:
        """Report the end of a tool call (result ``output`` or the ``error`` raised).

        Unknown or already-answered ``call_id``\\ s are ignored (a tool cancelled
        by a barge-in may still report).
        """
        call = self._calls.get(call_id)
        if call is None or call.finished:
            return
        if error is not None:
            self._finish_call(call, exception_output(error, call.name), is_error=True)
            return
        try:
            text = serialize_output(output)
        except ToolError as exc:  # a result we cannot serialise goes back as an error
            self._finish_call(call, error_output(f"tool {call.name!r} failed: {exc}"), True)
            return
        self._finish_call(call, text, is_error=False)

    def approval_failed(self, request: McpApprovalRequest, error: BaseException) -> None:
        """The approval callback raised: deny (fail closed) and report an ``Error``."""
        self._emit(
            Error(message=redact_text(f"MCP approval callback failed: {error!r}"), exception=error)
        )
        self.deny(request, reason="the approval check failed")

    def approve(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Approve an MCP tool call (``mcp_approval_response`` with ``approve: true``)."""
        self._answer_approval(request, True, reason)

    def deny(self, request: McpApprovalRequest | str, reason: str | None = None) -> None:
        """Refuse an MCP tool call."""
        self._answer_approval(request, False, reason)

    # ------------------------------------------------------------------ internals

    def _request_response(self) -> None:
        if self.config.auto_tool_response:
            self._want_response = True
        self._flush_response_request()

    def _flush_response_request(self) -> None:
        if not self._want_response or self._in_progress:
            return
        # Wait until every tool batch is answered: one response.create covers all.
        if any(not c.finished for c in self._calls.values()):
            return
        self._want_response = False
        self._outbox.append(ResponseCreateEvent())

    def _abandon_response(self, response_id: str) -> None:
        remember(self._dropped, response_id)
        resp = self._responses.get(response_id)
        if resp is None or resp.interrupted:
            return
        resp.interrupted = True
        for call_id in resp.calls:
            call = self._calls[call_id]
            if not call.finished:
                call.finished = True
                call.skipped = True
                self._cancels.append(call_id)
        self._maybe_flush_calls(response_id)

    # -- tools

    def _on_function_call(
        self,
        call_id: str,
        name: str,
        arguments: str,
        response_id: str,
        item_id: str | None,
        raw: ServerEvent,
    ) -> None:
        if call_id in self._calls:
            return  # arguments.done and output_item.done both announce the call
        resp = self._responses.setdefault(
            response_id, ResponseState(response_id, in_progress=False)
        )
        call = Call(call_id, name, response_id, order=len(self._calls))
        self._calls[call_id] = call
        resp.calls.append(call_id)
        if resp.interrupted:
            call.finished = call.skipped = True
            return
        tool = self._registry.get(name)
        if tool is None:
            if name in self._manual:
                self._emit(ToolCall(call_id, name, arguments, arguments, response_id, item_id, raw))
                return
            self._finish_call(call, self._registry.unknown_tool_output(name), True)
            return
        try:
            args = tool.prepare_call(arguments)
        except ToolError as exc:
            self._finish_call(call, error_output(str(exc)), True)
            return
        value = args[0] if args else None
        self._emit(ToolCall(call_id, name, value, arguments, response_id, item_id, raw))
        self._runs.append(ToolRun(call_id, name, tool, args, response_id))

    def _finish_call(self, call: Call, output: str, is_error: bool) -> None:
        call.finished = True
        call.output = output
        self._emit(ToolResult(call.call_id, call.name, output, is_error))
        self._maybe_flush_calls(call.response_id)

    def _maybe_flush_calls(self, response_id: str) -> None:
        resp = self._responses.get(response_id)
        if resp is None or resp.in_progress or not resp.calls:
            return
        calls = [self._calls[c] for c in resp.calls]
        if not all(c.finished for c in calls):
            return
        answered = False
        if not resp.interrupted:
            for c in sorted(calls, key=lambda c: c.order):
                if c.output is not None and not c.skipped:
                    self._outbox.append(
                        ConversationItemCreateEvent(
                            item=FunctionCallOutputItem(call_id=c.call_id, output=c.output)
                        )
                    )
                    answered = True
        for c in calls:
            del self._calls[c.call_id]
        resp.calls.clear()
        self._responses.pop(response_id, None)
        if answered:
            self._request_response()
        else:
            self._flush_response_request()

    # -- MCP

    def _on_approval_request(self, item: McpApprovalRequestItem, raw: ServerEvent) -> None:
        if item.id in self._approval_seen:
            return
        remember(self._approval_seen, item.id)
        request = McpApprovalRequest(
            id=item.id,
            server_label=item.server_label,
            name=item.name,
            arguments=item.arguments,
            item=item,
            raw=raw,
        )
        self._emit(request)
        if self.config.mcp_approval is not None:
            self._approvals.append(ApprovalJob(request, self.config.mcp_approval))

    def _answer_approval(
        self, request: McpApprovalRequest | str, approve: bool, reason: str | None
    ) -> None:
        request_id = request.id if isinstance(request, McpApprovalRequest) else request
        item = McpApprovalResponseItem(
            id=self._next_id("mcpr"),
            approval_request_id=request_id,
            approve=approve,
            reason=msgspec.UNSET if reason is None else reason,
        )
        self.send_item(item)
        self._request_response()
