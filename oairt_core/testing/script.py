"""Scripting what the fake "model" answers, and when.

A :class:`Script` holds a queue of :class:`Reply` objects (one per response the server will
create) and a queue of user-audio transcriptions. Each reply is a list of steps: spoken or
written messages, function calls, MCP activity, or a failure. When the queue is empty the
server answers with an echo: ``"You said: <what the user said>"``.

>>> script = Script()
>>> script.say("Hello! How can I help?")
Script(replies=1, transcriptions=0)
>>> script.reply(call_function("get_weather", '{"city": "Paris"}'), delay_ms=200)
Script(replies=2, transcriptions=0)
>>> script.say("It is sunny in Paris.").transcribe("What's the weather in Paris?")
Script(replies=3, transcriptions=1)

Whether a message is spoken (``output_audio`` with transcript) or written (``output_text``)
follows the response's ``output_modalities``, as on the real server; ``say`` and ``text`` only
differ in name.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "DEFAULT_CHUNK_MS",
    "Fail",
    "FunctionCall",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "Reply",
    "Say",
    "Script",
    "Step",
    "Transcription",
    "call_function",
    "fail",
    "mcp_approval_request",
    "mcp_call",
    "mcp_list_tools",
    "say",
    "text",
    "transcription",
]

DEFAULT_CHUNK_MS = 100
MS_PER_CHAR = 55
"""Synthesised speech lasts 55 ms per character (about 18 characters a second), at least 200 ms."""


@dataclass(frozen=True)
class Say:
    """An assistant message. Audio is synthesised deterministically from the text."""

    text: str
    chunk_ms: int = DEFAULT_CHUNK_MS
    """Audio per ``response.output_audio.delta`` (text modality: one delta per word group)."""
    duration_ms: int | None = None
    """Length of the spoken audio; default ``max(200, 55 * len(text))``."""

    def audio_ms(self) -> int:
        if self.duration_ms is not None:
            return self.duration_ms
        return max(200, MS_PER_CHAR * len(self.text))


@dataclass(frozen=True)
class FunctionCall:
    name: str
    arguments: str = "{}"
    call_id: str | None = None
    chunk_chars: int = 16


@dataclass(frozen=True)
class McpListTools:
    server_label: str
    tools: tuple[Mapping[str, Any], ...] = ()
    failed: bool = False


@dataclass(frozen=True)
class McpCall:
    server_label: str
    name: str
    arguments: str = "{}"
    output: str | None = None
    error: Mapping[str, Any] | None = None
    """e.g. ``{"type": "tool_execution_error", "message": "boom"}``: emits ``mcp_call.failed``."""


@dataclass(frozen=True)
class McpApprovalRequest:
    """Ask the client to approve an MCP call. If it answers with an ``mcp_approval_response``
    item that approves, the next response starts with the ``mcp_call`` (``output`` as given)."""

    server_label: str
    name: str
    arguments: str = "{}"
    output: str | None = None


@dataclass(frozen=True)
class Fail:
    """End the response with ``status: "failed"`` and this error in ``status_details``."""

    message: str = "The server had an error while processing your request."
    code: str | None = "server_error"
    type: str = "server_error"


Step = Union[Say, FunctionCall, McpListTools, McpCall, McpApprovalRequest, Fail]  # noqa: UP007


@dataclass(frozen=True)
class Transcription:
    """The transcript of the next committed user audio (or a transcription failure)."""

    text: str | None
    error: Mapping[str, Any] | None = None
    chunk_chars: int = 12


@dataclass(frozen=True)
class Reply:
    """One response: its steps in order, and how long the model "thinks" before output."""

    steps: tuple[Step, ...]
    delay_ms: int = 0
    """Realtime pacing only: time between ``response.created`` and the first output."""

    def __init__(self, *steps: Step, delay_ms: int = 0) -> None:
        object.__setattr__(self, "steps", tuple(steps))
        object.__setattr__(self, "delay_ms", delay_ms)


def say(text: str, *, chunk_ms: int = DEFAULT_CHUNK_MS, duration_ms: int | None = None) -> Say:
    """An assistant message (spoken in audio modality, written in text modality)."""
    return Say(text, chunk_ms=chunk_ms, duration_ms=duration_ms)


def text(text: str, *, chunk_ms: int = DEFAULT_CHUNK_MS) -> Say:
    """Same as :func:`say`; reads better in text-only sessions."""
    return Say(text, chunk_ms=chunk_ms)


def call_function(name: str, arguments: str = "{}", call_id: str | None = None) -> FunctionCall:
    """A ``function_call`` output item; answer it with a ``function_call_output`` item."""
    return FunctionCall(name, arguments, call_id)


def mcp_list_tools(
    server_label: str, tools: Iterable[Mapping[str, Any]] = (), *, failed: bool = False
) -> McpListTools:
    """An ``mcp_list_tools`` item; tools are ``{"name", "input_schema", "description"?}``."""
    return McpListTools(server_label, tuple(tools), failed)


def mcp_call(
    server_label: str,
    name: str,
    arguments: str = "{}",
    *,
    output: str | None = None,
    error: Mapping[str, Any] | None = None,
) -> McpCall:
    return McpCall(server_label, name, arguments, output, error)


def mcp_approval_request(
    server_label: str, name: str, arguments: str = "{}", *, output: str | None = None
) -> McpApprovalRequest:
    return McpApprovalRequest(server_label, name, arguments, output)


def fail(
    message: str = "The server had an error while processing your request.",
    *,
    code: str | None = "server_error",
    type: str = "server_error",
) -> Fail:
    return Fail(message, code, type)


def transcription(
    text: str | None, *, error: Mapping[str, Any] | None = None, chunk_chars: int = 12
) -> Transcription:
    """Scripted transcript for the next committed user audio; ``error`` makes it fail."""
    return Transcription(text, error, chunk_chars)


@dataclass
class Script:
    """What the fake model says. Mutable on purpose: tests add replies while a session runs."""

    replies: deque[Reply] = field(default_factory=deque)
    transcriptions: deque[Transcription] = field(default_factory=deque)
    echo: bool = True
    """With no reply queued, answer ``"You said: ..."`` (otherwise an empty message)."""
    default_transcript: str = "hello"
    """What committed user audio "says" when no transcription is queued."""
    mcp_servers: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    """Tools of MCP servers by ``server_label``: when ``session.update`` adds an ``mcp`` tool
    with that label, the server lists them (``mcp_list_tools.*`` events), as the real one does."""

    rules: list[tuple[str | Callable[[str], bool], Reply]] = field(default_factory=list)
    """Standing rules added with :meth:`when`."""

    def __init__(
        self,
        *replies: Reply | Step,
        echo: bool = True,
        default_transcript: str = "hello",
        mcp_servers: Mapping[str, Iterable[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.replies = deque()
        self.transcriptions = deque()
        self.echo = echo
        self.default_transcript = default_transcript
        self.mcp_servers = {k: list(v) for k, v in (mcp_servers or {}).items()}
        self.rules = []
        for r in replies:
            self.reply(r) if not isinstance(r, Reply) else self.replies.append(r)

    def __repr__(self) -> str:
        return f"Script(replies={len(self.replies)}, transcriptions={len(self.transcriptions)})"

    def reply(self, *steps: Step, delay_ms: int = 0) -> Script:
        """Queue one response made of ``steps``."""
        self.replies.append(Reply(*steps, delay_ms=delay_ms))
        return self

    def say(self, text: str, **kw: Any) -> Script:
        return self.reply(say(text, **kw))

    def text(self, text_: str, **kw: Any) -> Script:
        return self.reply(text(text_, **kw))

    def call_function(self, name: str, arguments: str = "{}", call_id: str | None = None) -> Script:
        return self.reply(call_function(name, arguments, call_id))

    def mcp_list_tools(self, server_label: str, tools: Iterable[Mapping[str, Any]] = ()) -> Script:
        return self.reply(mcp_list_tools(server_label, tools))

    def mcp_call(self, server_label: str, name: str, arguments: str = "{}", **kw: Any) -> Script:
        return self.reply(mcp_call(server_label, name, arguments, **kw))

    def mcp_approval_request(
        self, server_label: str, name: str, arguments: str = "{}", **kw: Any
    ) -> Script:
        return self.reply(mcp_approval_request(server_label, name, arguments, **kw))

    def fail(
        self, message: str = "The server had an error while processing your request.", **kw: Any
    ) -> Script:
        return self.reply(fail(message, **kw))

    def transcribe(self, text: str | None, **kw: Any) -> Script:
        """Queue the transcript of the next committed user audio."""
        self.transcriptions.append(transcription(text, **kw))
        return self

    def when(self, match: str | Callable[[str], bool], *steps: Step, delay_ms: int = 0) -> Script:
        """A standing rule: whenever the user's last words match, answer with ``steps``.

        ``match`` is a case-insensitive substring or a predicate on the user's last text
        (the transcript of committed audio, or the text of the last user message). Rules are
        checked before the queue, in the order they were added, and are never used up.

        >>> s = Script().when("weather", say("Sunny."))
        >>> s.next_reply("What's the weather like?").steps[0].text
        'Sunny.'
        >>> s.next_reply("hello") is None
        True
        """
        self.rules.append((match, Reply(*steps, delay_ms=delay_ms)))
        return self

    def next_reply(self, user_text: str = "") -> Reply | None:
        """The reply for the next response: a matching rule, else the queue's head."""
        for match, reply in self.rules:
            if callable(match) and match(user_text):
                return reply
            if isinstance(match, str) and match.lower() in user_text.lower():
                return reply
        return self.replies.popleft() if self.replies else None

    def next_transcription(self) -> Transcription | None:
        return self.transcriptions.popleft() if self.transcriptions else None
