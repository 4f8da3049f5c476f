"""Record a Realtime session to JSON Lines, and replay a recording as the server side of a test.

The format: a header line, then one line per WebSocket text frame::

    {"oairt_recording": 1, "meta": {...}}
    {"t": 0.0, "dir": "server", "frame": {"type": "session.created", ...}}
    {"t": 0.013, "dir": "client", "frame": {"type": "session.update", ...}}

``t`` is seconds since the recording started, ``dir`` who sent the frame. A frame that is not
JSON is kept as ``"raw"`` text instead of ``"frame"``. A file may hold several sessions (the
fake server records every connection to one file): then the header and every line carry a
``"session"`` number, and :func:`load_recordings` returns one :class:`Recording` each. Files
without the field are one session. Every string is passed through
:func:`oairt_core._redact.redact_text`, so keys and client secrets never reach the file.

>>> rec = Recorder(meta={"model": "gpt-realtime"})
>>> rec.record("client", '{"type":"input_audio_buffer.clear","event_id":"e1"}', now=10.0)
>>> rec.record("server", '{"type":"input_audio_buffer.cleared","event_id":"s1"}', now=10.25)
>>> [(f.t, f.dir, f.type) for f in loads_recording(rec.dumps()).frames]
[(0.0, 'client', 'input_audio_buffer.clear'), (0.25, 'server', 'input_audio_buffer.cleared')]
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .._redact import REDACTED, redact_text

if TYPE_CHECKING:
    from .server import FakeRealtimeServer

__all__ = [
    "RecordedFrame",
    "Recorder",
    "Recording",
    "ReplayScript",
    "ReplaySession",
    "load_recording",
    "load_recordings",
    "loads_recording",
    "loads_recordings",
]

Direction = Literal["client", "server"]


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, list):
        return [_redact(v) for v in value]
    if isinstance(value, dict):
        is_mcp_tool = value.get("type") == "mcp"
        out: dict[str, Any] = {}
        for k, v in value.items():
            # An MCP tool's OAuth token and extra headers are credentials of any shape (no
            # sk-/ek_ prefix to spot), so they are masked by position, not by pattern.
            if is_mcp_tool and k == "authorization" and isinstance(v, str):
                out[k] = REDACTED
            elif is_mcp_tool and k == "headers" and isinstance(v, dict):
                out[k] = {name: REDACTED for name in v}
            else:
                out[k] = _redact(v)
        return out
    return value


def _strip_audio(value: Any) -> Any:
    """Blank audio payloads: ``audio`` fields and the ``delta`` of output audio deltas."""
    if isinstance(value, list):
        return [_strip_audio(v) for v in value]
    if isinstance(value, dict):
        is_audio_delta = str(value.get("type", "")).endswith("output_audio.delta")
        return {
            k: "" if k == "audio" or (k == "delta" and is_audio_delta) else _strip_audio(v)
            for k, v in value.items()
        }
    return value


@dataclass(frozen=True)
class RecordedFrame:
    t: float
    dir: Direction
    frame: dict[str, Any] | None
    raw: str | None = None

    @property
    def type(self) -> str:
        if self.frame is not None:
            return str(self.frame.get("type", ""))
        return ""


@dataclass
class Recording:
    """One recorded session: its header's ``meta`` and its frames in order."""

    meta: dict[str, Any] = field(default_factory=dict)
    frames: list[RecordedFrame] = field(default_factory=list)
    session: int | None = None
    """The session number in a multi-session file (``None`` in a single-session file)."""

    def types(self, direction: Direction | None = None) -> list[str]:
        return [f.type for f in self.frames if direction is None or f.dir == direction]


class Recorder:
    """Collects frames in memory (sans-IO); ``dumps()`` gives the JSONL text.

    ``keep_audio=False`` blanks audio payloads (smaller files; replay then only checks that
    audio was sent, not how much). ``session`` tags every line with a session number, so
    several recordings can share one file (see :func:`loads_recordings`).
    """

    def __init__(
        self,
        *,
        meta: dict[str, Any] | None = None,
        keep_audio: bool = True,
        start: float | None = None,
        clock: Callable[[], float] | None = None,
        session: int | None = None,
    ) -> None:
        self.meta = _redact(dict(meta or {}))
        self.session = session
        self.keep_audio = keep_audio
        self._start = start
        self._clock = clock
        self.frames: list[RecordedFrame] = []

    def on_message(self, direction: str, text: str) -> None:
        """Adapter hook: ``open_realtime(on_message=Recorder(clock=...).on_message)``.

        Needs the ``clock`` given at construction (the adapter's monotonic clock).
        """
        if self._clock is None:
            raise ValueError("Recorder.on_message needs Recorder(clock=...)")
        self.record("client" if direction == "client" else "server", text, self._clock())

    def record(self, direction: Direction, raw: str | bytes, now: float) -> None:
        """Add one frame as sent or received at time ``now`` (seconds, any epoch)."""
        if self._start is None:
            self._start = now
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        t = round(max(0.0, now - self._start), 6)
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):  # kept as raw text; the session must go on
            obj = None
        if isinstance(obj, dict):
            if not self.keep_audio:
                obj = _strip_audio(obj)
            self.frames.append(RecordedFrame(t, direction, _redact(obj)))
        else:
            self.frames.append(RecordedFrame(t, direction, None, redact_text(text)))

    def recording(self) -> Recording:
        return Recording(dict(self.meta), list(self.frames), self.session)

    def dumps(self) -> str:
        tag: dict[str, Any] = {} if self.session is None else {"session": self.session}
        header = {"oairt_recording": 1, **tag, "meta": self.meta}
        lines = [json.dumps(header, separators=(",", ":"))]
        for f in self.frames:
            line: dict[str, Any] = {**tag, "t": f.t, "dir": f.dir}
            if f.frame is not None:
                line["frame"] = f.frame
            else:
                line["raw"] = f.raw
            lines.append(json.dumps(line, separators=(",", ":")))
        return "\n".join(lines) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the JSONL file (a convenience for adapters and tests)."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.dumps())


