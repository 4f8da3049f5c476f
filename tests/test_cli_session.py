"""``oairt chat``, ``oairt voice``, ``oairt fake-server`` and ``oairt replay`` end to end.

The commands run as real subprocesses against the fake server on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from anyio.from_thread import start_blocking_portal

from oairt_anyio.testing import run_fake_server
from oairt_core import audio
from oairt_core.testing import Script

KEY = "sk-test"


def oairt(
    *args: str, stdin: str = "", timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")}
    env = {**base, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "oairt_anyio._cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Script, Path]]:
    script = Script()
    record = tmp_path / "session.jsonl"
    with start_blocking_portal() as portal:
        cm = run_fake_server(script=script, api_keys={KEY}, record=record)
        with portal.wrap_async_context_manager(cm) as srv:
            yield srv.url, script, record


def test_chat_from_piped_stdin(server: tuple[str, Script, Path]) -> None:
    url, script, _ = server
    script.text("Hello! I am a fake model.")
    result = oairt("chat", "--base-url", url, "--api-key", KEY, stdin="Hi there\nSecond line\n")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "you: Hi there" in lines
    assert "assistant: Hello! I am a fake model." in lines
    # Nothing scripted for the second turn: the fake server echoes.
    assert "assistant: You said: Second line" in lines
    assert KEY not in result.stdout + result.stderr


def test_chat_json(server: tuple[str, Script, Path]) -> None:
    url, _, _ = server
    result = oairt("chat", "--json", "--base-url", url, "--api-key", KEY, stdin="ping\n\nignored\n")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["connected", "user", "assistant"]
    assert events[-1] == {
        "event": "assistant",
        "role": "assistant",
        "text": "You said: ping",
        "status": "completed",
    }


def test_chat_bad_key_is_one_line(server: tuple[str, Script, Path]) -> None:
    url, _, _ = server
    result = oairt("chat", "--base-url", url, "--api-key", "sk-wrong-key-123456", stdin="hi\n")
    assert result.returncode == 1
    err = result.stderr.strip().splitlines()
    assert err[-1].startswith("oairt: error: handshake rejected with HTTP 401")
    assert "Traceback" not in result.stderr
    assert "sk-wrong-key-123456" not in result.stderr


def test_chat_no_server_is_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    result = oairt("chat", "--base-url", f"ws://127.0.0.1:{port}/v1", "--api-key", KEY, stdin="x\n")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(f"oairt: error: cannot connect to 127.0.0.1:{port}: connection refused")
    )
    assert "Traceback" not in result.stderr


def test_voice_turn_from_a_file(server: tuple[str, Script, Path], tmp_path: Path) -> None:
    url, script, _ = server
    script.say("Here is your answer.").transcribe("a question")
    question = tmp_path / "question.wav"
    reply = tmp_path / "reply.wav"
    # 16 kHz input: the command converts it to 24 kHz.
    pcm = audio.resample(audio.synth_speech(600, seed=1), 24000, 16000)
    with wave.open(str(question), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    result = oairt(
        "voice", "--in", str(question), "--out", str(reply), "--base-url", url, "--api-key", KEY
    )
    assert result.returncode == 0, result.stderr
    assert "you (transcribed): a question" in result.stdout
    assert "assistant: Here is your answer." in result.stdout
    with wave.open(str(reply), "rb") as w:
        assert w.getframerate() == 24000
        ms = w.getnframes() * 1000 / 24000
    assert ms == pytest.approx(55 * len("Here is your answer."), abs=25)


def test_voice_speaker_without_sounddevice(tmp_path: Path) -> None:
    try:
        import sounddevice  # noqa: F401

        pytest.skip("sounddevice is installed here")
    except (ImportError, OSError):
        pass
    result = oairt("voice", "--mic", "--speaker", "--api-key", KEY)
    assert result.returncode == 1
    assert "pip install 'oairt[audio-devices]'" in result.stderr


def test_fake_server_command_and_replay(tmp_path: Path) -> None:
    record = tmp_path / "rec.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oairt_anyio._cli",
            "fake-server",
            "--port",
            "0",
            "--record",
            str(record),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on ws://127.0.0.1:") and line.endswith("/v1")
        url = line.split()[-1]
        chat = oairt("chat", "--base-url", url, "--api-key", KEY, stdin=f"my key is {KEY}-abcdef\n")
        assert chat.returncode == 0, chat.stderr
    finally:
        # SIGTERM stops it cleanly too: the recording is written on the way out.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    # The server has exited, and it writes the recording before it exits.
    assert record.exists()
    result = oairt("replay", str(record))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "client ->  session.update" in out
    assert "<- server  session.created" in out
    assert "<- server  response.done" in out and "status=completed" in out
    assert "sk-test-abcdef" not in out
    result_json = oairt("replay", "--json", str(record))
    rows = [json.loads(r) for r in result_json.stdout.splitlines()]
    assert rows[-1]["event"] == "summary"
    types = [r["type"] for r in rows if r["event"] == "timeline"]
    assert "conversation.item.create" in types and "response.output_text.done" in types


# --- base URLs, keys and the fake-server command (issue 12) ------------------------------------


def test_chat_with_an_http_base_url_from_the_environment_and_no_key(
    server: tuple[str, Script, Path],
) -> None:
    """The library's http:// form, from $OAIRT_BASE_URL; a loopback fake server needs no key."""
    url, script, _ = server
    script.text("Reached over http://.")
    http_url = url.replace("ws://", "http://")
    result = oairt("chat", stdin="hello\n", env={"OAIRT_BASE_URL": http_url})
    assert result.returncode == 0, result.stderr
    assert "assistant: Reached over http://." in result.stdout


