"""Typed tools: turn a plain function into a Realtime ``function`` tool (sans-IO).

A function (sync or async) whose single argument is a msgspec ``Struct``, a dataclass or a
``TypedDict`` (or that takes no argument) becomes a :class:`TypedTool`: its JSON schema comes
from the argument type (``msgspec.json.schema``), its description from the docstring. When
the model calls it, :meth:`TypedTool.decode_arguments` validates the JSON arguments into the
type; failures become a model-facing :class:`~oairt_core.errors.ToolError` message that
:func:`error_output` turns into the ``function_call_output`` the model receives.

This module never *runs* async functions: the adapters do that in the session's task group.
It provides everything around the call (lookup, decoding, serialising the result, error
outputs) and a blocking :meth:`ToolRegistry.call_sync` for sync tools.

>>> import msgspec
>>> class SumArgs(msgspec.Struct):
...     a: int
...     b: int
>>> @tool
... def add(args: SumArgs) -> int:
...     '''Add two integers.'''
...     return args.a + args.b
>>> add.name, add.description, add.parameters["required"]
('add', 'Add two integers.', ['a', 'b'])
>>> add(SumArgs(1, 2))                      # still a plain function
3
>>> registry = ToolRegistry([add])
>>> registry.call_sync("add", '{"a": 2, "b": 40}')
'42'
>>> registry.call_sync("add", '{"a": "x", "b": 1}')
'{"error":"invalid arguments for tool \\'add\\': Expected `int`, got `str` - at `$.a`"}'
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import re
import typing
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, ParamSpec, TypeVar, overload

import msgspec

from ._redact import redact_text
from .errors import ToolError
from .models import FunctionTool

P = ParamSpec("P")

R = TypeVar("R")

__all__ = [
    "ToolRegistry",
    "TypedTool",
    "error_output",
    "exception_output",
    "serialize_output",
    "tool",
    "tool_parameters_schema",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMPTY_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


# --------------------------------------------------------------------------------------------
# Schema generation
# --------------------------------------------------------------------------------------------


def _is_typeddict(tp: object) -> bool:
    if typing.is_typeddict(tp):
        return True
    try:  # TypedDicts made with typing_extensions on old Pythons
        import typing_extensions

        return bool(typing_extensions.is_typeddict(tp))
    except ImportError:  # pragma: no cover - typing_extensions is normally present
        return False


def _is_supported_arg_type(tp: object) -> bool:
    return (
        (isinstance(tp, type) and issubclass(tp, msgspec.Struct))
        or (isinstance(tp, type) and dataclasses.is_dataclass(tp))
        or _is_typeddict(tp)
    )


def tool_parameters_schema(arg_type: type[Any] | None) -> dict[str, Any]:
    """A self-contained JSON schema object for a tool argument type.

    ``msgspec.json.schema`` puts every type in ``$defs`` behind a root ``$ref``; this inlines
    the references (and drops the class-name ``title`` keys) so the result is a plain
    ``{"type": "object", "properties": ..., "required": [...]}``. Recursive types cannot be
    inlined: their definitions stay in a top-level ``$defs`` the ``$ref`` s point into.
    ``None`` (a tool without arguments) gives an empty object schema.

    >>> import msgspec
    >>> class Point(msgspec.Struct):
    ...     x: float
    ...     y: float = 0.0
    >>> tool_parameters_schema(Point)
    {'type': 'object', 'properties': {'x': {'type': 'number'}, 'y': {'type': 'number', 'default': 0.0}}, 'required': ['x']}
    """  # noqa: E501
    if arg_type is None:
        return copy.deepcopy(_EMPTY_OBJECT_SCHEMA)
    try:
        raw = msgspec.json.schema(arg_type)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"cannot build a JSON schema for {_type_name(arg_type)}: {exc}") from exc
    defs: dict[str, Any] = raw.pop("$defs", {})
    root, root_name = _resolve_root(raw, defs)
    recursive: set[str] = set()
    inlined = _inline(root, defs, stack=root_name, recursive=recursive)
    if not isinstance(inlined, dict):  # pragma: no cover - msgspec always returns objects
        raise ToolError(f"the schema of {_type_name(arg_type)} is not an object")
    inlined.pop("title", None)
    # The tool description carries the docstring; no need to repeat it in the parameters.
    inlined.pop("description", None)
    if inlined.get("type") != "object":
        raise ToolError(
            f"the arguments of a tool must be a JSON object, but {_type_name(arg_type)} "
            f"maps to {inlined.get('type', 'a non-object schema')!r} (array_like Struct?)"
        )
    inlined.setdefault("properties", {})
    if recursive:
        inlined["$defs"] = {
            name: _inline(_strip_title(defs[name]), defs, stack=(name,), recursive=set())
            for name in sorted(_reachable_defs(inlined, defs))
        }
    return inlined


def _resolve_root(
    raw: dict[str, Any], defs: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The root definition and, if it came from ``$defs``, its name (a cycle may return to it)."""
    ref = raw.get("$ref")
    if isinstance(ref, str):
        name = _ref_name(ref)
        rest = {k: v for k, v in raw.items() if k != "$ref"}
        return {**copy.deepcopy(defs[name]), **rest}, (name,)
    return raw, ()


