"""Scripted conversations from plain data, JSON and TOML (``Script.from_dict`` / ``from_file``,
``oairt fake-server --script``): the same model as the Python ``Script``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from oairt_core.errors import OairtError
from oairt_core.testing import (
    FakeRealtimeService,
    MemoryClient,
    Reply,
    Script,
    ScriptError,
    call_function,
    fail,
    mcp_approval_request,
    mcp_call,
    mcp_list_tools,
    say,
    text,
    transcription,
)

ROOT = Path(__file__).resolve().parent.parent

DATA: dict[str, Any] = {
    "echo": False,
    "default_transcript": "hi there",
    "mcp_servers": {"docs": [{"name": "search", "input_schema": {"type": "object"}}]},
    "transcriptions": ["What's the weather?", {"text": None, "error": {"message": "noise"}}],
    "replies": [
        [{"say": "Let me check."}, {"call_function": "get_weather", "arguments": {"city": "Oslo"}}],
        {"steps": [{"text": "Cold.", "chunk_ms": 50}], "delay_ms": 300},
        {"say": "One step, no list.", "duration_ms": 900},
        "A bare string is say.",
        [
            {"call_function": "lookup", "arguments": '{"q":1}', "call_id": "call_1"},
            {"mcp_list_tools": "docs", "tools": [{"name": "t", "input_schema": {}}]},
            {"mcp_call": "docs", "name": "t", "output": "ok"},
            {"mcp_approval_request": "docs", "name": "t", "arguments": {"a": 1}},
            {"fail": "overloaded", "code": "rate_limit", "type": "server_error"},
            {"fail": True},
        ],
    ],
    "rules": [{"match": "goodbye", "steps": [{"say": "Bye!"}], "delay_ms": 10}],
}


def python_script() -> Script:
    """DATA written with the Python API: what from_dict must build."""
    script = Script(
        echo=False,
        default_transcript="hi there",
        mcp_servers={"docs": [{"name": "search", "input_schema": {"type": "object"}}]},
    )
    script.transcribe("What's the weather?").transcribe(None, error={"message": "noise"})
    script.reply(say("Let me check."), call_function("get_weather", '{"city":"Oslo"}'))
    script.reply(text("Cold.", chunk_ms=50), delay_ms=300)
    script.reply(say("One step, no list.", duration_ms=900))
    script.reply(say("A bare string is say."))
    script.reply(
        call_function("lookup", '{"q":1}', "call_1"),
        mcp_list_tools("docs", [{"name": "t", "input_schema": {}}]),
        mcp_call("docs", "t", output="ok"),
        mcp_approval_request("docs", "t", '{"a":1}'),
        fail("overloaded", code="rate_limit", type="server_error"),
        fail(),
    )
    script.when("goodbye", say("Bye!"), delay_ms=10)
    return script


def same(a: Script, b: Script) -> None:
    assert list(a.replies) == list(b.replies)
    assert list(a.transcriptions) == list(b.transcriptions)
    assert a.rules == b.rules
    assert (a.echo, a.default_transcript, a.mcp_servers) == (
        b.echo,
        b.default_transcript,
        b.mcp_servers,
    )


def test_from_dict_builds_what_the_python_api_builds() -> None:
    same(Script.from_dict(DATA), python_script())


def test_json_and_toml_files_load_the_same_script(tmp_path: Path) -> None:
    as_json = tmp_path / "conversation.json"
    as_json.write_text(json.dumps(DATA))
    as_toml = tmp_path / "conversation.toml"
    as_toml.write_text(
        'default_transcript = "hi there"\n'
        "echo = false\n"
        'transcriptions = ["What\'s the weather?", { error = { message = "noise" } }]\n'
        "[mcp_servers]\n"
        'docs = [{ name = "search", input_schema = { type = "object" } }]\n'
        "[[replies]]\n"
        'steps = [{ say = "Let me check." },'
        ' { call_function = "get_weather", arguments = { city = "Oslo" } }]\n'
        "[[replies]]\n"
        'steps = [{ text = "Cold.", chunk_ms = 50 }]\n'
        "delay_ms = 300\n"
        "[[replies]]\n"
        'say = "One step, no list."\n'
        "duration_ms = 900\n"
        "[[replies]]\n"
        'steps = ["A bare string is say."]\n'
        "[[replies]]\n"
        "steps = [\n"
        '  { call_function = "lookup", arguments = \'{"q":1}\', call_id = "call_1" },\n'
        '  { mcp_list_tools = "docs", tools = [{ name = "t", input_schema = {} }] },\n'
        '  { mcp_call = "docs", name = "t", output = "ok" },\n'
        '  { mcp_approval_request = "docs", name = "t", arguments = { a = 1 } },\n'
        '  { fail = "overloaded", code = "rate_limit", type = "server_error" },\n'
        "  { fail = true },\n"
        "]\n"
        "[[rules]]\n"
        'match = "goodbye"\n'
        'steps = [{ say = "Bye!" }]\n'
        "delay_ms = 10\n"
    )
    same(Script.from_file(as_json), python_script())
    same(Script.from_file(as_toml), python_script())


def test_the_examples_in_docs_cli_load_and_agree(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    blocks = dict(
        (m.group(1), m.group(2))
        for m in re.finditer(r"^```(toml|json)\n(.*?)^```", page, re.MULTILINE | re.DOTALL)
    )
    (tmp_path / "c.toml").write_text(blocks["toml"])
    (tmp_path / "c.json").write_text(blocks["json"])
    from_toml = Script.from_file(tmp_path / "c.toml")
    from_json = Script.from_file(tmp_path / "c.json")
    same(from_toml, from_json)
    assert from_toml.replies[0] == Reply(
        say("Let me check."), call_function("get_weather", '{"city":"Paris"}')
    )
    assert list(from_toml.transcriptions) == [transcription("What's the weather in Paris?")]


def test_a_loaded_script_drives_the_fake_server() -> None:
    script = Script.from_dict(
        {"replies": [[{"call_function": "get_weather", "arguments": {"city": "Oslo"}}]]}
    )
    client = MemoryClient(FakeRealtimeService(script=script))
    client.send({"type": "response.create"})
    client.run_until_idle()
    done = [e for e in client.events() if e["type"] == "response.done"][-1]
    (item,) = done["response"]["output"]
    assert (item["type"], item["name"], json.loads(item["arguments"])) == (
        "function_call",
        "get_weather",
        {"city": "Oslo"},
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"replys": []}, "script: unknown key 'replys'"),
        ({"replies": [[{"speak": "hi"}]]}, "replies[0][0]: a step needs exactly one of"),
        ({"replies": [[{"say": "a", "text": "b"}]]}, "replies[0][0]: a step needs exactly one of"),
        ({"replies": [[{"say": "a", "volume": 3}]]}, "replies[0][0]: unknown key 'volume'"),
        ({"replies": [[{"say": 3}]]}, "replies[0][0].say: expected a string, got int"),
        ({"replies": [{"steps": [], "delay_ms": "x"}]}, "replies[0].delay_ms: expected an integer"),
        ({"replies": [[{"say": "a", "chunk_ms": True}]]}, "replies[0][0].chunk_ms: expected an"),
        ({"replies": [[{"call_function": "f", "arguments": 3}]]}, "replies[0][0].arguments"),
        ({"replies": [[{"mcp_call": "docs"}]]}, "replies[0][0].name: expected the tool's name"),
        ({"transcriptions": [3]}, "transcriptions[0]: expected a transcript"),
        ({"rules": [{"steps": []}]}, "rules[0].match: expected a string"),
        ({"echo": "yes"}, "echo: expected true or false"),
        ([], "script: expected an object at the top level"),
    ],
)
def test_mistakes_are_one_clear_error_naming_the_place(data: Any, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        Script.from_dict(data)
    assert message in str(info.value)
    assert isinstance(info.value, OairtError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("s.yaml", b"replies: []", "a script is a .json or .toml file"),
        ("s.toml", b"replies = [", "not valid TOML"),
        ("s.json", b"{", "not valid JSON"),
        ("s.json", b"\xff\xfe", "not valid JSON"),
        ("s.json", b'{"replies": [[{"speak": 1}]]}', "s.json: replies[0][0]"),
    ],
)
def test_bad_files_are_script_errors(tmp_path: Path, name: str, content: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ScriptError, match=re.escape(message)):
        Script.from_file(path)
    with pytest.raises(ScriptError, match="file not found"):
        Script.from_file(tmp_path / "missing.toml")
