"""The conversation item store of the fake server (create, retrieve, delete, truncate)."""

from __future__ import annotations

import base64
import binascii
import copy
from dataclasses import dataclass, field
from typing import Any

from . import _audio
from ._wire import _ApiError, _Wire


@dataclass
class _Item:
    data: dict[str, Any]
    audio: dict[int, bytes] = field(default_factory=dict)
    audio_format: str = "audio/pcm"

    @property
    def id(self) -> str:
        return str(self.data["id"])

    def public(self, with_audio: bool = False) -> dict[str, Any]:
        d = copy.deepcopy(self.data)
        if with_audio:
            for i, pcm in self.audio.items():
                d["content"][i]["audio"] = base64.b64encode(pcm).decode("ascii")
        return d


class _Conversation(_Wire):
    """The conversation store: ``conversation.item.create/retrieve/delete/truncate``."""

    def _added_and_done(self, prev: str | None, item: dict[str, Any]) -> None:
        """Announce an item that is complete as soon as it exists (client-created, committed)."""
        for etype in ("conversation.item.added", "conversation.item.done"):
            self._emit({"type": etype, "previous_item_id": prev, "item": copy.deepcopy(item)})

    def _find(self, item_id: str) -> _Item:
        for it in self.conversation:
            if it.id == item_id:
                return it
        raise _ApiError(
            f"Item with item_id not found: {item_id}", code="item_not_found", param="item_id"
        )

    def _on_conversation_item_create(self, event: dict[str, Any]) -> None:
        item = copy.deepcopy(event["item"])
        prev_req = event.get("previous_item_id")
        if prev_req is None:
            pos = len(self.conversation)
        elif prev_req == "root":
            pos = 0
        else:
            ids = [it.id for it in self.conversation]
            if prev_req not in ids:
                raise _ApiError(
                    f"Previous item with item_id not found: {prev_req}",
                    code="item_not_found",
                    param="previous_item_id",
                )
            pos = ids.index(prev_req) + 1
        if item.get("id") is not None and any(it.id == item["id"] for it in self.conversation):
            raise _ApiError(
                f"Item with item_id already exists: {item['id']}",
                code="item_already_exists",
                param="item.id",
            )
        audio: dict[int, bytes] = {}
        if item.get("type") == "message":
            for i, part in enumerate(item.get("content") or []):
                if part.get("type") == "output_audio" or (
                    item.get("role") == "assistant" and part.get("type") == "input_audio"
                ):
                    raise _ApiError(
                        "Assistant messages cannot contain audio content; use output_text.",
                        code="invalid_value",
                        param=f"item.content[{i}].type",
                    )
                if part.get("type") == "input_audio" and part.get("audio"):
                    try:
                        audio[i] = base64.b64decode(part.pop("audio"), validate=True)
                    except (binascii.Error, ValueError):
                        raise _ApiError(
                            "Invalid 'audio'. Expected base64-encoded audio data.",
                            code="invalid_value",
                            param=f"item.content[{i}].audio",
                        ) from None
                    part.setdefault("transcript", None)
            texts = [
                p.get("text", "")
                for p in item.get("content") or []
                if p.get("type") == "input_text"
            ]
            if item.get("role") == "user" and texts:
                self._last_user_text = " ".join(t for t in texts if t)
        if item.get("type") == "mcp_approval_response":
            req = self._approvals.pop(str(item.get("approval_request_id")), None)
            if req is None:
                raise _ApiError(
                    f"No pending MCP approval request: {item.get('approval_request_id')}",
                    code="item_not_found",
                    param="item.approval_request_id",
                )
            if item.get("approve"):
                self._approved.append((str(item["approval_request_id"]), req))
        item.setdefault("id", None)
        if item["id"] is None:
            item["id"] = self._new_id("item")
        if item.get("type") in ("message", "function_call", "function_call_output"):
            item.setdefault("object", "realtime.item")
            item["status"] = "completed"
        prev = self.conversation[pos - 1].id if pos > 0 else None
        self.conversation.insert(pos, _Item(item, audio, self._input_format()))
        self._added_and_done(prev, item)

    def _on_conversation_item_retrieve(self, event: dict[str, Any]) -> None:
        it = self._find(event["item_id"])
        self._emit({"type": "conversation.item.retrieved", "item": it.public(with_audio=True)})

    def _on_conversation_item_delete(self, event: dict[str, Any]) -> None:
        it = self._find(event["item_id"])
        self.conversation.remove(it)
        self._emit({"type": "conversation.item.deleted", "item_id": it.id})

    def _on_conversation_item_truncate(self, event: dict[str, Any]) -> None:
        it = self._find(event["item_id"])
        idx = event["content_index"]
        end = event["audio_end_ms"]
        if it.data.get("role") != "assistant":
            raise _ApiError(
                "Only assistant messages can be truncated.", code="invalid_value", param="item_id"
            )
        content = it.data.get("content") or []
        if not (0 <= idx < len(content)) or content[idx].get("type") != "output_audio":
            raise _ApiError(
                f"Content index {idx} is not an audio part of item {it.id}.",
                code="invalid_value",
                param="content_index",
            )
        pcm = it.audio.get(idx, b"")
        dur = _audio.ms_of(len(pcm), it.audio_format)
        if end < 0 or end > dur:
            raise _ApiError(
                f"Audio content of {int(dur)}ms is already shorter than {end}ms",
                code="invalid_value",
                param="audio_end_ms",
            )
        keep = int(end * _audio.bytes_per_ms(it.audio_format))
        it.audio[idx] = pcm[:keep]
        content[idx]["transcript"] = ""
        self._emit(
            {
                "type": "conversation.item.truncated",
                "item_id": it.id,
                "content_index": idx,
                "audio_end_ms": end,
            }
        )