def loads_recordings(text: str) -> list[Recording]:
    """Every session in JSONL recording text, in the order they first appear.

    Lines are grouped by their ``"session"`` field; a file without it is one session.

    >>> a, b = Recorder(session=1), Recorder(session=2)
    >>> a.record("client", '{"type":"response.create"}', now=0.0)
    >>> b.record("client", '{"type":"input_audio_buffer.clear"}', now=0.0)
    >>> [(r.session, r.types()) for r in loads_recordings(a.dumps() + b.dumps())]
    [(1, ['response.create']), (2, ['input_audio_buffer.clear'])]
    """
    sessions: dict[Any, Recording] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"recording line {n}: not JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"recording line {n}: expected an object")
        key = obj.get("session")
        if key is not None and (not isinstance(key, int) or isinstance(key, bool)):
            raise ValueError(f"recording line {n}: 'session' must be an integer")
        rec = sessions.get(key)
        if rec is None:
            rec = sessions[key] = Recording(session=key)
        if "oairt_recording" in obj:
            rec.meta = dict(obj.get("meta") or {})
            continue
        d = obj.get("dir")
        if d not in ("client", "server"):
            raise ValueError(f"recording line {n}: 'dir' must be 'client' or 'server'")
        frame = obj.get("frame")
        raw = obj.get("raw")
        if frame is not None and not isinstance(frame, dict):
            raise ValueError(f"recording line {n}: 'frame' must be an object")
        rec.frames.append(RecordedFrame(float(obj.get("t", 0.0)), d, frame, raw))
    return list(sessions.values())


def loads_recording(text: str, *, session: int | None = None) -> Recording:
    """One session of JSONL recording text (the header line is optional).

    ``session`` picks one of a multi-session file; by default the first session is returned.
    """
    recordings = loads_recordings(text)
    if session is None:
        return recordings[0] if recordings else Recording()
    for rec in recordings:
        if rec.session == session:
            return rec
    found = [r.session for r in recordings]
    raise ValueError(f"no session {session} in the recording (sessions: {found})")


def load_recording(path: str | os.PathLike[str], *, session: int | None = None) -> Recording:
    """:func:`loads_recording` of a file."""
    with open(path, encoding="utf-8") as fh:
        return loads_recording(fh.read(), session=session)


def load_recordings(path: str | os.PathLike[str]) -> list[Recording]:
    """:func:`loads_recordings` of a file."""
    with open(path, encoding="utf-8") as fh:
        return loads_recordings(fh.read())


# --------------------------------------------------------------------------- replay

DEFAULT_IGNORE = frozenset({"event_id"})


class ReplayScript:
    """Use a recording as the server: pass it as ``script=`` to the fake server.

    The recorded server frames are sent verbatim; each client event is compared with the
    recorded one (same type in order, same fields ignoring ``event_id`` and audio payload
    bytes). Audio appends are matched by amount, not by count, so a client may chunk audio
    differently; a server frame recorded after some audio is sent once the client has sent as
    much. Mismatches become ``Violation(code="replay_mismatch")`` in ``server.violations``.
    With ``pacing="realtime"`` server frames keep their recorded spacing.
    """

    def __init__(
        self,
        recording: Recording | str | os.PathLike[str],
        *,
        ignore: frozenset[str] | set[str] = DEFAULT_IGNORE,
    ) -> None:
        self.recording = (
            recording if isinstance(recording, Recording) else load_recording(recording)
        )
        self.ignore = frozenset(ignore)
        self.sessions: list[ReplaySession] = []

    def start(self, server: FakeRealtimeServer) -> ReplaySession:
        session = ReplaySession(self, server)
        self.sessions.append(session)
        session.advance(server._now)
        return session


