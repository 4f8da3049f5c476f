"""The tool round trip of a voice session: calls in, outputs and one ``response.create`` out.

When the model calls a function the tracker validates the arguments and asks
the adapter to run the typed tool (:class:`~oairt_core._actions.ToolRun`). Once
the response that made the calls is done and every call of it is answered, the
outputs go out in call order, then (unless ``auto_tool_response`` is off) one
``response.create``. A bad call goes back to the model as a short error output
and reaches the app as :class:`~oairt_core._voice_events.ToolCallRejected`. A
barge-in abandons a response: its running tools are cancelled and their
outputs never sent.

Every step is O(1) per call (amortised): n parallel calls of one response cost
O(n) in all. The automatic ``response.create`` is keyed to the response that
made the calls: it waits for that response and for responses created after
it, never for an older one the server left without ``response.done``.

>>> from oairt_core._actions import Outbox
>>> from oairt_core._conversation import SessionMirror
>>> t = ToolCallTracker(Outbox(), SessionMirror())
>>> t.unfinished
0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ._actions import Outbox, ToolRun
from ._conversation import MAX_IN_FLIGHT, SessionMirror
from ._log import get_logger
from ._voice_events import ToolCall, ToolCallRejected, ToolResult
from .errors import ToolError
from .events import ConversationItemCreateEvent, ResponseCreateEvent, ServerEvent
from .models import FunctionCallOutputItem
from .tools import ToolRegistry, bounded, error_output, exception_output, serialize_output

__all__ = ["ToolCallTracker"]

log = get_logger("tools")


@dataclass
class Call:
    call_id: str
    name: str
    response_id: str
    output: str | None = None
    finished: bool = False
    skipped: bool = False


@dataclass
class Batch:
    """The calls of one response, in call order."""

    response_id: str
    seq: int  # the response's place in the order of response.created
    open: bool  # response.done not seen yet
    calls: list[Call] = field(default_factory=list)
    unfinished: int = 0
    interrupted: bool = False


class ToolCallTracker:
    """Function calls per response, their outputs, and the automatic ``response.create``."""

    def __init__(
        self,
        outbox: Outbox,
        conversation: SessionMirror,
        registry: ToolRegistry | None = None,
        manual: frozenset[str] = frozenset(),
        *,
        auto_response: bool = True,
    ) -> None:
        self._out = outbox
        self._conversation = conversation
        self.registry = registry if registry is not None else ToolRegistry()
        self.manual = manual
        self.auto_response = auto_response
        self._calls: dict[str, Call] = {}
        self._batches: dict[str, Batch] = {}
        #: calls started or handed to the app and not answered yet, over all responses
        self.unfinished = 0
        # The pending automatic response.create waits for in-flight responses
        # created at or after this sequence number (None: nothing pending).
        self._want_since: int | None = None

    # ------------------------------------------------------------------ calls in

    def on_call(
        self,
        call_id: str,
        name: str,
        arguments: str,
        response_id: str,
        item_id: str | None,
        raw: ServerEvent,
    ) -> None:
        """The model called ``name`` (announced by ``arguments.done`` or ``output_item.done``)."""
        if call_id in self._calls:
            return  # arguments.done and output_item.done both announce the call
        if not call_id:
            self._out.violation(
                f"function call {bounded(name)!r} without a call_id: not run, not answered",
                None,
                raw,
            )
            return
        batch = self._batch(response_id)
        call = Call(call_id, name, response_id)
        self._calls[call_id] = call
        batch.calls.append(call)
        if batch.interrupted:
            call.finished = call.skipped = True
            return
        tool = self.registry.get(name)
        if tool is None:
            if name in self.manual:
                self._pending(batch)
                self._out.emit(
                    ToolCall(call_id, name, arguments, arguments, response_id, item_id, raw)
                )
                return
            exc = ToolError(self.registry.unknown_message(name))
            self._reject(call, "unknown_tool", exc, arguments, raw)
            return
        try:
            args = tool.prepare_call(arguments)
        except ToolError as exc:
            self._reject(call, "invalid_arguments", exc, arguments, raw)
            return
        self._pending(batch)
        value = args[0] if args else None
        self._out.emit(ToolCall(call_id, name, value, arguments, response_id, item_id, raw))
        self._out.start.append(ToolRun(call_id, name, tool, args, response_id))

    def _batch(self, response_id: str) -> Batch:
        batch = self._batches.get(response_id)
        if batch is None:
            seq = self._conversation.response_seq(response_id)
            is_open = seq is not None
            if seq is None:  # calls of a response never announced: wait for later ones only
                seq = self._conversation.next_response_seq
            batch = Batch(response_id, seq, is_open)
            self._batches[response_id] = batch
        return batch

    def _pending(self, batch: Batch) -> None:
        batch.unfinished += 1
        self.unfinished += 1

    def _reject(
        self,
        call: Call,
        reason: Literal["unknown_tool", "invalid_arguments"],
        exc: ToolError,
        arguments: str,
        raw: ServerEvent,
    ) -> None:
        output = error_output(str(exc))
        log.warning("tool call %s rejected (%s): %s", bounded(call.call_id), reason, exc)
        self._out.emit(
            ToolCallRejected(call.call_id, call.name, reason, output, arguments, exc, raw)
        )
        self._finish(call, output, True, exc, counted=False)

    # ------------------------------------------------------------------ results in

    def tool_finished(
        self, call_id: str, output: Any = None, *, error: BaseException | None = None
    ) -> None:
        """The end of a tool call: its ``output`` or the ``error`` it raised.

        Unknown or already answered ``call_id``\\ s are ignored (a tool cancelled
        by a barge-in may still report).
        """
        call = self._calls.get(call_id)
        if call is None or call.finished:
            return
        if error is not None:
            log.error(
                "tool %r (call %s) raised %s",
                bounded(call.name),
                bounded(call_id),
                type(error).__name__,
                exc_info=error,
            )
            self._finish(call, exception_output(error, call.name), True, error)
            return
        try:
            text = serialize_output(output)
        except ToolError as exc:  # a result we cannot serialise goes back as an error
            log.error("tool %r returned an unserialisable value: %s", bounded(call.name), exc)
            self._finish(call, error_output(f"tool {call.name!r} failed: {exc}"), True, exc)
            return
        self._finish(call, text, False, None)

    def _finish(
        self,
        call: Call,
        output: str,
        is_error: bool,
        exc: BaseException | None,
        *,
        counted: bool = True,
    ) -> None:
        call.finished = True
        call.output = output
        if counted:
            self._done_one(call.response_id)
        self._out.emit(ToolResult(call.call_id, call.name, output, is_error, exception=exc))
        self._maybe_flush(call.response_id)

    def _done_one(self, response_id: str) -> None:
        batch = self._batches.get(response_id)
        if batch is not None:
            batch.unfinished -= 1
        self.unfinished -= 1

    # ------------------------------------------------------------------ responses

    def response_done(self, response_id: str) -> None:
        """``response.done``: the batch of that response may go out."""
        batch = self._batches.get(response_id)
        if batch is not None:
            batch.open = False
            self._maybe_flush(response_id)
        self.flush_response_request()

    def response_created(self) -> None:
        """``response.created``: batches of responses the tracker forgot are closed.

        The conversation tracks at most ``MAX_IN_FLIGHT`` responses; a batch whose
        response was forgotten (no ``response.done`` ever came) must not wait forever.
        """
        if len(self._batches) <= MAX_IN_FLIGHT:
            return
        in_flight = self._conversation.responses_in_flight
        for rid in [r for r, b in self._batches.items() if b.open and r not in in_flight]:
            self.response_done(rid)

    def abandon(self, response_id: str) -> list[str]:
        """A barge-in: skip the response's unanswered calls; returns those to cancel."""
        batch = self._batches.get(response_id)
        if batch is None or batch.interrupted:
            return []
        batch.interrupted = True
        cancelled: list[str] = []
        for call in batch.calls:
            if not call.finished:
                call.finished = call.skipped = True
                self._done_one(response_id)
                cancelled.append(call.call_id)
        self._out.cancel.extend(cancelled)
        self._maybe_flush(response_id)
        return cancelled

    def is_interrupted(self, response_id: str) -> bool:
        batch = self._batches.get(response_id)
        return batch is not None and batch.interrupted

    def connection_replaced(self) -> None:
        """A new connection: no ``response.done`` will come for the old responses."""
        for rid in [r for r, b in self._batches.items() if b.open]:
            self._batches[rid].open = False
            self._maybe_flush(rid)
        self.flush_response_request()

    def _maybe_flush(self, response_id: str) -> None:
        batch = self._batches.get(response_id)
        if batch is None or batch.open or batch.unfinished:
            return
        answered = False
        if not batch.interrupted:
            for call in batch.calls:  # already in call order
                if call.output is not None and not call.skipped:
                    sent = self._out.queue_checked(
                        ConversationItemCreateEvent(
                            item=FunctionCallOutputItem(call_id=call.call_id, output=call.output)
                        ),
                        None,
                        f"function_call_output for call {bounded(call.call_id)!r}",
                    )
                    answered = answered or sent
        for call in batch.calls:
            self._calls.pop(call.call_id, None)
        del self._batches[response_id]
        if answered:
            self.request_response(batch.seq)
        else:
            self.flush_response_request()

    # ------------------------------------------------------------------ response.create

    def request_response(self, since: int) -> None:
        """Ask for the automatic ``response.create`` once responses from ``since`` on are done."""
        if self.auto_response:
            self._want_since = since if self._want_since is None else min(since, self._want_since)
        self.flush_response_request()

    def flush_response_request(self) -> None:
        since = self._want_since
        if since is None or self.unfinished:
            return  # one response.create covers every batch still being answered
        if self._conversation.in_flight_since(since):
            return
        self._want_since = None
        self._out.send.append(ResponseCreateEvent())
