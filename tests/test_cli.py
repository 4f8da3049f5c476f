"""The ``oairt`` command: help, output modes, and errors as one line without secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from oairt_anyio._cli import CliError, Output, build_parser, check_url, main

SECRET = "sk-test-supersecretvalue-1234"
COMMANDS = ["demo", "chat", "voice", "fake-server", "replay", "twilio-bridge"]


def run_cli(*args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60):
    full_env = {
        k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "oairt_anyio._cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def test_top_level_help_lists_every_command_with_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for command in COMMANDS:
        assert command in text
        assert f"oairt {command}" in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text
    assert f"oairt {command}" in text


def test_no_command_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage: oairt" in capsys.readouterr().err


def test_output_text_and_json_modes(capsys):
    Output().event("transcript", "assistant: hi", text="hi")
    Output(json_mode=True).event("transcript", "assistant: hi", text="hi")
    Output().status("working")
    Output(quiet=True).status("hidden")
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "assistant: hi"
    assert json.loads(lines[1]) == {"event": "transcript", "text": "hi"}
    assert captured.err == "working\n"


def test_output_redacts_secrets(capsys):
    Output().event("x", f"key {SECRET}")
    Output(json_mode=True).event("x", "", key=SECRET)
    assert SECRET not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "insecure", "ok"),
    [
        ("wss://api.openai.com/v1", False, True),
        ("ws://127.0.0.1:8000/v1", False, True),
        ("ws://localhost:8000/v1", False, True),
        ("ws://example.com/v1", False, False),
        ("ws://example.com/v1", True, True),
        ("wss://example.com/v1", True, False),
        ("http://example.com/v1", False, False),
        ("ws:///v1", False, False),
    ],
)
def test_check_url(url, insecure, ok):
    if ok:
        check_url(url, insecure=insecure)
    else:
        with pytest.raises(CliError):
            check_url(url, insecure=insecure)


@pytest.mark.parametrize(
    ("url", "insecure", "expected"),
    [
        # The library's schemes (oairt_core._settings.with_scheme), as docs/rest.md shows them.
        ("https://api.openai.com/v1", False, "wss://api.openai.com/v1"),
        ("HTTPS://api.openai.com/v1/", False, "wss://api.openai.com/v1"),
        ("http://127.0.0.1:8765/v1", False, "ws://127.0.0.1:8765/v1"),
        ("http://[::1]:8765/v1", False, "ws://[::1]:8765/v1"),
        ("http://example.com/v1", True, "ws://example.com/v1"),
        ("wss://example.com/v1", False, "wss://example.com/v1"),
    ],
)
def test_check_url_accepts_the_library_schemes(url, insecure, expected):
    assert check_url(url, insecure=insecure) == expected


def _args(**kw):
    import argparse

    return argparse.Namespace(**{"base_url": None, "insecure": False, "api_key": None, **kw})


@pytest.mark.parametrize(
    ("flag", "env", "message"),
    [
        ("ftp://x/v1", None, "bad --base-url 'ftp://x/v1': the scheme must be wss://"),
        (None, "ftp://x/v1", "bad $OAIRT_BASE_URL 'ftp://x/v1': the scheme must be wss://"),
        (None, "http:///v1", "bad $OAIRT_BASE_URL 'http:///v1': no host"),
        (None, "http://example.com/v1", "clear text to example.com (from $OAIRT_BASE_URL)"),
        ("ws://example.com/v1", "wss://ok.test/v1", "clear text to example.com (from --base-url)"),
    ],
)
def test_a_bad_url_names_where_it_came_from(monkeypatch, flag, env, message):
    from oairt_anyio._cli import resolve_base_url

    monkeypatch.delenv("OAIRT_BASE_URL", raising=False)
    if env is not None:
        monkeypatch.setenv("OAIRT_BASE_URL", env)
    with pytest.raises(CliError) as info:
        resolve_base_url(_args(base_url=flag))
    assert message in str(info.value)


def test_base_url_from_the_environment_may_be_https(monkeypatch):
    from oairt_anyio._cli import resolve_base_url

    monkeypatch.setenv("OAIRT_BASE_URL", "https://proxy.example/v1")
    assert resolve_base_url(_args()) == "wss://proxy.example/v1"
    assert resolve_base_url(_args(base_url="http://localhost:1/v1")) == "ws://localhost:1/v1"


def test_a_loopback_server_needs_no_key(monkeypatch):
    from oairt_anyio._cli import resolve_api_key
    from oairt_core.testing import FAKE_API_KEY

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for url in ("ws://127.0.0.1:9/v1", "ws://localhost:9/v1", "ws://[::1]:9/v1"):
        key = resolve_api_key(_args(), url)
        assert key is not None and key.reveal() == FAKE_API_KEY
    assert resolve_api_key(_args(), "wss://api.openai.com/v1") is None
    # A key you give always wins, also on loopback.
    given = resolve_api_key(_args(api_key=SECRET), "ws://127.0.0.1:9/v1")
    assert given is not None and given.reveal() == SECRET
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    from_env = resolve_api_key(_args(), "ws://127.0.0.1:9/v1")
    assert from_env is not None and from_env.reveal() == SECRET


def test_every_exit_status_is_documented():
    import re

    import oairt_anyio._cli as cli

    page = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    table = page[page.index("## Exit statuses") :].split("\n## ")[0]
    documented = {int(n) for n in re.findall(r"^\| `(\d+)` \|", table, re.MULTILINE)}
    codes = {v for k, v in vars(cli).items() if k.startswith("EXIT_")}
    assert codes == {1, 2, 70, 130}
    assert documented == codes | {0}


def test_error_is_one_line_no_traceback_no_secret():
    result = run_cli("chat", "--base-url", "ws://example.com/v1", "--api-key", SECRET)
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert len(err) == 1, result.stderr
    assert err[0].startswith("oairt: error: ")
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_missing_wav_is_a_clean_error():
    result = run_cli("demo", "--in", "/nonexistent/question.wav", "--offline")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "oairt: error: file not found: /nonexistent/question.wav"
    )
    assert "Traceback" not in result.stderr


def test_bad_wav_is_a_clean_error(tmp_path: Path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wav")
    result = run_cli("demo", "--in", str(bad), "--offline")
    assert result.returncode == 1
    assert "bad WAV file" in result.stderr
    assert "Traceback" not in result.stderr


def test_voice_without_input_says_what_to_do():
    result = run_cli("voice", "--api-key", SECRET)
    assert result.returncode == 1
    assert "--in" in result.stderr
    assert SECRET not in result.stderr


def test_usage_error_exit_code():
    result = run_cli("fake-server", "--port", "notanumber")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_internal_errors_are_one_line(monkeypatch, capsys):
    import oairt_anyio._cli as cli

    def boom(args, output):
        raise RuntimeError(f"unexpected {SECRET}")

    monkeypatch.setattr(cli, "_dispatch", boom)
    monkeypatch.delenv("OAIRT_DEBUG", raising=False)
    assert main(["replay", "x"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "internal error" in err
    assert SECRET not in err


def test_keyboard_interrupt_exit_code(monkeypatch, capsys):
    import oairt_anyio._cli as cli

    def interrupted(args, output):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_dispatch", interrupted)
    assert main(["replay", "x"]) == 130
    assert capsys.readouterr().err == "oairt: interrupted\n"


def test_exception_group_is_unwrapped(monkeypatch, capsys):
    import oairt_anyio._cli as cli
    from oairt_core.errors import HandshakeError

    class FakeGroup(Exception):
        # Duck-typed like ExceptionGroup, which Python 3.10 lacks.
        def __init__(self, msg, excs):
            super().__init__(msg)
            self.exceptions = tuple(excs)

    def grouped(args, output):
        raise FakeGroup("tasks", [HandshakeError(401, "Incorrect API key provided")])

    monkeypatch.setattr(cli, "_dispatch", grouped)
    assert main(["replay", "x"]) == 1
    assert capsys.readouterr().err == (
        "oairt: error: handshake rejected with HTTP 401: Incorrect API key provided\n"
    )


def test_parser_defaults():
    args = build_parser().parse_args(["demo"])
    assert args.output == "demo-reply.wav"
    assert args.model == "gpt-realtime"
    assert args.json is False


# --- replay -----------------------------------------------------------------------------


RECORDING = [
    {"t": 10.0, "dir": "server", "event": {"type": "session.created", "event_id": "e1"}},
    {"t": 10.1, "dir": "client", "event": {"type": "input_audio_buffer.append", "audio": "AAAA"}},
    {
        "t": 10.5,
        "dir": "server",
        "event": json.dumps(
            {"type": "response.output_audio_transcript.done", "transcript": f"hi {SECRET}"}
        ),
    },
]


def _write_recording(path: Path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_replay_prints_a_timeline(tmp_path: Path, capsys):
    rec = tmp_path / "session.jsonl"
    _write_recording(rec, RECORDING)
    assert main(["replay", str(rec)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "0.000s" in out[0] and "<- server" in out[0] and "session.created" in out[0]
    assert "client ->" in out[1] and "3 bytes of audio" in out[1]
    assert "transcript=hi" in out[2]
    assert SECRET not in "\n".join(out)
    assert out[-1].startswith("3 entries")


def test_replay_json(tmp_path: Path, capsys):
    rec = tmp_path / "session.jsonl"
    _write_recording(rec, RECORDING)
    assert main(["replay", str(rec), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["type"] for r in records[:3]] == [
        "session.created",
        "input_audio_buffer.append",
        "response.output_audio_transcript.done",
    ]
    assert records[1]["who"] == "client"
    assert records[2]["t"] == pytest.approx(0.5)
    assert records[-1]["event"] == "summary"


def test_replay_bad_line(tmp_path: Path, capsys):
    rec = tmp_path / "bad.jsonl"
    rec.write_text('{"t": 1, "event": {"type": "x"}}\nnot json\n')
    assert main(["replay", str(rec)]) == 1
    assert "bad.jsonl:2: not a JSON line" in capsys.readouterr().err


def test_replay_line_nested_deeper_than_the_stack_is_one_clear_error(tmp_path: Path, capsys):
    rec = tmp_path / "deep.jsonl"
    rec.write_text('{"t": 1, "event": {"type": "x"}}\n' + "[" * 200_000 + "]" * 200_000 + "\n")
    assert main(["replay", str(rec)]) == 1
    assert "deep.jsonl:2: not a JSON line" in capsys.readouterr().err


def test_replay_of_a_file_that_is_not_a_recording(tmp_path: Path, capsys):
    """`oairt replay question.wav`: one error line and exit 1, not an internal error."""
    wav = tmp_path / "question.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24000)
        w.writeframes(bytes(range(256)) * 40)
    assert main(["replay", str(wav)]) == 1
    assert capsys.readouterr().err == (
        f"oairt: error: {wav}: not a recording (binary data, not JSON Lines)\n"
    )


def test_replay_shows_the_session_of_each_entry(tmp_path: Path, capsys):
    rec = tmp_path / "two.jsonl"
    _write_recording(
        rec,
        [
            {"oairt_recording": 1, "session": 1, "meta": {}},
            {"session": 1, "t": 0.0, "dir": "server", "frame": {"type": "session.created"}},
            {"session": 1, "t": 0.5, "dir": "client", "frame": {"type": "response.create"}},
            {"oairt_recording": 1, "session": 2, "meta": {}},
            {"session": 2, "t": 0.0, "dir": "server", "frame": {"type": "session.created"}},
        ],
    )
    assert main(["replay", str(rec), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    timeline = [r for r in rows if r["event"] == "timeline"]
    assert [(r["session"], r["type"]) for r in timeline] == [
        (1, "recording"),
        (1, "session.created"),
        (1, "response.create"),
        (2, "recording"),
        (2, "session.created"),
    ]
    assert timeline[-1]["t"] == 0.0  # each session's times count from its own start


def test_replay_empty(tmp_path: Path, capsys):
    rec = tmp_path / "empty.jsonl"
    rec.write_text("\n")
    assert main(["replay", str(rec)]) == 1
    assert "empty" in capsys.readouterr().err


# --- demo ------------------------------------------------------------------------------


DEV_ONLY = ["pytest", "hypothesis", "openai", "websockets", "matplotlib", "mypy", "mkdocs"]


def test_demo_whole_exchange_without_dev_packages(tmp_path: Path):
    """`make demo` installs only the [anyio,trio] extras: the demo must not import dev tools.

    One run checks the whole exchange: VAD, transcripts, the typed tool call, the barge-in
    cut point, the latency line, and the WAV of what was played.
    """
    out = tmp_path / "reply.wav"
    blocker = "; ".join(f"sys.modules[{m!r}] = None" for m in DEV_ONLY)
    code = (
        f"import sys; {blocker}; from oairt_anyio._cli import main; "
        f"sys.exit(main(['demo', '--offline', '--json', '--out', {str(out)!r}]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "server" and events[0]["url"].startswith("ws://127.0.0.1:")
    assert {"speech": "started"}.items() <= next(e for e in events if e["event"] == "vad").items()
    user = [e["text"] for e in events if e["event"] == "transcript" and e["role"] == "user"]
    assert user == ["What's the weather like in Paris today?", "Thanks, that's all I needed."]
    (call,) = [e for e in events if e["event"] == "tool_call"]
    assert call["name"] == "get_weather" and json.loads(call["arguments"]) == {"city": "Paris"}
    (result_event,) = [e for e in events if e["event"] == "tool_result"]
    assert json.loads(result_event["output"])["forecast"] == "sunny"
    (barge,) = [e for e in events if e["event"] == "barge_in"]
    assert barge["cancelled"] is True and barge["reason"] == "speech_started"
    assert isinstance(barge["audio_end_ms"], int) and barge["audio_end_ms"] > 0
    (latency,) = [e for e in events if e["event"] == "latency"]
    assert latency["end_of_speech_to_first_audio_ms"] > 0
    assert kinds.index("latency") < kinds.index("tool_call") < kinds.index("barge_in")
    assert kinds[-2:] == ["saved", "done"]
    with wave.open(str(out), "rb") as w:
        assert w.getframerate() == 24000 and w.getnchannels() == 1
        played_ms = w.getnframes() * 1000 // 24000
    assert played_ms == events[-2]["ms"] > barge["audio_end_ms"]


def test_demo_speech_helper_uses_the_given_audio():
    import numpy as np

    from oairt_anyio._cli.demo import _speech

    given = (np.ones(4800, dtype="<i2") * 1000).tobytes()
    pcm = _speech(given, 0, seed=0)
    assert pcm.dtype == np.int16
    assert len(pcm) == 2400 + 4800 + 21600  # 100 ms lead-in, the audio, 900 ms of silence
    assert (pcm[2400:7200] == 1000).all()


def test_demo_live_without_key_is_a_clean_error():
    result = run_cli("demo", "--live")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("set OPENAI_API_KEY or pass --api-key")


def test_demo_live_and_offline_conflict():
    result = run_cli("demo", "--live", "--offline")
    assert result.returncode == 1
    assert "exclude each other" in result.stderr


def test_broken_pipe_is_quiet(tmp_path: Path):
    """`oairt replay big.jsonl | head -1`: no error message, no traceback."""
    rec = tmp_path / "big.jsonl"
    _write_recording(rec, RECORDING * 3000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "oairt_anyio._cli", "replay", str(rec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert "session.created" in proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == 1
    assert err == ""
