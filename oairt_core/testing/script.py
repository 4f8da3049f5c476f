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

import json
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ..errors import OairtError

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
    "ScriptError",
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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Script:
        """A script from plain data (parsed JSON or TOML), the same model as the methods.

        Top-level keys: ``replies`` (each a list of steps, or ``{"steps": [...],
        "delay_ms": N}``, or one step), ``transcriptions`` (strings, or ``{"text", "error",
        "chunk_chars"}``), ``rules`` (``{"match": "weather", "steps": [...]}``, as
        :meth:`when`), ``echo``, ``default_transcript`` and ``mcp_servers``. A step is an
        object with one kind key, named like the functions: ``{"say": "Hi"}``,
        ``{"text": ...}``, ``{"call_function": "get_weather", "arguments": {...}}``,
        ``{"mcp_list_tools": label, "tools": [...]}``, ``{"mcp_call": label, "name": ...}``,
        ``{"mcp_approval_request": label, "name": ...}``, ``{"fail": "message"}``; a bare
        string is ``say``. Anything else raises :class:`ScriptError` naming the place.

        >>> s = Script.from_dict({"replies": [[{"say": "Checking."},
        ...     {"call_function": "get_weather", "arguments": {"city": "Paris"}}]],
        ...     "transcriptions": ["What's the weather?"]})
        >>> s
        Script(replies=1, transcriptions=1)
        >>> s.replies[0].steps[1]
        FunctionCall(name='get_weather', arguments='{"city":"Paris"}', call_id=None, chunk_chars=16)
        """
        return _script_from_dict(data)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Script:
        """:meth:`from_dict` of a ``.json`` or ``.toml`` file (``oairt fake-server --script``)."""
        return _script_from_file(path)

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


# --------------------------------------------------------------------------- loading


class ScriptError(OairtError, ValueError):
    """A scripted conversation (:meth:`Script.from_dict` / :meth:`Script.from_file`) is wrong.

    The message names the place, e.g. ``replies[1].steps[0]: unknown step 'speak'``.
    """


_STEP_KINDS: dict[str, tuple[str, frozenset[str]]] = {
    # kind -> (what the kind key's value is, the other keys the step may have)
    "say": ("text", frozenset({"chunk_ms", "duration_ms"})),
    "text": ("text", frozenset({"chunk_ms"})),
    "call_function": ("name", frozenset({"arguments", "call_id"})),
    "mcp_list_tools": ("server_label", frozenset({"tools", "failed"})),
    "mcp_call": ("server_label", frozenset({"name", "arguments", "output", "error"})),
    "mcp_approval_request": ("server_label", frozenset({"name", "arguments", "output"})),
    "fail": ("message", frozenset({"code", "type"})),
}
_SCRIPT_KEYS = frozenset(
    {"replies", "transcriptions", "rules", "echo", "default_transcript", "mcp_servers"}
)


