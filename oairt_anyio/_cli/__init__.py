"""The ``oairt`` command: a demo, a text chat, one voice turn, a fake server, a replayer.

Every subcommand runs on anyio. Errors come out as one line on stderr and a
non-zero exit status, never a traceback; API keys are wrapped in
:class:`~oairt_core._redact.Secret` as soon as they are read and never printed.

>>> main(["--version"])  # doctest: +SKIP
oairt 0.1.0
0
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from oairt_core._redact import Secret, redact_text
from oairt_core.errors import ConnectionClosedError, OairtError

from .._sigint import is_interrupt

__all__ = ["CliError", "Output", "build_parser", "main"]

DEFAULT_MODEL = "gpt-realtime"
DEFAULT_BASE_URL = "wss://api.openai.com/v1"

# Exit statuses: 1 for errors the user can fix (bad key, no network, bad file),
# 2 for bad usage (argparse's own convention), 130 for Ctrl-C (shell convention).
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70


class CliError(OairtError):
    """A problem the user can fix, reported as one line (bad option mix, missing device...)."""


class Output:
    """Where a command reports what happens.

    In text mode ``event`` prints one readable line on stdout; with ``--json``
    it prints one JSON object per line instead (``{"event": kind, ...}``).
    ``status`` is progress for humans and always goes to stderr, so stdout stays
    clean for pipes in both modes.
    """

    def __init__(
        self,
        *,
        json_mode: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        quiet: bool = False,
    ) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self._out = stdout if stdout is not None else sys.stdout
        self._err = stderr if stderr is not None else sys.stderr

    def event(self, kind: str, text: str, /, **fields: Any) -> None:
        """Report something that happened: ``text`` for humans, ``fields`` for ``--json``."""
        if self.json_mode:
            record = {"event": kind, **fields}
            line = json.dumps(record, default=str, ensure_ascii=False)
        else:
            line = text
        self._out.write(redact_text(line) + "\n")
        self._out.flush()

    def stream(self, text: str, *, end: bool = False) -> None:
        """Text that arrives piece by piece (a reply being streamed); text mode only."""
        if self.json_mode:
            return
        self._out.write(redact_text(text) + ("\n" if end else ""))
        self._out.flush()

    def status(self, text: str) -> None:
        """Progress for a human watching (stderr; silent with ``--quiet``)."""
        if self.quiet:
            return
        self._err.write(redact_text(text) + "\n")
        self._err.flush()


# ---------------------------------------------------------------------------
# Argument parsing


_EPILOG = """\
examples:
  oairt demo                      a whole voice exchange against the built-in fake server
  oairt chat                      type lines, read the model's replies (needs OPENAI_API_KEY)
  oairt voice --in question.wav --out reply.wav
  oairt fake-server --port 8765   a local Realtime server for your own tests
  oairt replay session.jsonl      a recorded session as a readable timeline
  oairt twilio-bridge --port 8080 phone calls from Twilio Media Streams to a voice session

Run `oairt COMMAND --help` for the options of one command.
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _common_connection_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("connection")
    g.add_argument(
        "--base-url",
        default=None,
        help="Realtime endpoint (default: $OAIRT_BASE_URL or " + DEFAULT_BASE_URL + ")",
    )
    g.add_argument("--model", default=DEFAULT_MODEL, help="model name (default: %(default)s)")
    g.add_argument(
        "--api-key",
        default=None,
        help="API key (default: $OPENAI_API_KEY); never printed",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        help="allow a plain ws:// URL to a host other than this machine",
    )
    return p