def _append_len(frame: RecordedFrame) -> int | None:
    """Decoded audio length if the frame is an input_audio_buffer.append, else None."""
    if frame.frame is None or frame.frame.get("type") != "input_audio_buffer.append":
        return None
    try:
        return len(base64.b64decode(str(frame.frame.get("audio", "")), validate=True))
    except (binascii.Error, ValueError):
        return 0


class ReplaySession:
    """One connection replaying a recording."""

    def __init__(self, script: ReplayScript, server: FakeRealtimeServer) -> None:
        self.script = script
        self.server = server
        self.frames = script.recording.frames
        self.pos = 0
        self._client_audio = 0
        self._recorded_audio = 0
        self._anchor_t = 0.0  # recorded time of the last matched client frame
        self._anchor_now = server._now
        self._deadline: float | None = None

    @property
    def finished(self) -> bool:
        """Every recorded frame was sent or matched."""
        return self.pos >= len(self.frames)

    @property
    def remaining(self) -> list[RecordedFrame]:
        return self.frames[self.pos :]

    def next_deadline(self) -> float | None:
        return self._deadline

    def _mismatch(self, message: str, param: str | None, event: dict[str, Any] | None) -> None:
        from .server import Violation

        etype = event.get("type") if event else None
        eid = event.get("event_id") if event else None
        self.server.violations.append(
            Violation(
                "replay_mismatch",
                message,
                param,
                eid if isinstance(eid, str) else None,
                etype if isinstance(etype, str) else None,
            )
        )

    def advance(self, now: float) -> None:
        self._deadline = None
        realtime = self.server.service.pacing == "realtime"
        while self.pos < len(self.frames) and not self.server.closed:
            f = self.frames[self.pos]
            if f.dir == "server":
                if realtime:
                    due = self._anchor_now + (f.t - self._anchor_t)
                    if due > now:
                        self._deadline = due
                        return
                if f.frame is not None:
                    self.server._emit_raw_event(json.dumps(f.frame, separators=(",", ":")))
                else:
                    self.server.send_raw(f.raw or "")
                self.pos += 1
                continue
            n = _append_len(f)
            if n is not None and self._client_audio >= self._recorded_audio + n:
                self._recorded_audio += n
                self.pos += 1
                continue
            return

    def _flush_server_frames(self) -> None:
        while self.pos < len(self.frames) and self.frames[self.pos].dir == "server":
            f = self.frames[self.pos]
            if f.frame is not None:
                self.server._emit_raw_event(json.dumps(f.frame, separators=(",", ":")))
            else:
                self.server.send_raw(f.raw or "")
            self.pos += 1

    def on_client_event(self, event: dict[str, Any], now: float) -> None:
        if event.get("type") == "input_audio_buffer.append":
            try:
                self._client_audio += len(base64.b64decode(str(event.get("audio", ""))))
            except (binascii.Error, ValueError):
                pass
            self.advance(now)
            return
        # Audio the client did not send (or chunked differently) stays unmatched: skip it.
        self._flush_server_frames()
        while self.pos < len(self.frames) and _append_len(self.frames[self.pos]) is not None:
            self._recorded_audio += _append_len(self.frames[self.pos]) or 0
            self.pos += 1
            self._flush_server_frames()
        if self.pos >= len(self.frames):
            self._mismatch(
                f"unexpected client event {event.get('type')!r}: the recording has ended",
                "type",
                event,
            )
            return
        expected = self.frames[self.pos]
        if expected.frame is None:
            self._mismatch("expected a non-JSON client frame", None, event)
        else:
            # The recording holds redacted text: compare with the event redacted the same way.
            diffs = _diff(expected.frame, _redact(event), "", self.script.ignore)
            if diffs:
                path, want, got = diffs[0]
                self._mismatch(
                    f"client event differs from the recording at '{path or 'type'}': "
                    f"expected {want!r}, got {got!r}",
                    path or "type",
                    event,
                )
        self.pos += 1
        self._anchor_t = expected.t
        self._anchor_now = now
        self.advance(now)


_MISSING = object()


def _diff(want: Any, got: Any, path: str, ignore: frozenset[str]) -> list[tuple[str, Any, Any]]:
    if isinstance(want, dict) and isinstance(got, dict):
        if want.get("type") != got.get("type"):
            return [(path + ("." if path else "") + "type", want.get("type"), got.get("type"))]
        out: list[tuple[str, Any, Any]] = []
        for k in sorted(set(want) | set(got)):
            if k in ignore or k == "audio":
                continue
            p = f"{path}.{k}" if path else k
            w, g = want.get(k, _MISSING), got.get(k, _MISSING)
            if w is _MISSING or g is _MISSING:
                out.append((p, None if w is _MISSING else w, None if g is _MISSING else g))
            else:
                out.extend(_diff(w, g, p, ignore))
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [(path, f"{len(want)} items", f"{len(got)} items")]
        out = []
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            out.extend(_diff(w, g, f"{path}[{i}]", ignore))
        return out
    return [] if want == got else [(path, want, got)]
