"""``ResponseBuilder``: a ``response.create`` built step by step, as in the seed SDK.

>>> ev = ResponseBuilder().out_of_band().metadata(topic="weather").input_text("Hi").build()
>>> ev.response.conversation, ev.response.metadata
('none', {'topic': 'weather'})
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

from ._validation import validate_client_event
from .events import ResponseCreateEvent
from .models import (
    ConversationItem,
    FunctionTool,
    InputTextContent,
    ItemReference,
    McpTool,
    MessageItem,
    ResponseAudioConfig,
    ResponseAudioOutput,
    ResponseCreateParams,
)
from .tools import TypedTool
from .tools import tool as _make_tool

__all__ = ["ResponseBuilder"]


class _CreatesResponses(Protocol):
    async def create_response(
        self, response: ResponseBuilder | ResponseCreateParams | None
    ) -> Any: ...


class ResponseBuilder:
    """A ``response.create`` built step by step (the seed's ``ResponseBuilder``).

    >>> ev = (ResponseBuilder().output_text().instructions("Be concise.")
    ...       .input_text("Summarize this.").build())
    >>> ev.response.output_modalities, ev.response.instructions
    (['text'], 'Be concise.')

    ``await builder.send(session)`` sends it on a connected voice session.
    ``out_of_band()`` makes a response outside the default conversation
    (``conversation: "none"``), told apart by ``metadata``.
    """

    def __init__(self) -> None:
        self._kw: dict[str, Any] = {}
        self._input: list[Any] | None = None

    def output_text(self) -> ResponseBuilder:
        self._kw["output_modalities"] = ["text"]
        return self

    def output_audio(self) -> ResponseBuilder:
        self._kw["output_modalities"] = ["audio"]
        return self

    def instructions(self, text: str) -> ResponseBuilder:
        self._kw["instructions"] = text
        return self

    def input_text(self, text: str, *, role: Literal["user", "system"] = "user") -> ResponseBuilder:
        """Add a message to this response's input (the response then sees only its input)."""
        return self.input_item(MessageItem(role=role, content=[InputTextContent(text=text)]))

    def input_item(self, item: ConversationItem | ItemReference) -> ResponseBuilder:
        if self._input is None:
            self._input = []
        self._input.append(item)
        return self

    def item_reference(self, item_id: str) -> ResponseBuilder:
        """Refer to an existing conversation item by id."""
        return self.input_item(ItemReference(id=item_id))

    def empty_input(self) -> ResponseBuilder:
        """A response with an empty context (``input: []``)."""
        self._input = []
        return self

    def conversation(self, conversation: str) -> ResponseBuilder:
        self._kw["conversation"] = conversation
        return self

    def out_of_band(self) -> ResponseBuilder:
        """Do not write this response into the default conversation."""
        return self.conversation("none")

    def metadata(self, data: dict[str, str] | None = None, **kv: str) -> ResponseBuilder:
        self._kw["metadata"] = {**(data or {}), **kv}
        return self

    def voice(self, voice: str) -> ResponseBuilder:
        self._kw["voice"] = voice
        return self

    def max_output_tokens(self, n: int | Literal["inf"]) -> ResponseBuilder:
        self._kw["max_output_tokens"] = n
        return self

    def tools(self, tools: list[Any]) -> ResponseBuilder:
        """Override the session's tools for this response (typed tools allowed)."""
        out: list[Any] = []
        for t in tools:
            if isinstance(t, TypedTool):
                out.append(t.to_function_tool())
            elif isinstance(t, (FunctionTool, McpTool)):
                out.append(t)
            else:  # a plain function: make it a typed tool for its schema
                out.append(_make_tool(t).to_function_tool())
        self._kw["tools"] = out
        return self

    def tool_choice(self, choice: Any) -> ResponseBuilder:
        self._kw["tool_choice"] = choice
        return self

    def params(self) -> ResponseCreateParams:
        """The ``response`` object."""
        kw = dict(self._kw)
        voice = kw.pop("voice", None)
        if voice is not None:
            kw["audio"] = ResponseAudioConfig(output=ResponseAudioOutput(voice=voice))
        if self._input is not None:
            kw["input"] = list(self._input)
        return ResponseCreateParams(**kw)

    def build(self, *, event_id: str | None = None) -> ResponseCreateEvent:
        """The validated ``response.create`` event."""
        event = ResponseCreateEvent(
            response=self.params(), event_id=msgspec.UNSET if event_id is None else event_id
        )
        validate_client_event(event)
        return event

    async def send(self, session: _CreatesResponses) -> Any:
        """Send on a connected session (anything with ``async create_response``)."""
        return await session.create_response(self)