def _check_keys(where: str, obj: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ScriptError(f"{where}: unknown key {unknown[0]!r} (allowed: {sorted(allowed)})")


def _typed(where: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ScriptError(f"{where}: expected {what}, got {type(value).__name__}")
    return value


def _arguments(where: str, value: Any) -> str:
    # A table/object is friendlier to write than a JSON string inside TOML.
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return json.dumps(value, separators=(",", ":"))
    raise ScriptError(f"{where}.arguments: expected a JSON string or an object")


def _step(where: str, obj: Any) -> Step:
    if isinstance(obj, str):
        return Say(obj)
    _typed(where, obj, Mapping, "a step (an object with one of " + ", ".join(_STEP_KINDS) + ")")
    kinds = [k for k in _STEP_KINDS if k in obj]
    if len(kinds) != 1:
        found = f"{kinds}" if kinds else "none"
        raise ScriptError(f"{where}: a step needs exactly one of {list(_STEP_KINDS)} ({found})")
    kind = kinds[0]
    _check_keys(where, obj, _STEP_KINDS[kind][1] | {kind})
    head = obj[kind]
    opt = {k: v for k, v in obj.items() if k != kind}
    for key in ("chunk_ms", "duration_ms"):
        if key in opt:
            _typed(f"{where}.{key}", opt[key], int, "an integer")
    if kind in ("say", "text"):
        _typed(f"{where}.{kind}", head, str, "a string")
        return say(head, **opt) if kind == "say" else text(head, **opt)
    if kind == "call_function":
        _typed(f"{where}.call_function", head, str, "the function's name")
        call_id = opt.get("call_id")
        if call_id is not None:
            _typed(f"{where}.call_id", call_id, str, "a string")
        return call_function(head, _arguments(where, opt.get("arguments", "{}")), call_id)
    if kind == "fail":
        message = head if isinstance(head, str) else Fail.message
        if not isinstance(head, (str, bool)):
            raise ScriptError(f"{where}.fail: expected a message or true")
        return fail(message, **opt)
    _typed(f"{where}.{kind}", head, str, "the MCP server label")
    if kind == "mcp_list_tools":
        tools = _typed(f"{where}.tools", opt.get("tools", []), list, "a list of tools")
        return mcp_list_tools(head, tools, failed=bool(opt.get("failed", False)))
    name = _typed(f"{where}.name", opt.get("name"), str, "the tool's name")
    arguments = _arguments(where, opt.get("arguments", "{}"))
    if kind == "mcp_call":
        return mcp_call(head, name, arguments, output=opt.get("output"), error=opt.get("error"))
    return mcp_approval_request(head, name, arguments, output=opt.get("output"))


def _reply(where: str, obj: Any) -> Reply:
    if isinstance(obj, list):
        return Reply(*(_step(f"{where}[{i}]", s) for i, s in enumerate(obj)))
    if isinstance(obj, Mapping) and "steps" in obj:
        _check_keys(where, obj, frozenset({"steps", "delay_ms"}))
        steps = _typed(f"{where}.steps", obj["steps"], list, "a list of steps")
        delay = _typed(f"{where}.delay_ms", obj.get("delay_ms", 0), int, "an integer")
        return Reply(
            *(_step(f"{where}.steps[{i}]", s) for i, s in enumerate(steps)), delay_ms=delay
        )
    return Reply(_step(where, obj))


def _transcription(where: str, obj: Any) -> Transcription:
    if isinstance(obj, str):
        return transcription(obj)
    _typed(where, obj, Mapping, "a transcript (a string or an object)")
    _check_keys(where, obj, frozenset({"text", "error", "chunk_chars"}))
    text_ = obj.get("text")
    if text_ is not None:
        _typed(f"{where}.text", text_, str, "a string")
    error = obj.get("error")
    if error is not None:
        _typed(f"{where}.error", error, Mapping, "an object")
    chunk = _typed(f"{where}.chunk_chars", obj.get("chunk_chars", 12), int, "an integer")
    return transcription(text_, error=error, chunk_chars=chunk)


def _script_from_dict(data: Any) -> Script:
    _typed("script", data, Mapping, "an object at the top level")
    _check_keys("script", data, _SCRIPT_KEYS)
    servers = _typed("mcp_servers", data.get("mcp_servers", {}), Mapping, "an object")
    script = Script(
        echo=_typed("echo", data.get("echo", True), bool, "true or false"),
        default_transcript=_typed(
            "default_transcript", data.get("default_transcript", "hello"), str, "a string"
        ),
        mcp_servers={
            str(k): _typed(f"mcp_servers.{k}", v, list, "a list of tools")
            for k, v in servers.items()
        },
    )
    for i, r in enumerate(_typed("replies", data.get("replies", []), list, "a list")):
        script.replies.append(_reply(f"replies[{i}]", r))
    for i, t in enumerate(_typed("transcriptions", data.get("transcriptions", []), list, "a list")):
        script.transcriptions.append(_transcription(f"transcriptions[{i}]", t))
    for i, rule in enumerate(_typed("rules", data.get("rules", []), list, "a list")):
        where = f"rules[{i}]"
        _typed(where, rule, Mapping, "an object with 'match' and 'steps'")
        _check_keys(where, rule, frozenset({"match", "steps", "delay_ms"}))
        match = _typed(f"{where}.match", rule.get("match"), str, "a string to look for")
        reply = _reply(where, {"steps": rule.get("steps", []), "delay_ms": rule.get("delay_ms", 0)})
        script.when(match, *reply.steps, delay_ms=reply.delay_ms)
    return script


def _script_from_file(path: str | os.PathLike[str]) -> Script:
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ScriptError(f"{p}: a script is a .json or .toml file")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ScriptError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise ScriptError(f"{p}: is a directory") from None
    try:
        decoded = raw.decode("utf-8")
        if suffix == ".json":
            data = json.loads(decoded)
        else:
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - the `tomli` dependency on 3.10
                import tomli as tomllib
            data = tomllib.loads(decoded)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # tomllib.TOMLDecodeError and json.JSONDecodeError are ValueErrors.
        raise ScriptError(f"{p}: not valid {suffix[1:].upper()}: {exc}") from None
    try:
        return _script_from_dict(data)
    except ScriptError as exc:
        raise ScriptError(f"{p}: {exc}") from None