def _ref_name(ref: str) -> str:
    prefix = "#/$defs/"
    if not ref.startswith(prefix):  # pragma: no cover - msgspec only emits local refs
        raise ToolError(f"unsupported $ref {ref!r} in generated schema")
    return ref[len(prefix) :]


def _strip_title(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "title"}


def _inline(node: Any, defs: dict[str, Any], *, stack: tuple[str, ...], recursive: set[str]) -> Any:
    """Replace ``$ref`` by the referenced definition, except on a cycle."""
    if isinstance(node, list):
        return [_inline(item, defs, stack=stack, recursive=recursive) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = _ref_name(ref)
        if name in stack:
            recursive.add(name)
            return dict(node)  # keep the $ref; the definition goes to top-level $defs
        target = _strip_title(defs[name])
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _inline(merged, defs, stack=(*stack, name), recursive=recursive)
    return {
        key: (
            {k: _inline(v, defs, stack=stack, recursive=recursive) for k, v in value.items()}
            if key in ("properties", "$defs") and isinstance(value, dict)
            else _inline(value, defs, stack=stack, recursive=recursive)
        )
        for key, value in node.items()
    }


def _reachable_defs(node: Any, defs: dict[str, Any]) -> set[str]:
    """Names of the definitions a schema (transitively) still refers to."""
    found: set[str] = set()
    todo = [node]
    while todo:
        cur = todo.pop()
        if isinstance(cur, list):
            todo.extend(cur)
        elif isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str):
                name = _ref_name(ref)
                if name not in found:
                    found.add(name)
                    todo.append(defs[name])
            todo.extend(v for k, v in cur.items() if k != "$defs")
    return found


def _type_name(tp: object) -> str:
    return getattr(tp, "__qualname__", None) or getattr(tp, "__name__", None) or repr(tp)


# --------------------------------------------------------------------------------------------
# Descriptions
# --------------------------------------------------------------------------------------------


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    text = inspect.cleandoc(doc).strip()
    para = re.split(r"\n\s*\n", text, maxsplit=1)[0]
    return " ".join(line.strip() for line in para.splitlines()).strip()


