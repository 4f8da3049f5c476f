"""Session state of a fake-server connection: ``session.created`` and ``session.update``."""

from __future__ import annotations

import copy
from typing import Any

from . import _audio
from ._defaults import (
    _merge_bound_config,
    _merge_session,
    default_session,
    default_transcription_session,
)
from ._items import _Conversation, _Item
from ._wire import _ApiError
from .script import Script
from .vad import semantic_silence_ms

SESSION_TTL_S = 3600
"""The GA server's maximum session duration (the default of ``max_session_seconds``)."""


def session_expired_message(limit_s: float) -> str:
    """The text of the server's ``session_expired`` error for a limit of ``limit_s`` seconds.

    >>> session_expired_message(3600)
    'Your session hit the maximum duration of 60 minutes.'
    >>> session_expired_message(2.5)
    'Your session hit the maximum duration of 2.5 seconds.'
    """
    if limit_s >= 60 and limit_s % 60 == 0:
        return f"Your session hit the maximum duration of {int(limit_s // 60)} minutes."
    return f"Your session hit the maximum duration of {limit_s:g} seconds."


class _Session(_Conversation):
    """The session: its start (defaults, or a client secret's / accepted call's config),
    ``session.update`` and the VAD settings that follow from it."""

    # When the session hits its maximum duration (adapter time, like every deadline).
    _expire_deadline: float | None = None

    def _start_session(self) -> None:
        """Build the initial session and send ``session.created``."""
        limit = self.service.max_session_seconds
        # expires_at is wall-clock (unix seconds); the deadline itself runs on adapter time.
        expires = int(self.service.clock() + limit)
        self._expire_deadline = self._now + limit
        sid = self._new_id("sess")
        if self.query.get("intent") == "transcription":
            self.session = default_transcription_session(sid, expires)
        else:
            model = self.query.get("model") or getattr(self.service.rest, "default_model", None)
            self.session = default_session(model or "gpt-realtime", sid, expires)
            bound = self._bound_config()
            if bound is not None:
                _merge_bound_config(self.session, bound)
        self._configure_vad()
        self._emit({"type": "session.created", "session": copy.deepcopy(self.session)})

    def _expire_session(self) -> None:
        """The GA cap: an ``error`` (``session_expired``), then close 1001 with that text."""
        self._expire_deadline = None
        message = session_expired_message(self.service.max_session_seconds)
        self._emit(
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "code": "session_expired",
                    "message": message,
                    "param": None,
                    "event_id": None,
                },
            }
        )
        self.close(1001, message)

    def _bound_config(self) -> dict[str, Any] | None:
        """The session config this connection is bound to by the REST side, if any.

        A sideband (``?call_id=``) connection controls the session its call was accepted (SIP)
        or created (WebRTC) with; an ``ek_`` client secret carries the config it was minted with.
        """
        rest = self.service.rest
        if self.sideband:
            calls = getattr(rest, "calls", None)
            call = calls.get(self.query.get("call_id")) if isinstance(calls, dict) else None
            bound = getattr(call, "session", None)
        else:
            secret_session = getattr(rest, "client_secret_session", None)
            bound = secret_session(self._token) if secret_session is not None else None
        return bound if isinstance(bound, dict) else None

    def _on_session_update(self, event: dict[str, Any]) -> None:
        upd: dict[str, Any] = event["session"]
        if upd.get("type") != self.session.get("type"):
            raise _ApiError(
                f"Cannot update session type from '{self.session.get('type')}' to "
                f"'{upd.get('type')}'.",
                code="invalid_value",
                param="session.type",
            )
        if "model" in upd and upd["model"] != self.session.get("model"):
            raise _ApiError(
                "Cannot update a session's model.", code="invalid_value", param="session.model"
            )
        new_voice = (
            upd.get("audio", {}).get("output", {}) if isinstance(upd.get("audio"), dict) else {}
        )
        if (
            isinstance(new_voice, dict)
            and "voice" in new_voice
            and self._audio_started
            and new_voice["voice"] != self.session["audio"]["output"].get("voice")
        ):
            raise _ApiError(
                "Cannot update a conversation's voice if assistant audio is present.",
                code="cannot_update_voice",
                param="session.audio.output.voice",
            )
        tracing = self.session.get("tracing")
        if "tracing" in upd and tracing is not None and upd["tracing"] != tracing:
            raise _ApiError(
                "Tracing cannot be modified once it is enabled.",
                code="invalid_value",
                param="session.tracing",
            )
        old_tools = {
            t.get("server_label") for t in self.session.get("tools") or [] if t.get("type") == "mcp"
        }
        _merge_session(self.session, upd)
        self._configure_vad()
        self._emit({"type": "session.updated", "session": copy.deepcopy(self.session)})
        for tool in self.session.get("tools") or []:
            if tool.get("type") == "mcp" and tool.get("server_label") not in old_tools:
                self._list_mcp_tools_for_session(tool)

    def _list_mcp_tools_for_session(self, tool: dict[str, Any]) -> None:
        """The real server lists an MCP server's tools when the session gains it."""
        label = str(tool.get("server_label"))
        script = self.service.script
        tools = script.mcp_servers.get(label, []) if isinstance(script, Script) else []
        item: dict[str, Any] = {
            "type": "mcp_list_tools",
            "id": self._new_id("mcpl"),
            "server_label": label,
            "tools": [],
        }
        prev = self._last_item_id()
        self.conversation.append(_Item(dict(item)))
        self._emit(
            {"type": "conversation.item.added", "previous_item_id": prev, "item": dict(item)}
        )
        self._emit({"type": "mcp_list_tools.in_progress", "item_id": item["id"]})
        self._emit({"type": "mcp_list_tools.completed", "item_id": item["id"]})
        item["tools"] = [dict(t) for t in tools]
        self.conversation[-1].data = dict(item)
        self._emit({"type": "conversation.item.done", "previous_item_id": prev, "item": dict(item)})

    def _configure_vad(self) -> None:
        td = self._turn_detection()
        fmt = self._input_format()
        self._vad.set_rate(_audio.input_rate(fmt))
        if td is None:
            return
        if td.get("type") == "semantic_vad":
            self._vad.configure(
                threshold=0.5,
                prefix_padding_ms=300,
                silence_duration_ms=semantic_silence_ms(str(td.get("eagerness") or "auto")),
            )
        else:
            self._vad.configure(
                threshold=float(
                    td.get("threshold", 0.5) if td.get("threshold") is not None else 0.5
                ),
                prefix_padding_ms=int(td.get("prefix_padding_ms") or 0),
                silence_duration_ms=int(td.get("silence_duration_ms") or 0),
            )