def _output_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``oairt`` argument parser (exposed for tests and docs)."""
    from oairt_core import __version__

    parser = argparse.ArgumentParser(
        prog="oairt",
        description="oairt: the OpenAI Realtime API (GA) from the terminal.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"oairt {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    conn = _common_connection_options()
    out = _output_options()

    demo = sub.add_parser(
        "demo",
        parents=[conn, out],
        formatter_class=_Formatter,
        help="a whole voice exchange (fake server unless a key is set)",
        description=(
            "Run a whole voice exchange: speech in, server VAD, a spoken reply with its\n"
            "transcript, one tool call and one barge-in. With no OPENAI_API_KEY it starts a\n"
            "fake Realtime server on 127.0.0.1; with a key (or --live) it talks to the real API."
        ),
        epilog=(
            "examples:\n"
            "  oairt demo\n"
            "  oairt demo --in question.wav --out reply.wav\n"
            "  oairt demo --json > demo.jsonl\n"
            "  OPENAI_API_KEY=sk-... oairt demo --live"
        ),
    )
    demo.add_argument(
        "--in", dest="input", metavar="WAV", help="speech to send (default: synthesised)"
    )
    demo.add_argument(
        "--out",
        dest="output",
        metavar="WAV",
        default="demo-reply.wav",
        help="where to write the assistant's audio (default: %(default)s)",
    )
    demo.add_argument("--live", action="store_true", help="talk to the real API (needs a key)")
    demo.add_argument(
        "--offline",
        action="store_true",
        help="use the fake server even when OPENAI_API_KEY is set",
    )

    chat = sub.add_parser(
        "chat",
        parents=[conn, out],
        formatter_class=_Formatter,
        help="a text conversation over a Realtime session",
        description=(
            "A text conversation: each line you type (or pipe in) is one user message; the\n"
            "model's reply is printed as it streams. An empty line or end of input ends it."
        ),
        epilog=(
            "examples:\n"
            "  oairt chat\n"
            "  printf 'Hello\\nHow are you?\\n' | oairt chat --json\n"
            "  oairt chat --base-url ws://127.0.0.1:8765/v1    # a fake server: no key needed"
        ),
    )
    chat.add_argument("--instructions", default=None, help="system instructions for the session")

    voice = sub.add_parser(
        "voice",
        parents=[conn, out],
        formatter_class=_Formatter,
        help="one spoken turn from a WAV file (or the microphone)",
        description=(
            "Send one spoken question and save the spoken answer. --mic and --speaker need the\n"
            "optional 'sounddevice' package (pip install 'oairt[audio-devices]')."
        ),
        epilog=(
            "examples:\n"
            "  oairt voice --in question.wav --out reply.wav\n"
            "  oairt voice --mic --speaker"
        ),
    )
    voice.add_argument("--in", dest="input", metavar="WAV", help="the question as a WAV file")
    voice.add_argument("--out", dest="output", metavar="WAV", help="write the reply here")
    voice.add_argument("--mic", action="store_true", help="record the question from the microphone")
    voice.add_argument("--speaker", action="store_true", help="play the reply on the speaker")
    voice.add_argument("--voice", default=None, help="the assistant's voice (e.g. alloy, marin)")

    from oairt_core.testing import API_KEY_RULE

    fake = sub.add_parser(
        "fake-server",
        parents=[out],
        formatter_class=_Formatter,
        help="run a local fake Realtime server",
        description=(
            "Serve the fake Realtime server (WebSocket and REST) until interrupted. It\n"
            f"{API_KEY_RULE} (--api-key).\n"
            "Prints 'listening on ws://HOST:PORT/v1' once it is ready. Without --script the\n"
            "model echoes what it is told ('You said: ...')."
        ),
        epilog=(
            "examples:\n"
            "  oairt fake-server --port 8765\n"
            "  oairt fake-server --port 0 --record session.jsonl\n"
            "  oairt fake-server --script conversation.toml --pacing realtime"
        ),
    )
    fake.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    fake.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    fake.add_argument(
        "--api-key",
        dest="api_keys",
        metavar="KEY",
        action="append",
        default=None,
        help="accept only this key (repeat for more; default: any key)",
    )
    fake.add_argument(
        "--script",
        metavar="FILE",
        default=None,
        help="a scripted conversation (JSON or TOML): replies, tool calls, transcripts",
    )
    fake.add_argument(
        "--pacing",
        choices=("fast", "realtime"),
        default="fast",
        help="fast: replies as fast as possible; realtime: audio at speaking speed "
        "(default: %(default)s)",
    )
    fake.add_argument(
        "--record",
        metavar="JSONL",
        default=None,
        help="record every session to this one file (a 'session' number on each line)",
    )

    replay = sub.add_parser(
        "replay",
        parents=[out],
        formatter_class=_Formatter,
        help="print a recorded session (JSONL) as a timeline",
        description="Read a session recording (JSON Lines) and print it as a readable timeline.",
        epilog=("examples:\n  oairt replay session.jsonl\n  oairt replay session.jsonl --json"),
    )
    replay.add_argument("file", metavar="FILE", help="a recording written by the fake server")
    from .twilio import add_twilio_bridge_parser

    add_twilio_bridge_parser(sub, [conn, out])
    return parser


# ---------------------------------------------------------------------------
# Shared helpers for subcommands


def resolve_api_key(args: argparse.Namespace, url: str | None = None) -> Secret | None:
    """The key from ``--api-key`` or ``$OPENAI_API_KEY``, wrapped so it never prints.

    With neither, a loopback ``url`` (a fake server on this machine) gets the fake's own key,
    :data:`~oairt_core.testing.FAKE_API_KEY`: a local fake needs no key of yours.
    """
    raw = getattr(args, "api_key", None) or os.environ.get("OPENAI_API_KEY")
    if raw:
        return Secret(raw)
    if url is not None and _is_loopback(url):
        from oairt_core.testing import FAKE_API_KEY

        return Secret(FAKE_API_KEY)
    return None


def resolve_base_url(args: argparse.Namespace) -> str:
    """The endpoint in its WebSocket flavour, from ``--base-url``, ``$OAIRT_BASE_URL`` or the
    public API; ``http(s)://`` is accepted as the library accepts it. A bad URL is a
    :class:`CliError` naming where it came from; plain ws:// to another machine needs
    ``--insecure``.
    """
    flag = getattr(args, "base_url", None)
    env = os.environ.get("OAIRT_BASE_URL")
    if flag:
        url, source = flag, "--base-url"
    elif env:
        url, source = env, "$OAIRT_BASE_URL"
    else:
        url, source = DEFAULT_BASE_URL, "the default URL"
    return check_url(url, insecure=bool(getattr(args, "insecure", False)), source=source)


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        return (urlsplit(url).hostname or "") in _LOOPBACK
    except ValueError:
        return False


def check_url(url: str, *, insecure: bool, source: str = "--base-url") -> str:
    """Validate a Realtime URL for the CLI and return it in its ws(s):// flavour.

    The schemes are the library's (:func:`oairt_core._settings.with_scheme`): ``wss``,
    ``ws``, ``https`` and ``http``. TLS is required unless the host is loopback or
    ``insecure`` is set. ``source`` names where the URL came from in the error.

    >>> check_url("https://example.test/v1", insecure=False)
    'wss://example.test/v1'
    """
    from urllib.parse import urlsplit

    from oairt_core._settings import with_scheme

    try:
        ws_url = with_scheme(url.rstrip("/"), "ws")
    except OairtError:
        raise CliError(
            f"bad {source} {url!r}: the scheme must be wss:// or https:// "
            "(ws:// or http:// for tests)"
        ) from None
    try:
        parts = urlsplit(ws_url)
        host = parts.hostname or ""
    except ValueError as exc:
        raise CliError(f"bad {source} {url!r}: {exc}") from None
    if not host:
        raise CliError(f"bad {source} {url!r}: no host")
    if insecure and parts.scheme != "ws":
        raise CliError("--insecure only applies to ws:// and http:// URLs")
    if parts.scheme == "ws" and host not in _LOOPBACK and not insecure:
        raise CliError(
            f"refusing to send an API key in clear text to {host} (from {source}); "
            "use wss:// or add --insecure"
        )
    return ws_url


def _describe_exception(exc: BaseException) -> str:
    """One line for an exception a user can act on."""
    if isinstance(exc, ConnectionClosedError) and exc.reason.startswith("cannot connect"):
        # ConnectError: DNS/TCP/TLS failure; the close code means nothing to a user here.
        return exc.reason
    if isinstance(exc, OairtError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename}" if exc.filename else str(exc)
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}" if exc.filename else str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running and the URL right?)"
    if isinstance(exc, OSError):
        import socket

        if isinstance(exc, socket.gaierror):
            return f"cannot resolve host: {exc.strerror or exc}"
        if isinstance(exc, TimeoutError):
            return "timed out"
        return exc.strerror or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {exc}"


def _leaf(exc: BaseException) -> BaseException:
    """The first interesting exception inside (possibly nested) exception groups."""
    # Duck-typed so it also works on 3.10 (exceptiongroup backport).
    group = getattr(exc, "exceptions", None)
    while isinstance(group, tuple) and group:
        # Prefer a real error over cancellations that merely accompanied it.
        exc = next((e for e in group if not _is_cancellation(e)), group[0])
        group = getattr(exc, "exceptions", None)
    return exc


def _is_cancellation(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in ("Cancelled", "CancelledError")


def _missing_extra() -> str | None:
    """What to install when the anyio extra is missing (every subcommand runs on anyio)."""
    try:
        import anyio  # noqa: F401
    except ImportError:
        return "the oairt command needs the anyio extra: pip install 'oairt[anyio]'"
    return None


def _dispatch(args: argparse.Namespace, output: Output) -> int:
    command: str = args.command
    if command == "demo":
        from .demo import run_demo

        return run_demo(args, output)
    if command == "chat":
        from .chat import run_chat

        return run_chat(args, output)
    if command == "voice":
        from .voice import run_voice

        return run_voice(args, output)
    if command == "fake-server":
        from .server import run_fake_server_command

        return run_fake_server_command(args, output)
    if command == "replay":
        from .replay import run_replay

        return run_replay(args, output)
    if command == "twilio-bridge":
        from .twilio import run_twilio_bridge_command

        return run_twilio_bridge_command(args, output)
    raise CliError(f"unknown command {command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``oairt`` console script; returns the exit status."""
    missing = _missing_extra()
    if missing is not None:
        sys.stderr.write(f"oairt: error: {missing}\n")
        return EXIT_ERROR
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    output = Output(json_mode=bool(getattr(args, "json", False)), quiet=bool(args.quiet))
    try:
        return _dispatch(args, output)
    except KeyboardInterrupt:
        sys.stderr.write("oairt: interrupted\n")
        return EXIT_INTERRUPTED
    except BaseException as exc:  # noqa: BLE001 - the one place that turns errors into a line
        leaf = _leaf(exc)
        if is_interrupt(leaf):
            sys.stderr.write("oairt: interrupted\n")
            return EXIT_INTERRUPTED
        if isinstance(leaf, BrokenPipeError):
            # The reader went away (`oairt ... | head`): stop quietly, like other tools.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return EXIT_ERROR
        if isinstance(leaf, SystemExit):
            code = leaf.code
            return code if isinstance(code, int) else EXIT_ERROR
        if os.environ.get("OAIRT_DEBUG"):
            raise
        message = redact_text(_describe_exception(leaf)).replace("\n", " ")
        if isinstance(leaf, (OairtError, OSError)):
            sys.stderr.write(f"oairt: error: {message}\n")
            return EXIT_ERROR
        sys.stderr.write(f"oairt: internal error: {message} (set OAIRT_DEBUG=1 for details)\n")
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
