"""``oairt replay FILE``: a recorded session (JSON Lines) as a readable timeline.

Each line of a recording is one JSON object. The replayer is lenient about the
exact layout so recordings from other tools work too: it looks for a timestamp
(``t``/``ts``/``time``/``elapsed``), a direction (``dir``/``direction``/``from``/``source``)
and the event itself (``event``/``data``/``message``/``frame``, an object or a JSON
string), falling back to the line itself when it carries a ``type``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from oairt_core._redact import redact_text

from . import CliError, Output

__all__ = ["TimelineEntry", "read_recording", "run_replay", "summarise_event"]

_TIME_KEYS = ("t", "ts", "time", "elapsed", "at", "timestamp")
_DIR_KEYS = ("dir", "direction", "from", "source", "side", "origin")
_EVENT_KEYS = ("event", "data", "message", "frame", "payload", "json", "text")

_CLIENT = {"client", "in", "c2s", "recv", "received", "client->server", "up", "rx"}
_SERVER = {"server", "out", "s2c", "send", "sent", "server->client", "down", "tx"}


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a recording, normalised."""

    line: int
    t: float | None
    who: str  # "client", "server", "note"
    type: str
    event: dict[str, Any] | None
    note: str = ""
    session: int | None = None
    """The session number in a multi-session recording (``oairt fake-server --record``)."""


def _parse_event(value: Any) -> dict[str, Any] | None:
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the stack
            return None
        return decoded if isinstance(decoded, dict) else None
    return None


def _who(record: dict[str, Any], event: dict[str, Any] | None) -> str:
    for key in _DIR_KEYS:
        v = record.get(key)
        if isinstance(v, str):
            low = v.lower()
            if low in _CLIENT or low.startswith("client"):
                return "client"
            if low in _SERVER or low.startswith("server"):
                return "server"
            return low
    etype = (event or {}).get("type", "")
    if isinstance(etype, str) and etype:
        from_client = etype in _CLIENT_TYPES
        return "client" if from_client else "server"
    return "note"


_CLIENT_TYPES = frozenset(
    {
        "conversation.item.create",
        "conversation.item.delete",
        "conversation.item.retrieve",
        "conversation.item.truncate",
        "input_audio_buffer.append",
        "input_audio_buffer.clear",
        "output_audio_buffer.clear",
        "input_audio_buffer.commit",
        "response.cancel",
        "response.create",
        "session.update",
    }
)


def read_recording(path: str) -> Iterator[TimelineEntry]:
    """Yield the entries of a JSONL recording; a malformed line raises :class:`CliError`."""
    try:
        fh = open(path, encoding="utf-8")  # noqa: SIM115 - closed below, generator
    except FileNotFoundError:
        raise CliError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise CliError(f"{path} is a directory, not a recording") from None
    with fh:
        try:
            yield from _entries(path, fh)
        except UnicodeDecodeError:
            raise CliError(f"{path}: not a recording (binary data, not JSON Lines)") from None


def _entries(path: str, fh: Any) -> Iterator[TimelineEntry]:
    for lineno, raw in enumerate(fh, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            raise CliError(f"{path}:{lineno}: not a JSON line") from None
        if not isinstance(record, dict):
            raise CliError(f"{path}:{lineno}: expected a JSON object")
        session = record.get("session")
        if not isinstance(session, int) or isinstance(session, bool):
            session = None
        event: dict[str, Any] | None = None
        for key in _EVENT_KEYS:
            if key in record:
                event = _parse_event(record[key])
                if event is not None:
                    break
        if event is None and isinstance(record.get("type"), str):
            event = record
        if "oairt_recording" in record:
            meta = record.get("meta") or {}
            text = ", ".join(f"{k}={v}" for k, v in meta.items()) if isinstance(meta, dict) else ""
            if session is not None:
                text = f"session {session}" + (f": {text}" if text else "")
            yield TimelineEntry(lineno, None, "note", "recording", None, text, session)
            continue
        t: float | None = None
        for key in _TIME_KEYS:
            v = record.get(key)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                t = float(v)
                break
        who = _who(record, event)
        if event is not None:
            etype, note = str(event.get("type", "?")), ""
        elif isinstance(record.get("raw"), str):
            etype, note = "(not JSON)", repr(record["raw"][:60])
        else:
            etype = str(record.get("kind", "note"))
            note = str(record.get("note") or record.get("msg") or record)
        yield TimelineEntry(lineno, t, who, etype, event, note, session)


def summarise_event(event: dict[str, Any]) -> str:
    """A short human description of one event's interesting fields."""
    etype = event.get("type", "")
    parts: list[str] = []
    for key in ("delta", "audio"):
        v = event.get(key)
        if isinstance(v, str) and etype.endswith(("audio.delta", "append")):
            # Recordings may blank audio payloads to keep files small.
            parts.append(f"{len(v) * 3 // 4} bytes of audio" if v else "audio (not recorded)")
        elif isinstance(v, str):
            parts.append(repr(v if len(v) <= 60 else v[:57] + "..."))
    for key in ("transcript", "text", "arguments", "name", "call_id", "audio_end_ms"):
        v = event.get(key)
        if v is not None and v != "":
            s = str(v)
            parts.append(f"{key}={s if len(s) <= 60 else s[:57] + '...'}")
    response = event.get("response")
    if isinstance(response, dict) and response.get("status"):
        parts.append(f"status={response['status']}")
    error = event.get("error")
    if isinstance(error, dict):
        parts.append(f"{error.get('type', 'error')}: {error.get('message', '')}")
    item = event.get("item")
    if isinstance(item, dict) and item.get("type"):
        role = item.get("role")
        parts.append(f"item={item['type']}" + (f"/{role}" if role else ""))
    return redact_text(" ".join(parts))


def run_replay(args: argparse.Namespace, out: Output) -> int:
    entries = list(read_recording(args.file))
    if not entries:
        raise CliError(f"{args.file}: the recording is empty")
    # Times count from the first entry of each session (a multi-session file has several).
    t0: dict[int | None, float] = {}
    for e in entries:
        if e.t is not None:
            t0.setdefault(e.session, e.t)
    counts: dict[str, int] = {}
    for e in entries:
        counts[e.who] = counts.get(e.who, 0) + 1
        start = t0.get(e.session)
        rel = (e.t - start) if (e.t is not None and start is not None) else None
        when = f"{rel:9.3f}s" if rel is not None else " " * 10
        arrow = {"client": "client ->", "server": "<- server"}.get(e.who, f"{e.who:>9}")
        detail = summarise_event(e.event) if e.event else e.note
        text = f"{when}  {arrow}  {e.type}" + (f"  {detail}" if detail else "")
        fields: dict[str, Any] = {"line": e.line, "t": rel, "who": e.who, "type": e.type}
        if e.session is not None:
            fields["session"] = e.session
        if e.event is not None:
            fields["summary"] = detail
        out.event("timeline", text, **fields)
    summary = ", ".join(f"{n} {who}" for who, n in sorted(counts.items()))
    out.event("summary", f"{len(entries)} entries ({summary})", entries=len(entries), **counts)
    return 0
