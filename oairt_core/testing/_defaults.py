"""The sessions a new connection starts with, and how ``session.update`` merges into them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ._client_schema import MODELS

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "KNOWN_MODELS",
    "default_session",
    "default_transcription_session",
]


def _sdk_model_names() -> frozenset[str]:
    """The model names the official SDK lists for a realtime session (the generated schema)."""
    spec = MODELS["realtime_session_create_request:RealtimeSessionCreateRequest"]["model"][1]
    return frozenset(
        str(name)
        for alt in spec[1:]
        if isinstance(alt, list) and alt[0] == "lit"
        for name in alt[1:]
    )


KNOWN_MODELS = _sdk_model_names()
"""The models an upgrade's ``?model=`` may name: the SDK's list, regenerated with it."""

DEFAULT_INSTRUCTIONS = (
    "Your knowledge cutoff is 2023-10. You are a helpful, witty, and friendly AI. Act like a "
    "human, but remember that you aren't a human and that you can't do human things in the "
    "real world. Your voice and personality should be warm and engaging, with a lively and "
    "playful tone."
)


def _server_vad() -> dict[str, Any]:
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


def _semantic_vad() -> dict[str, Any]:
    return {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    }


def default_session(model: str, session_id: str, expires_at: int) -> dict[str, Any]:
    """The session the real server reports in ``session.created`` for a realtime session."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": session_id,
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": _server_vad(),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "alloy",
                "speed": 1.0,
            },
        },
        "include": None,
    }


def default_transcription_session(session_id: str, expires_at: int) -> dict[str, Any]:
    """The session a transcription (``intent=transcription``) connection starts with."""
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": session_id,
        "expires_at": expires_at,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {
                    "model": "gpt-4o-mini-transcribe",
                    "language": None,
                    "prompt": "",
                },
                "noise_reduction": None,
                "turn_detection": _server_vad(),
            }
        },
        "include": None,
    }


_REPLACE_WHOLE = {
    "turn_detection",
    "format",
    "transcription",
    "noise_reduction",
    "tracing",
    "prompt",
    "truncation",
    "voice",
}


def _merge_session(session: dict[str, Any], update: Mapping[str, Any]) -> None:
    """Apply a ``session.update``: only the fields sent change; ``null`` clears an object."""
    for key, value in update.items():
        if key == "turn_detection" and isinstance(value, dict):
            base = _semantic_vad() if value.get("type") == "semantic_vad" else _server_vad()
            base.update(value)
            session[key] = base
        elif key == "noise_reduction" and isinstance(value, dict):
            session[key] = {"type": value.get("type", "near_field"), **value}
        elif (
            isinstance(value, dict)
            and isinstance(session.get(key), dict)
            and key not in _REPLACE_WHOLE
        ):
            _merge_session(session[key], value)
        else:
            session[key] = copy.deepcopy(value)


def _merge_bound_config(session: dict[str, Any], bound: Mapping[str, Any]) -> None:
    """Start ``session`` from a config the REST side holds (a client secret's, a call's).

    The REST fake fills such a config in key by key, so it can carry leftovers the real server
    never shows: a PCM ``rate`` under a G.711 format, server-VAD settings under
    ``semantic_vad``. Only the fields of each format's and turn detection's own type are kept.
    """
    server_fields = ("id", "object", "expires_at", "client_secret")
    _merge_session(session, {k: v for k, v in bound.items() if k not in server_fields})
    audio = session.get("audio")
    for part in audio.values() if isinstance(audio, dict) else ():
        if not isinstance(part, dict):
            continue
        fmt = part.get("format")
        if isinstance(fmt, dict) and fmt.get("type") != "audio/pcm":
            part["format"] = {"type": fmt.get("type")}
        td = part.get("turn_detection")
        if isinstance(td, dict):
            own = _semantic_vad() if td.get("type") == "semantic_vad" else _server_vad()
            part["turn_detection"] = {k: v for k, v in td.items() if k in own}