def test_a_bad_url_from_the_environment_names_the_environment() -> None:
    result = oairt("chat", stdin="hi\n", env={"OAIRT_BASE_URL": "ftp://example.com/v1"})
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("oairt: error: bad $OAIRT_BASE_URL 'ftp://example.com/v1'")
    assert "--base-url" not in line


def test_voice_against_loopback_needs_no_key(
    server: tuple[str, Script, Path], tmp_path: Path
) -> None:
    url, script, _ = server
    script.say("No key needed.")
    question = tmp_path / "q.wav"
    audio.write_wav(question, audio.synth_speech(500, seed=2), 24000)
    result = oairt(
        "voice", "--in", str(question), "--out", str(tmp_path / "a.wav"), "--base-url", url
    )
    assert result.returncode == 0, result.stderr
    assert "assistant: No key needed." in result.stdout


class FakeServerProcess:
    """`oairt fake-server ...` in the background; `url` once it listens."""

    def __init__(self, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OAIRT_BASE_URL")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "oairt_anyio._cli", "fake-server", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        assert line.startswith("listening on ws://127.0.0.1:"), line
        self.url = line.split()[-1]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=10)

    def __enter__(self) -> FakeServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_fake_server_script_host_pacing_and_one_recording(tmp_path: Path) -> None:
    script = tmp_path / "conversation.toml"
    script.write_text(
        '[[replies]]\nsteps = [{ text = "Scripted first." }]\n'
        '[[rules]]\nmatch = "weather"\nsteps = [{ text = "Always sunny." }]\n'
    )
    record = tmp_path / "rec.jsonl"
    args = ("--host", "127.0.0.1", "--script", str(script), "--pacing", "realtime")
    with FakeServerProcess(*args, "--record", str(record)) as fake:
        first = oairt("chat", "--base-url", fake.url, stdin="hello\n")
        second = oairt("chat", "--base-url", fake.url, stdin="and the weather?\nhi\n")
        assert fake.stop() == 0
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "assistant: Scripted first." in first.stdout
    lines = second.stdout.splitlines()
    assert "assistant: Always sunny." in lines
    assert "assistant: You said: hi" in lines  # the script is used up: the model echoes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conversation.toml", "rec.jsonl"]
    rows = [json.loads(r) for r in oairt("replay", "--json", str(record)).stdout.splitlines()]
    sessions = {r["session"] for r in rows if r["event"] == "timeline"}
    assert sessions == {1, 2}


def test_fake_server_api_key_restricts_the_keys(tmp_path: Path) -> None:
    with FakeServerProcess("--api-key", "sk-only-this-one") as fake:
        refused = oairt("chat", "--base-url", fake.url, stdin="hi\n")
        allowed = oairt(
            "chat", "--base-url", fake.url, "--api-key", "sk-only-this-one", stdin="hi\n"
        )
        assert fake.stop() == 0
    assert refused.returncode == 1
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("oairt: error: handshake rejected with HTTP 401")
    )
    assert allowed.returncode == 0, allowed.stderr


def test_fake_server_bad_script_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[replies]]\nsteps = [{ speak = "hi" }]\n')
    result = oairt("fake-server", "--script", str(bad))
    assert result.returncode == 1
    assert result.stderr == (
        f"oairt: error: bad --script {bad}: replies[0].steps[0]: a step needs exactly one of "
        "['say', 'text', 'call_function', 'mcp_list_tools', 'mcp_call', "
        "'mcp_approval_request', 'fail'] (none)\n"
    )
