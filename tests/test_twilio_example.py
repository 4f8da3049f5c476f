"""docs/examples/phone_agent.py and ``oairt twilio-bridge`` answer a fake call end to end."""

from __future__ import annotations

import functools
import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from oairt_anyio._cli import twilio as twilio_cli
from oairt_anyio._cli.twilio import load_tools
from oairt_anyio.testing import run_fake_server
from oairt_core.reconnect import Reconnected, Reconnecting, ReconnectPolicy, ResponseLost
from oairt_core.testing import FakeTwilioCall, Script, say
from oairt_core.testing.script import call_function

from .twilio_ws import TwilioWsClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "docs" / "examples"


def _example() -> Any:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import phone_agent

        return phone_agent
    finally:
        sys.path.remove(str(EXAMPLES))


def _received(rt: Any, type: str) -> list[dict[str, Any]]:
    return [e for c in rt.connections for e in c.received_events if e.get("type") == type]


@pytest.mark.anyio
async def test_phone_agent_example_greets_calls_its_tool_and_hears_the_keypad() -> None:
    example = _example()
    script = Script(
        call_function("order_status", '{"order_id": "A1"}'),
        say("Your order A1 has shipped.", duration_ms=800),
    )
    async with run_fake_server(script=script) as rt, anyio.create_task_group() as tg:
        phone = await tg.start(
            functools.partial(example.main, port=0, base_url=rt.url, api_key=rt.api_key)
        )
        pressed: list[bool] = []

        def step(call: FakeTwilioCall, now: float) -> None:
            if not pressed and call.heard_ms(now) >= 800:
                call.dtmf("0")
                pressed.append(True)
            creates = _received(rt, "conversation.item.create")
            if any("pressed 0" in json.dumps(e) for e in creates) and not call.stopped:
                call.hang_up()

        call = FakeTwilioCall()
        await TwilioWsClient(call).run(phone.host, phone.port, on_step=step)
        outputs = [
            e["item"]["output"]
            for e in _received(rt, "conversation.item.create")
            if e["item"]["type"] == "function_call_output"
        ]
        assert outputs == ['{"order_id":"A1","status":"shipped"}']
        assert call.heard_ms(anyio.current_time()) >= 800
        [update] = _received(rt, "session.update")[:1]
        fmt = update["session"]["audio"]
        assert fmt["input"]["format"]["type"] == fmt["output"]["format"]["type"] == "audio/pcmu"
        assert not rt.violations
        tg.cancel_scope.cancel()


def test_load_tools_reads_a_module_path() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        [t] = load_tools("phone_agent:order_status")
        assert t.name == "order_status"
        with pytest.raises(ValueError, match="MODULE:ATTR"):
            load_tools("phone_agent")
        with pytest.raises(ValueError, match="cannot import"):
            load_tools("no_such_module_xyz:TOOLS")
        with pytest.raises(ValueError, match="has no"):
            load_tools("phone_agent:nothing")
        with pytest.raises(ValueError, match="not a tool"):
            load_tools("phone_agent:on_event")
    finally:
        sys.path.remove(str(EXAMPLES))


def test_twilio_bridge_command_serves_a_call_against_the_fake_server_command() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), env.get("PYTHONPATH", "")])
    fake = subprocess.Popen(
        [sys.executable, "-m", "oairt_anyio._cli", "fake-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    bridge: subprocess.Popen[str] | None = None
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().split()[-1]
        bridge = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oairt_anyio._cli",
                "twilio-bridge",
                "--port",
                "0",
                "--base-url",
                base_url,
                "--api-key",
                "sk-test-bridge-0000",
                "--tools",
                "phone_agent:order_status",
                "--greet",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert bridge.stdout is not None
        listening = json.loads(bridge.stdout.readline())
        assert listening["event"] == "listening"
        port = int(listening["port"])

        def step(call: FakeTwilioCall, now: float) -> None:
            # The fake server's default reply is spoken: hang up once some of it was heard.
            if call.heard_ms(now) >= 200 and not call.stopped:
                call.hang_up()

        call = FakeTwilioCall()
        anyio.run(functools.partial(TwilioWsClient(call).run, "127.0.0.1", port, on_step=step))
        assert call.heard_ms(1e12) >= 200
        started = json.loads(bridge.stdout.readline())
        assert started["event"] == "call" and started["call_sid"] == call.call_sid
        assert json.loads(bridge.stdout.readline())["event"] == "hangup"
    finally:
        for proc in (bridge, fake):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
    assert bridge.returncode == 0
    assert "sk-test-bridge-0000" not in (bridge.stderr.read() if bridge.stderr else "")


def test_phone_page_shows_the_example_as_it_is() -> None:
    source = (EXAMPLES / "phone_agent.py").read_text(encoding="utf-8")
    body = source[source.index("import anyio") : source.index('\n\nif __name__ == "__main__":')]
    assert body in (ROOT / "docs" / "phone.md").read_text(encoding="utf-8")


def _bridge_options(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The voice options ``oairt twilio-bridge ARGV`` would serve calls with."""
    from oairt_anyio._cli import Output, build_parser

    seen: dict[str, Any] = {}

    def fake_loop(_fn: Any, _args: Any, _out: Any, options: dict[str, Any]) -> int:
        seen.update(options)
        return 0

    monkeypatch.setattr(twilio_cli, "run_loop", fake_loop)
    args = build_parser().parse_args(["twilio-bridge", *argv])
    assert twilio_cli.run_twilio_bridge_command(args, Output()) == 0
    return seen


def test_twilio_bridge_command_reconnects_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    options = _bridge_options(["--port", "0"], monkeypatch)
    assert options["reconnect"] == ReconnectPolicy()
    assert "reconnect" not in _bridge_options(["--port", "0", "--no-reconnect"], monkeypatch)


class _Session:
    def __init__(self) -> None:
        self.responses = 0

    async def create_response(self) -> None:
        self.responses += 1


class _Call:
    call_sid = "CA1"

    def __init__(self) -> None:
        self.session = _Session()


@pytest.mark.anyio
async def test_twilio_bridge_command_answers_again_after_a_reconnection_cut_its_reply() -> None:
    from oairt_anyio._cli import Output, build_parser

    out = io.StringIO()
    args = build_parser().parse_args(["twilio-bridge", "--port", "0"])
    on_event = twilio_cli.call_event_handler(args, Output(json_mode=True, stdout=out))
    cut, clean = _Call(), _Call()
    # A drop that cut a reply: the caller is answered again once reconnected.
    for event in (
        ResponseLost(response_id="resp_1"),
        Reconnecting(attempt=1, delay=0.0, close_code=1011, retry_at=0.0),
        Reconnected(attempt=1, replayed_items=2),
    ):
        await on_event(cut, event)
    # A drop between replies: nothing was cut, nothing is asked for.
    await on_event(clean, Reconnected(attempt=1, replayed_items=2))
    assert (cut.session.responses, clean.session.responses) == (1, 0)
    kinds = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert kinds == ["reconnecting", "reconnected", "reconnected"]
