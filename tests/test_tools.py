"""oairt_core.tools: typed tools, schemas, argument decoding, outputs, registry."""

from __future__ import annotations

import dataclasses
import datetime
import doctest
import enum
import json
from typing import Annotated, Any, Literal, TypedDict

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oairt_core import tools as tools_module
from oairt_core.errors import ToolError
from oairt_core.models import FunctionTool
from oairt_core.tools import (
    ToolRegistry,
    TypedTool,
    error_output,
    exception_output,
    serialize_output,
    tool,
    tool_parameters_schema,
)

# ---------------------------------------------------------------- argument types


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Location(msgspec.Struct):
    """A place."""

    city: str
    country: str | None = None


class WeatherArgs(msgspec.Struct):
    """Arguments for the weather lookup."""

    location: Location
    unit: Unit = Unit.CELSIUS
    days: Annotated[int, msgspec.Meta(ge=1, le=7, description="forecast length in days")] = 1
    detail: Literal["short", "long"] = "short"
    stops: list[Location] = []


@dataclasses.dataclass
class Line:
    sku: str
    qty: int = 1


@dataclasses.dataclass
class OrderArgs:
    lines: list[Line]
    note: str | None = None
    priority: Literal["low", "high"] = "low"


class Address(TypedDict):
    street: str
    zip: Annotated[str, msgspec.Meta(pattern=r"^\d{5}$", description="5-digit ZIP")]


class ShipArgs(TypedDict, total=False):
    address: Address
    express: bool


class TreeNode(msgspec.Struct):
    value: int
    children: list[TreeNode] = []


class SumArgs(msgspec.Struct):
    a: int
    b: int


# ---------------------------------------------------------------- schema checks


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/$defs/"), ref
    found: dict[str, Any] = schema["$defs"][ref[len("#/$defs/") :]]
    return found


def assert_valid_parameters(schema: dict[str, Any]) -> None:
    """Structural checks of what the Realtime API needs in ``parameters``."""
    assert schema["type"] == "object"
    assert isinstance(schema["properties"], dict)
    assert "title" not in schema
    if "required" in schema:
        assert set(schema["required"]) <= set(schema["properties"])
    json.dumps(schema)  # plain JSON data

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                _resolve(schema, node["$ref"])  # every reference resolves in the document
            if node.get("type") == "object" and "required" in node:
                assert set(node["required"]) <= set(node.get("properties", {}))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    try:
        import jsonschema  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)


def test_struct_schema_is_inlined_with_descriptions_enums_and_literals() -> None:
    schema = tool_parameters_schema(WeatherArgs)
    assert_valid_parameters(schema)
    assert "$defs" not in schema and "$ref" not in json.dumps(schema)
    props = schema["properties"]
    assert schema["required"] == ["location"]
    assert props["location"]["type"] == "object"
    assert props["location"]["properties"]["country"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "default": None,
    }
    assert props["location"]["description"] == "A place."
    assert sorted(props["unit"]["enum"]) == ["celsius", "fahrenheit"]
    assert props["unit"]["default"] == "celsius"
    assert props["days"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 7,
        "description": "forecast length in days",
        "default": 1,
    }
    assert sorted(props["detail"]["enum"]) == ["long", "short"]
    assert props["stops"]["items"]["type"] == "object"


def test_dataclass_schema() -> None:
    schema = tool_parameters_schema(OrderArgs)
    assert_valid_parameters(schema)
    assert schema["required"] == ["lines"]
    line = schema["properties"]["lines"]["items"]
    assert line["properties"]["qty"] == {"type": "integer", "default": 1}
    assert line["required"] == ["sku"]
    assert sorted(schema["properties"]["priority"]["enum"]) == ["high", "low"]


def test_typeddict_schema_total_false_and_nested() -> None:
    schema = tool_parameters_schema(ShipArgs)
    assert_valid_parameters(schema)
    assert "required" not in schema or schema["required"] == []
    addr = schema["properties"]["address"]
    assert addr["required"] == ["street", "zip"]
    assert addr["properties"]["zip"]["description"] == "5-digit ZIP"
    assert schema["properties"]["express"] == {"type": "boolean"}