def _type_doc(tp: type[Any] | None) -> str:
    if tp is None:
        return ""
    doc = tp.__dict__.get("__doc__") if isinstance(tp, type) else None
    if not isinstance(doc, str):
        return ""
    # dataclasses invent "Name(field: type, ...)" when there is no docstring: not a description.
    if dataclasses.is_dataclass(tp) and doc.startswith(f"{tp.__name__}("):
        return ""
    return _first_paragraph(doc)


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def _enc_hook(obj: Any) -> Any:
    # numpy values are common tool results; encode them without importing numpy here.
    tolist = getattr(obj, "tolist", None)
    if callable(tolist) and type(obj).__module__ == "numpy":
        return tolist()
    raise NotImplementedError(f"objects of type {type(obj).__name__} are not JSON-serialisable")


def serialize_output(result: Any) -> str:
    """A tool's return value -> the ``output`` string of ``function_call_output``.

    * ``str`` passes through unchanged (the function decides the format);
    * ``None`` becomes ``"null"`` (valid JSON: "done, nothing to report");
    * msgspec Structs, dataclasses, TypedDicts/dicts, lists, numbers, bools, enums,
      datetimes, UUIDs and numpy scalars/arrays become compact JSON;
    * anything else raises :class:`ToolError` (send :func:`error_output` instead).

    >>> serialize_output("sunny"), serialize_output(None), serialize_output({"t": 21.5})
    ('sunny', 'null', '{"t":21.5}')
    """
    if isinstance(result, str):
        return result
    if isinstance(result, (bytes, bytearray, memoryview)):
        # msgspec would base64 these silently; a model cannot use that, so say so.
        raise ToolError("a tool returned bytes; return text or a JSON-serialisable value")
    try:
        return msgspec.json.encode(result, enc_hook=_enc_hook).decode("utf-8")
    except (TypeError, NotImplementedError, OverflowError, msgspec.EncodeError) as exc:
        raise ToolError(f"tool output is not JSON-serialisable: {exc}") from exc


#: The longest error message the model is sent (a tool exception, bad arguments, an
#: unknown tool): what goes back is bounded whatever the model or the tool produced.
MAX_ERROR_CHARS = 400
#: Names and ids echoed inside messages are cut to this many characters.
MAX_ECHO_CHARS = 64


def bounded(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how much was cut.

    >>> bounded("x" * 100, 10)
    'xxxxxxxxxx...(90 more)'
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}...({len(text) - limit} more)"


def error_output(message: str) -> str:
    """The JSON ``{"error": message}`` the model receives when a call fails.

    Credentials that slipped into the message are redacted, and the message is
    cut to :data:`MAX_ERROR_CHARS`.

    >>> error_output("unknown tool 'nope'")
    '{"error":"unknown tool \\'nope\\'"}'
    """
    text = bounded(redact_text(message), MAX_ERROR_CHARS)
    return msgspec.json.encode({"error": text}).decode("utf-8")


def exception_output(exc: BaseException, tool_name: str | None = None) -> str:
    """:func:`error_output` for an exception a tool raised: type and message, no traceback.

    A :class:`ToolError` (bad arguments, unknown tool) is passed on as its message alone.

    >>> exception_output(ValueError("city not found"), "weather")
    '{"error":"tool \\'weather\\' failed: ValueError: city not found"}'
    """
    if isinstance(exc, ToolError):
        return error_output(str(exc))
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    prefix = f"tool {tool_name!r} failed: " if tool_name else "tool failed: "
    return error_output(prefix + detail)


# --------------------------------------------------------------------------------------------
# TypedTool
# --------------------------------------------------------------------------------------------


# What msgspec raises for bad JSON text besides DecodeError: invalid UTF-8 inside a string
# (UnicodeDecodeError) and nesting deeper than the interpreter's stack (RecursionError).
# Arguments come from the model, so each must become a ToolError, never crash the session.
_BAD_JSON = (msgspec.DecodeError, UnicodeError, RecursionError)


def _json_problem(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, UnicodeError):
        return "invalid UTF-8"
    return str(exc)


