"""Client events in: strict checks (SDK schema, value rules, oairt's codec) and dispatch.

An event that fails a check is answered with an ``error`` event echoing its ``event_id`` and
recorded as a :class:`~oairt_core.testing.server.Violation`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from .._validation import validate_client_event
from ..codec import decode_client_event
from ..errors import InvalidClientEvent, RemoteProtocolError
from ._strict import Problem, check_client_event
from ._turns import _Turns
from ._wire import _ApiError

if TYPE_CHECKING:
    from .server import FakeRealtimeServer


class _Events(_Turns):
    """Client events in: checked strictly, then dispatched to the ``_on_<type>`` handlers."""

    def _on_open(self) -> None:
        from .recording import ReplayScript  # local: recording imports this module

        if isinstance(self.service.script, ReplayScript):
            self._replay = self.service.script.start(cast("FakeRealtimeServer", self))
            return
        self._start_session()

    def _on_text(self, text: str) -> None:
        if self._closing_deadline is not None:
            return  # we are closing: late client frames are dropped, as after a close frame
        if self.recorder is not None:
            self.recorder.record("client", text, self._now)
        try:
            event = json.loads(text)
        except (ValueError, RecursionError):  # too deep is bad JSON too, not a fake's bug
            self._client_error(
                _ApiError(
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)",
                    code="invalid_json",
                ),
                None,
                None,
            )
            return
        if not isinstance(event, dict):
            self._client_error(_ApiError("Expected an object.", code="invalid_event"), None, None)
            return
        if self.service.history:
            self.received_events.append(event)
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        etype = event.get("type") if isinstance(event.get("type"), str) else None
        problems = check_client_event(event)
        if not problems:
            problems = _semantic_problems(event)
        if not problems:
            problems = _library_problems(text)
        if problems:
            p = problems[0]
            self._client_error(_ApiError(p.message, code=p.code, param=p.param), event_id, etype)
            return
        if self._replay is not None:
            self._replay.on_client_event(event, self._now)
            return
        handler = getattr(self, "_on_" + str(etype).replace(".", "_"))
        try:
            handler(event)
        except _ApiError as err:
            self._client_error(err, event_id, etype)


def _library_problems(text: str) -> list[Problem]:
    """The GA rules as oairt's own codec and validator state them.

    The strict schema check above has passed, so a decode failure here means oairt's codec
    disagrees with the official SDK models; it is reported like any invalid event so the
    disagreement cannot go unnoticed.
    """
    try:
        validate_client_event(decode_client_event(text))
    except InvalidClientEvent as exc:
        return [Problem("invalid_value", f"Invalid '{exc.field}': {exc.rule}.", exc.field)]
    except RemoteProtocolError as exc:
        return [Problem("invalid_event", str(exc), None)]
    return []


def _semantic_problems(event: dict[str, Any]) -> list[Problem]:
    """Value rules the schema cannot express (ranges, exclusive choices)."""
    out: list[Problem] = []

    def bad(param: str, msg: str) -> None:
        out.append(Problem("invalid_value", msg, param))

    def between(obj: Mapping[str, Any], key: str, lo: float, hi: float, where: str) -> None:
        v = obj.get(key)
        if isinstance(v, (int, float)) and not lo <= v <= hi:
            bad(f"{where}.{key}", f"Invalid '{key}': {v} is not between {lo:g} and {hi:g}.")

    def check_session_like(obj: Mapping[str, Any], prefix: str) -> None:
        mods = obj.get("output_modalities")
        if isinstance(mods, list) and len(mods) > 1:
            bad(
                f"{prefix}.output_modalities",
                "Invalid 'output_modalities': only one of 'audio' or 'text' may be requested.",
            )
        mot = obj.get("max_output_tokens")
        if isinstance(mot, int) and not isinstance(mot, bool) and not 1 <= mot <= 4096:
            bad(
                f"{prefix}.max_output_tokens",
                f"Invalid 'max_output_tokens': integer must be between 1 and 4096, got {mot}.",
            )
        audio = obj.get("audio")
        if isinstance(audio, dict):
            o = audio.get("output")
            if isinstance(o, dict):
                between(o, "speed", 0.25, 1.5, f"{prefix}.audio.output")
            i = audio.get("input")
            if isinstance(i, dict):
                td = i.get("turn_detection")
                if isinstance(td, dict):
                    between(td, "threshold", 0.0, 1.0, f"{prefix}.audio.input.turn_detection")
                    for k in ("prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms"):
                        v = td.get(k)
                        if isinstance(v, int) and v < 0:
                            bad(
                                f"{prefix}.audio.input.turn_detection.{k}",
                                f"Invalid '{k}': must be non-negative.",
                            )
        md = obj.get("metadata")
        if isinstance(md, dict):
            if len(md) > 16:
                bad(f"{prefix}.metadata", "Invalid 'metadata': at most 16 key-value pairs.")
            for k, v in md.items():
                if len(str(k)) > 64 or (isinstance(v, str) and len(v) > 512):
                    bad(
                        f"{prefix}.metadata",
                        "Invalid 'metadata': keys up to 64 and values up to 512 characters.",
                    )
                    break

    t = event.get("type")
    if t == "input_audio_buffer.append":
        try:
            base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            bad("audio", "Invalid 'audio'. Expected base64-encoded audio data.")
    elif t == "session.update":
        check_session_like(event["session"], "session")
    elif t == "response.create" and isinstance(event.get("response"), dict):
        check_session_like(event["response"], "response")
    elif t == "conversation.item.truncate" and event["audio_end_ms"] < 0:
        bad("audio_end_ms", "Invalid 'audio_end_ms': must be non-negative.")
    return out