def test_recursive_type_keeps_top_level_defs() -> None:
    schema = tool_parameters_schema(TreeNode)
    assert_valid_parameters(schema)
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/TreeNode"}
    assert schema["$defs"]["TreeNode"]["properties"]["value"] == {"type": "integer"}

    class Forest(msgspec.Struct):
        trees: list[TreeNode]

    forest = tool_parameters_schema(Forest)
    assert_valid_parameters(forest)
    assert list(forest["$defs"]) == ["TreeNode"]
    tree = forest["properties"]["trees"]["items"]
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/TreeNode"}


@pytest.mark.parametrize(
    ("arg_type", "instance", "invalid"),
    [
        (WeatherArgs, WeatherArgs(Location("Oslo", "NO"), stops=[Location("Bergen")]), {"x": 1}),
        (OrderArgs, OrderArgs([Line("a", 2)], note="n"), {"lines": [{"qty": 1}]}),
        (ShipArgs, {"address": {"street": "x", "zip": "12345"}}, {"express": "yes"}),
        (TreeNode, TreeNode(1, [TreeNode(2, [TreeNode(3)])]), {"value": 1, "children": [{}]}),
    ],
)
def test_schema_validates_like_the_decoder(arg_type, instance, invalid) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = tool_parameters_schema(arg_type)
    jsonschema.validate(json.loads(msgspec.json.encode(instance)), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(invalid, schema)
    with pytest.raises(msgspec.ValidationError):  # the decoder agrees it is invalid
        msgspec.json.decode(json.dumps(invalid), type=arg_type)


@dataclasses.dataclass
class Weird:
    handle: complex


def test_unsupported_field_type_is_a_tool_error() -> None:
    with pytest.raises(ToolError, match="cannot build a JSON schema for Weird"):

        @tool
        def f(args: Weird) -> None:
            pass


def test_no_argument_schema() -> None:
    schema = tool_parameters_schema(None)
    assert schema == {"type": "object", "properties": {}}
    assert_valid_parameters(schema)


def test_array_like_struct_is_refused() -> None:
    class Pair(msgspec.Struct, array_like=True):
        a: int
        b: int

    with pytest.raises(ToolError, match="JSON object"):
        tool_parameters_schema(Pair)


# ---------------------------------------------------------------- building tools


def test_decorator_forms_and_descriptions() -> None:
    @tool
    def weather(args: WeatherArgs) -> str:
        """Get the weather.

        Longer text that is not part of the description.
        """
        return args.location.city

    assert isinstance(weather, TypedTool)
    assert weather.name == "weather"
    assert weather.description == "Get the weather."
    assert weather.arg_type is WeatherArgs
    assert not weather.is_async
    assert weather(WeatherArgs(Location("Oslo"))) == "Oslo"  # still callable

    @tool(name="lookup_weather", description="Custom.")
    async def weather2(args: WeatherArgs) -> str:
        return args.location.city

    assert weather2.name == "lookup_weather" and weather2.description == "Custom."
    assert weather2.is_async

    def order(args: OrderArgs) -> int:
        return len(args.lines)

    t = TypedTool.from_function(order)
    # No function docstring, and the dataclass' generated __doc__ is not used.
    assert t.description == ""

    def weather3(args: WeatherArgs) -> None:
        pass

    assert TypedTool.from_function(weather3).description == "Arguments for the weather lookup."
    assert "weather" in repr(weather) and "async" in repr(weather2)


def test_multiline_first_paragraph_is_joined() -> None:
    @tool
    def f(args: SumArgs) -> int:
        """Add two
        numbers together.

        Details."""
        return 0

    assert f.description == "Add two numbers together."


def test_unresolvable_annotation_is_a_tool_error() -> None:
    def f(args: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.raises(ToolError, match="cannot resolve type hints"):
        tool(f)


def test_zero_argument_tool() -> None:
    @tool
    def now() -> str:
        """The time."""
        return "noon"

    assert now.arg_type is None
    assert now.parameters == {"type": "object", "properties": {}}
    assert now.decode_arguments("{}") is None
    assert now.decode_arguments("") is None
    assert now.prepare_call('{"ignored": 1}') == ()
    with pytest.raises(ToolError, match="JSON object"):
        now.decode_arguments("[1]")
    assert now.call_sync("") == "noon"


def test_method_and_defaulted_extra_parameters() -> None:
    class Service:
        def __init__(self) -> None:
            self.calls = 0

        def add(self, args: SumArgs, scale: int = 1) -> int:
            """Add."""
            self.calls += 1
            return (args.a + args.b) * scale

    svc = Service()
    t = tool(svc.add)
    assert t.arg_type is SumArgs and t.name == "add"
    assert t.call_sync('{"a": 1, "b": 2}') == "3"
    assert svc.calls == 1


def test_callable_object_with_async_call() -> None:
    class Adder:
        async def __call__(self, args: SumArgs) -> int:
            return args.a + args.b

    t = TypedTool.from_function(Adder(), name="adder")
    assert t.is_async and t.arg_type is SumArgs


@pytest.mark.parametrize(
    "bad",
    [
        lambda a, b: None,
        lambda a: None,  # no annotation
    ],
)
def test_bad_signatures_are_refused(bad) -> None:
    with pytest.raises(ToolError):
        TypedTool.from_function(bad, name="bad")


def test_unsupported_annotations_are_refused() -> None:
    def f(x: int) -> None:
        pass

    def g(x: dict[str, int]) -> None:
        pass

    def h(*, x: SumArgs) -> None:
        pass

    for fn in (f, g, h):
        with pytest.raises(ToolError, match="tool 'f'|tool 'g'|tool 'h'"):
            tool(fn)


def test_invalid_names_are_refused() -> None:
    def f(args: SumArgs) -> int:
        return 0

    for name in ["", "has space", "x" * 65, "dots.not.ok"]:
        with pytest.raises(ToolError, match="invalid tool name"):
            tool(f, name=name)
    with pytest.raises(ToolError, match="invalid tool name"):
        tool(lambda: None)  # "<lambda>"
    with pytest.raises(ToolError):
        TypedTool.from_function(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- decoding arguments


@tool
def add(args: SumArgs) -> int:
    """Add two integers."""
    return args.a + args.b


def test_decode_valid_arguments() -> None:
    assert add.decode_arguments('{"a": 1, "b": 2}') == SumArgs(1, 2)
    assert add.decode_arguments(b'{"b": 2, "a": 1, "extra": true}') == SumArgs(1, 2)
    assert add.prepare_call('{"a": 1, "b": 2}') == (SumArgs(1, 2),)

    @tool
    def ship(args: ShipArgs) -> str:
        return "ok"

    assert ship.decode_arguments('{"address": {"street": "Main", "zip": "12345"}}') == {
        "address": {"street": "Main", "zip": "12345"}
    }

    @tool
    def order(args: OrderArgs) -> str:
        return "ok"

    assert order.decode_arguments('{"lines": [{"sku": "x"}]}') == OrderArgs([Line("x")])


def test_decode_invalid_arguments_gives_model_facing_message() -> None:
    with pytest.raises(ToolError) as info:
        add.decode_arguments('{"a": "x", "b": 2}')
    assert str(info.value) == (
        "invalid arguments for tool 'add': Expected `int`, got `str` - at `$.a`"
    )
    with pytest.raises(ToolError, match="missing required field `b`"):
        add.decode_arguments('{"a": 1}')
    with pytest.raises(ToolError, match="malformed JSON"):
        add.decode_arguments('{"a": 1,')
    with pytest.raises(ToolError, match="missing required field"):
        add.decode_arguments("")
    with pytest.raises(ToolError, match="expected a JSON string"):
        add.decode_arguments(None)  # type: ignore[arg-type]

    @tool
    def weather(args: WeatherArgs) -> str:
        return ""

    with pytest.raises(ToolError, match=r"\$\.days"):
        weather.decode_arguments('{"location": {"city": "Oslo"}, "days": 9}')
    with pytest.raises(ToolError, match="Invalid enum value 'kelvin'"):
        weather.decode_arguments('{"location": {"city": "Oslo"}, "unit": "kelvin"}')

    @tool
    def ship(args: ShipArgs) -> str:
        return ""

    with pytest.raises(ToolError, match=r"\$\.address\.zip"):
        ship.decode_arguments('{"address": {"street": "Main", "zip": "1"}}')


@settings(max_examples=60, deadline=None)
@given(a=st.integers(-(2**63), 2**63 - 1), b=st.integers(-(2**63), 2**63 - 1))
def test_decode_roundtrips_encoded_arguments(a: int, b: int) -> None:
    assert add.decode_arguments(msgspec.json.encode(SumArgs(a, b))) == SumArgs(a, b)


@settings(max_examples=100, deadline=None)
@given(garbage=st.text(max_size=40) | st.binary(max_size=40))
def test_decode_never_raises_anything_but_tool_error(garbage: str | bytes) -> None:
    try:
        add.decode_arguments(garbage)
    except ToolError as exc:
        assert str(exc).startswith("invalid arguments for tool 'add': ")


class Anything(msgspec.Struct):
    payload: Any


@pytest.mark.parametrize(
    "garbage",
    [
        b'{"payload":"\x80"}',  # invalid UTF-8 inside a string: UnicodeDecodeError in msgspec
        '{"payload":' + "[" * 100_000 + "]" * 100_000 + "}",  # RecursionError in msgspec
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["bad-utf8", "deep-field", "deep-root"],
)
def test_hostile_arguments_are_tool_errors_for_every_kind_of_tool(garbage: str | bytes) -> None:
    @tool
    def takes_anything(args: Anything) -> str:
        """Echo."""
        return "ok"

    @tool
    def takes_nothing() -> str:
        """Nothing."""
        return "ok"

    for t in (takes_anything, takes_nothing):
        with pytest.raises(ToolError, match="invalid arguments for tool"):
            t.decode_arguments(garbage)


# ---------------------------------------------------------------- outputs


def test_serialize_output() -> None:
    assert serialize_output("plain text") == "plain text"
    assert serialize_output(None) == "null"
    assert serialize_output(3) == "3"
    assert serialize_output(2.5) == "2.5"
    assert serialize_output(True) == "true"
    assert serialize_output([1, "a"]) == '[1,"a"]'
    assert serialize_output({"temp": 21}) == '{"temp":21}'
    assert serialize_output(SumArgs(1, 2)) == '{"a":1,"b":2}'
    assert serialize_output(Line("x")) == '{"sku":"x","qty":1}'
    assert serialize_output(Unit.CELSIUS) == '"celsius"'
    assert serialize_output(datetime.date(2026, 1, 2)) == '"2026-01-02"'
    assert serialize_output(np.int16(7)) == "7"
    assert serialize_output({"v": np.arange(3)}) == '{"v":[0,1,2]}'
    with pytest.raises(ToolError, match="not JSON-serialisable"):
        serialize_output(object())
    with pytest.raises(ToolError, match="bytes"):
        serialize_output(b"raw")


def test_error_outputs() -> None:
    out = error_output("something broke")
    assert json.loads(out) == {"error": "something broke"}
    assert json.loads(error_output('quote " and \\ backslash'))["error"] == (
        'quote " and \\ backslash'
    )
    leaked = error_output("auth failed for sk-proj-abcdefghijklmnopqrstuvwxyz0123456789")
    assert "abcdefghijklmnop" not in leaked
    exc_out = json.loads(exception_output(KeyError("city"), "weather"))
    assert exc_out == {"error": "tool 'weather' failed: KeyError: 'city'"}
    assert json.loads(exception_output(RuntimeError()))["error"] == "tool failed: RuntimeError"
    assert json.loads(exception_output(ToolError("invalid arguments for tool 'x': bad"))) == {
        "error": "invalid arguments for tool 'x': bad"
    }


def test_exception_output_has_no_traceback() -> None:
    def boom(args: SumArgs) -> int:
        raise ValueError("division by zero-ish")

    out = tool(boom).call_sync('{"a": 1, "b": 0}')
    assert json.loads(out) == {"error": "tool 'boom' failed: ValueError: division by zero-ish"}
    assert "Traceback" not in out and "line " not in out


# ---------------------------------------------------------------- function tool model


def test_to_function_tool() -> None:
    ft = add.to_function_tool()
    assert isinstance(ft, FunctionTool)
    assert ft.name == "add" and ft.description == "Add two integers."
    assert ft.parameters == add.parameters
    wire = json.loads(msgspec.json.encode(ft))
    assert wire["type"] == "function"
    assert wire["parameters"]["properties"] == {"a": {"type": "integer"}, "b": {"type": "integer"}}

    def nodoc(args: Line) -> None:
        pass

    assert "description" not in json.loads(msgspec.json.encode(tool(nodoc).to_function_tool()))


# ---------------------------------------------------------------- registry


def test_registry_register_lookup_and_list() -> None:
    reg = ToolRegistry([add])

    @reg.register
    async def weather(args: WeatherArgs) -> str:
        """Weather."""
        return "sunny"

    def order(args: OrderArgs) -> int:
        return len(args.lines)

    t = reg.register(order, name="place_order", description="Place an order.")
    assert t.name == "place_order"
    assert reg.names == ["add", "weather", "place_order"]
    assert len(reg) == 3 and "weather" in reg and "nope" not in reg
    assert [x.name for x in reg] == reg.names
    assert reg.get("weather") is weather and reg.get("nope") is None
    assert reg.lookup("add") is add
    assert [f.name for f in reg.function_tools()] == ["add", "weather", "place_order"]
    assert all(isinstance(f, FunctionTool) for f in reg.function_tools())
    with pytest.raises(ToolError, match="already registered"):
        reg.register(add)
    renamed = reg.register(add, name="add2")
    assert renamed.name == "add2" and add.name == "add"
    assert reg.unregister("add2") is renamed
    with pytest.raises(ToolError, match="unknown tool 'add2'"):
        reg.unregister("add2")


def test_registry_unknown_tool() -> None:
    reg = ToolRegistry([add])
    with pytest.raises(ToolError) as info:
        reg.lookup("subtract")
    assert str(info.value) == "unknown tool 'subtract'; available tools: add"
    assert json.loads(reg.unknown_tool_output("subtract")) == {
        "error": "unknown tool 'subtract'; available tools: add"
    }
    assert json.loads(ToolRegistry().call_sync("x", "{}")) == {
        "error": "unknown tool 'x'; available tools: none"
    }


def test_registry_prepare_call_and_call_sync() -> None:
    reg = ToolRegistry([add])

    @reg.register
    async def slow(args: SumArgs) -> int:
        return 0

    found, args = reg.prepare_call("add", '{"a": 1, "b": 2}')
    assert found is add and found.fn(*args) == 3
    with pytest.raises(ToolError, match="Expected `int`"):
        reg.prepare_call("add", '{"a": [], "b": 2}')
    with pytest.raises(ToolError, match="unknown tool"):
        reg.prepare_call("nope", "{}")
    assert reg.call_sync("add", '{"a": 20, "b": 22}') == "42"
    assert json.loads(reg.call_sync("add", '{"a": 1}'))["error"].startswith(
        "invalid arguments for tool 'add': "
    )
    with pytest.raises(ToolError, match="async"):
        reg.call_sync("slow", '{"a": 1, "b": 2}')


def test_unserialisable_result_becomes_error_output() -> None:
    @tool
    def weird() -> object:
        return object()

    out = json.loads(weird.call_sync("{}"))
    assert out["error"].startswith("tool 'weird' failed: tool output is not JSON-serialisable")
    assert weird.result_output({"ok": 1}) == '{"ok":1}'


def test_public_names() -> None:
    for name in tools_module.__all__:
        assert hasattr(tools_module, name), name


def test_doctests() -> None:
    result = doctest.testmod(tools_module)
    assert result.attempted > 10 and result.failed == 0