def _is_async_callable(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    return call is not None and inspect.iscoroutinefunction(call)


def _arg_type_of(fn: Callable[..., Any], name: str) -> type[Any] | None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolError(f"tool {name!r}: cannot read the function signature: {exc}") from exc
    params = [
        p
        for p in sig.parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.default is p.empty
    ]
    if not params:
        return None
    if len(params) > 1 or params[0].kind is params[0].KEYWORD_ONLY:
        raise ToolError(
            f"tool {name!r} must take at most one positional argument (a msgspec Struct, "
            f"dataclass or TypedDict), got {', '.join(p.name for p in params)}"
        )
    param = params[0]
    try:
        target = fn if inspect.isfunction(fn) or inspect.ismethod(fn) else type(fn).__call__
        hints = typing.get_type_hints(target)
    except Exception as exc:  # NameError etc. from unresolvable annotations
        raise ToolError(f"tool {name!r}: cannot resolve type hints: {exc}") from exc
    tp = hints.get(param.name)
    if tp is None:
        raise ToolError(
            f"tool {name!r}: argument {param.name!r} needs a type annotation "
            "(a msgspec Struct, dataclass or TypedDict)"
        )
    if not _is_supported_arg_type(tp):
        raise ToolError(
            f"tool {name!r}: argument {param.name!r} is annotated {_type_name(tp)}; "
            "expected a msgspec Struct, a dataclass or a TypedDict"
        )
    return typing.cast("type[Any]", tp)


@dataclasses.dataclass(frozen=True, eq=False)
class TypedTool(Generic[P, R]):
    """A function plus everything the Realtime API needs to offer it to the model.

    Build one with :func:`tool` or :meth:`from_function`. Calling the tool calls the function.

    >>> import dataclasses
    >>> @dataclasses.dataclass
    ... class Query:
    ...     '''Look up the weather.'''
    ...     city: str
    >>> async def weather(q: Query) -> dict[str, object]:
    ...     return {"city": q.city, "temp_c": 21}
    >>> t = TypedTool.from_function(weather)
    >>> t.description, t.is_async, t.decode_arguments('{"city": "Oslo"}')
    ('Look up the weather.', True, Query(city='Oslo'))
    >>> t.to_function_tool().name
    'weather'
    """

    name: str
    description: str
    parameters: dict[str, Any]
    arg_type: type[Any] | None
    fn: Callable[P, R]
    is_async: bool

    @classmethod
    def from_function(
        cls,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> TypedTool[P, R]:
        """Inspect ``fn`` and build the tool; raises :class:`ToolError` if it cannot be one."""
        if not callable(fn):
            raise ToolError(f"a tool must be a function, got {type(fn).__name__}")
        tool_name = name if name is not None else getattr(fn, "__name__", None)
        if not isinstance(tool_name, str) or not _NAME_RE.fullmatch(tool_name):
            raise ToolError(
                f"invalid tool name {tool_name!r}: use 1-64 letters, digits, '_' or '-'"
            )
        arg_type = _arg_type_of(fn, tool_name)
        if description is None:
            description = _first_paragraph(getattr(fn, "__doc__", None)) or _type_doc(arg_type)
        return cls(
            name=tool_name,
            description=description,
            parameters=tool_parameters_schema(arg_type),
            arg_type=arg_type,
            fn=fn,
            is_async=_is_async_callable(fn),
        )

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        kind = "async " if self.is_async else ""
        arg = _type_name(self.arg_type) if self.arg_type is not None else ""
        return f"<TypedTool {kind}{self.name}({arg})>"

    def decode_arguments(self, arguments_json: str | bytes) -> Any:
        """Validate the model's JSON ``arguments`` into the argument type.

        Returns an instance of :attr:`arg_type` (``None`` for a tool without arguments).
        An empty string counts as ``{}``. Raises :class:`ToolError` with a message meant for
        the model, e.g. ``invalid arguments for tool 'add': Expected `int`, got `str` - at
        `$.a```.
        """
        data = arguments_json.strip() if isinstance(arguments_json, (str, bytes)) else None
        if data is None:
            raise ToolError(f"invalid arguments for tool {self.name!r}: expected a JSON string")
        if not data:
            data = "{}"
        prefix = f"invalid arguments for tool {self.name!r}: "
        if self.arg_type is None:
            try:
                value = msgspec.json.decode(data)
            except _BAD_JSON as exc:
                raise ToolError(prefix + f"malformed JSON ({_json_problem(exc)})") from exc
            if not isinstance(value, dict):
                raise ToolError(prefix + f"expected a JSON object, got {type(value).__name__}")
            return None  # extra keys are ignored, like unknown fields of a Struct
        try:
            return msgspec.json.decode(data, type=self.arg_type)
        except msgspec.ValidationError as exc:
            raise ToolError(prefix + str(exc)) from exc
        except _BAD_JSON as exc:
            raise ToolError(prefix + f"malformed JSON ({_json_problem(exc)})") from exc

    def prepare_call(self, arguments_json: str | bytes) -> tuple[Any, ...]:
        """The positional arguments for :attr:`fn`: ``()`` or ``(decoded,)``.

        Adapters do ``await tool.fn(*tool.prepare_call(args))`` for async tools.
        """
        value = self.decode_arguments(arguments_json)
        return () if self.arg_type is None else (value,)

    def result_output(self, result: Any) -> str:
        """Serialise a result for the model; an unserialisable one becomes an error output."""
        try:
            return serialize_output(result)
        except ToolError as exc:
            return error_output(f"tool {self.name!r} failed: {exc}")

    def call_sync(self, arguments_json: str | bytes) -> str:
        """Decode, call and serialise, for a *sync* tool; never raises for a failed call.

        Bad arguments and exceptions from the function come back as :func:`error_output`
        strings. Calling this on an async tool is a programming error (:class:`ToolError`).
        """
        if self.is_async:
            raise ToolError(f"tool {self.name!r} is async; run it in the session's task group")
        try:
            args = self.prepare_call(arguments_json)
        except ToolError as exc:
            return error_output(str(exc))
        try:
            result = self.fn(*args)  # type: ignore[call-arg]
        except Exception as exc:
            return exception_output(exc, self.name)
        return self.result_output(result)

    def to_function_tool(self) -> FunctionTool:
        """The :class:`~oairt_core.models.FunctionTool` for ``session.tools``."""
        if self.description:
            return FunctionTool(
                name=self.name, description=self.description, parameters=self.parameters
            )
        return FunctionTool(name=self.name, parameters=self.parameters)


@overload
def tool(
    fn: Callable[P, R], *, name: str | None = None, description: str | None = None
) -> TypedTool[P, R]: ...


@overload
def tool(
    fn: None = None, *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[P, R]], TypedTool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
) -> TypedTool[P, R] | Callable[[Callable[P, R]], TypedTool[P, R]]:
    """Make a :class:`TypedTool`: ``@tool``, ``@tool(name=..., description=...)`` or ``tool(fn)``.

    >>> from typing import TypedDict
    >>> class Args(TypedDict):
    ...     text: str
    >>> @tool(name="shout", description="Upper-case some text.")
    ... def upper(args: Args) -> str:
    ...     return args["text"].upper()
    >>> upper.name, upper.parameters["properties"]
    ('shout', {'text': {'type': 'string'}})
    """
    if fn is None:

        def decorate(f: Callable[P, R]) -> TypedTool[P, R]:
            return TypedTool.from_function(f, name=name, description=description)

        return decorate
    return TypedTool.from_function(fn, name=name, description=description)


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


class ToolRegistry:
    """Tools by name: session config, lookup, decoding and error outputs (no running).

    >>> import msgspec
    >>> class Empty(msgspec.Struct):
    ...     pass
    >>> reg = ToolRegistry()
    >>> @reg.register
    ... def ping() -> str:
    ...     '''Check the line.'''
    ...     return "pong"
    >>> [t.name for t in reg.function_tools()], reg.call_sync("ping", "{}")
    (['ping'], 'pong')
    >>> reg.call_sync("pong", "{}")
    '{"error":"unknown tool \\'pong\\'; available tools: ping"}'
    """

    def __init__(self, tools: Iterable[TypedTool[Any, Any] | Callable[..., Any]] = ()) -> None:
        self._tools: dict[str, TypedTool[Any, Any]] = {}
        for t in tools:
            self.register(t)

    @overload
    def register(self, fn: TypedTool[P, R]) -> TypedTool[P, R]: ...

    @overload
    def register(
        self, fn: Callable[P, R], *, name: str | None = None, description: str | None = None
    ) -> TypedTool[P, R]: ...

    def register(
        self,
        fn: TypedTool[P, R] | Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> TypedTool[P, R]:
        """Add a tool (or a function, made into one); usable as a decorator.

        Raises :class:`ToolError` if the name is taken.
        """
        if isinstance(fn, TypedTool):
            if name is not None or description is not None:
                fn = dataclasses.replace(
                    fn,
                    name=name if name is not None else fn.name,
                    description=description if description is not None else fn.description,
                )
            typed: TypedTool[P, R] = fn
        else:
            typed = TypedTool.from_function(fn, name=name, description=description)
        if typed.name in self._tools:
            raise ToolError(f"a tool named {typed.name!r} is already registered")
        self._tools[typed.name] = typed
        return typed

    def unregister(self, name: str) -> TypedTool[Any, Any]:
        """Remove and return a tool; :class:`ToolError` if there is none by that name."""
        found = self._tools.pop(name, None)
        if found is None:
            raise ToolError(self.unknown_message(name))
        return found

    def get(self, name: str) -> TypedTool[Any, Any] | None:
        """The tool called ``name``, or ``None``."""
        return self._tools.get(name)

    def lookup(self, name: str) -> TypedTool[Any, Any]:
        """The tool called ``name``; :class:`ToolError` (model-facing message) if unknown."""
        found = self._tools.get(name)
        if found is None:
            raise ToolError(self.unknown_message(name))
        return found

    def unknown_message(self, name: str) -> str:
        """The model-facing message for a call to ``name``, which is not registered.

        The name is echoed cut to :data:`MAX_ECHO_CHARS` (the model may send anything).
        """
        available = ", ".join(sorted(self._tools)) or "none"
        return f"unknown tool {bounded(name)!r}; available tools: {available}"


    def unknown_tool_output(self, name: str) -> str:
        """The error output for a call to a tool that is not registered."""
        return error_output(self.unknown_message(name))

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self) -> Iterator[TypedTool[Any, Any]]:
        return iter(list(self._tools.values()))

    @property
    def names(self) -> list[str]:
        """Registered tool names, in registration order."""
        return list(self._tools)

    def function_tools(self) -> list[FunctionTool]:
        """``FunctionTool`` models for ``session.tools``, in registration order."""
        return [t.to_function_tool() for t in self._tools.values()]

    def prepare_call(
        self, name: str, arguments_json: str | bytes
    ) -> tuple[TypedTool[Any, Any], tuple[Any, ...]]:
        """Look up and decode: ``(tool, positional args)``; :class:`ToolError` on failure.

        The message of the error is meant for the model: pass it to :func:`error_output`.
        """
        found = self.lookup(name)
        return found, found.prepare_call(arguments_json)

    def call_sync(self, name: str, arguments_json: str | bytes) -> str:
        """Run a *sync* tool by name and return the ``function_call_output`` string.

        Unknown tools, bad arguments and exceptions give error outputs, never exceptions;
        an async tool raises :class:`ToolError` (run it in a task group instead).
        """
        found = self._tools.get(name)
        if found is None:
            return self.unknown_tool_output(name)
        return found.call_sync(arguments_json)
