"""The output items a fake response produces, event by event."""

from __future__ import annotations

import base64
import copy
import math
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from . import _audio
from ._items import _Item
from ._session import _Session
from .script import (
    DEFAULT_CHUNK_MS,
    FunctionCall,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    Say,
)


@dataclass
class _Response:
    id: str
    conversation: str
    params: dict[str, Any]
    modalities: list[str]
    voice: Any
    out_format: dict[str, Any]
    max_tokens: int | None
    metadata: Any
    output: list[dict[str, Any]] = field(default_factory=list)
    gen: Generator[float, None, None] | None = None
    next_due: float = 0.0
    open_item: dict[str, Any] | None = None
    open_kind: str = ""
    partial: str = ""
    audio_ms: float = 0.0
    text_tokens: int = 0
    audio_tokens: int = 0
    input_text_tokens: int = 0
    input_audio_tokens: int = 0
    sent_audio: bool = False
    status: str = "in_progress"
    status_details: dict[str, Any] | None = None
    prev_item: str | None = None

    def header(self, status: str) -> dict[str, Any]:
        return {
            "object": "realtime.response",
            "id": self.id,
            "status": status,
            "status_details": self.status_details if status != "in_progress" else None,
            "output": [],
            "conversation_id": None,
            "output_modalities": list(self.modalities),
            "max_output_tokens": "inf" if self.max_tokens is None else self.max_tokens,
            "audio": {"output": {"format": dict(self.out_format), "voice": self.voice}},
            "usage": None,
            "metadata": self.metadata,
        }


class _Output(_Session):
    """Output items of a response: messages (text or paced audio), function and MCP calls."""

    def _open(self, resp: _Response, item: dict[str, Any], kind: str) -> None:
        resp.open_item = item
        resp.open_kind = kind
        resp.partial = ""
        resp.audio_ms = 0.0
        resp.output.append(item)
        idx = len(resp.output) - 1
        self._emit(
            {
                "type": "response.output_item.added",
                "response_id": resp.id,
                "output_index": idx,
                "item": copy.deepcopy(item),
            }
        )
        if resp.conversation != "none":
            resp.prev_item = self._last_item_id()
            self.conversation.append(_Item(item, {}, str(resp.out_format.get("type", "audio/pcm"))))
            self._emit(
                {
                    "type": "conversation.item.added",
                    "previous_item_id": resp.prev_item,
                    "item": copy.deepcopy(item),
                }
            )

    def _close_item(self, resp: _Response, status: str) -> None:
        item = resp.open_item
        if item is None:
            return
        idx = len(resp.output) - 1
        rid = resp.id
        kind = resp.open_kind
        if kind in ("audio", "text"):
            text = resp.partial
            if kind == "audio":
                base = {
                    "response_id": rid,
                    "item_id": item["id"],
                    "output_index": idx,
                    "content_index": 0,
                }
                self._emit({"type": "response.output_audio.done", **base})
                self._emit(
                    {"type": "response.output_audio_transcript.done", **base, "transcript": text}
                )
                self._emit(
                    {
                        "type": "response.content_part.done",
                        **base,
                        "part": {"type": "audio", "transcript": text},
                    }
                )
                item["content"] = [{"type": "output_audio", "transcript": text}]
                resp.text_tokens += len(text) // 4 + 1
                resp.audio_tokens += int(resp.audio_ms / 50)
            else:
                base = {
                    "response_id": rid,
                    "item_id": item["id"],
                    "output_index": idx,
                    "content_index": 0,
                }
                self._emit({"type": "response.output_text.done", **base, "text": text})
                self._emit(
                    {
                        "type": "response.content_part.done",
                        **base,
                        "part": {"type": "text", "text": text},
                    }
                )
                item["content"] = [{"type": "output_text", "text": text}]
                resp.text_tokens += len(text) // 4 + 1
        if "status" in item:
            item["status"] = status
        self._emit(
            {
                "type": "response.output_item.done",
                "response_id": rid,
                "output_index": idx,
                "item": copy.deepcopy(item),
            }
        )
        if resp.conversation != "none":
            self._emit(
                {
                    "type": "conversation.item.done",
                    "previous_item_id": resp.prev_item,
                    "item": copy.deepcopy(item),
                }
            )
        resp.open_item = None
        resp.open_kind = ""

    def _say(self, resp: _Response, step: Say, text: str) -> Generator[float, None, None]:
        item: dict[str, Any] = {
            "id": self._new_id("item"),
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        audio_mode = "audio" in resp.modalities
        self._open(resp, item, "audio" if audio_mode else "text")
        idx = len(resp.output) - 1
        base = {
            "response_id": resp.id,
            "item_id": item["id"],
            "output_index": idx,
            "content_index": 0,
        }
        if not audio_mode:
            self._emit(
                {
                    "type": "response.content_part.added",
                    **base,
                    "part": {"type": "text", "text": ""},
                }
            )
            words = _split_words(text, 3)
            for w in words:
                resp.partial += w
                self._emit({"type": "response.output_text.delta", **base, "delta": w})
                yield 0.05
            self._close_item(resp, "completed")
            return
        self._emit(
            {
                "type": "response.content_part.added",
                **base,
                "part": {"type": "audio", "transcript": ""},
            }
        )
        fmt = str(resp.out_format.get("type", "audio/pcm"))
        total_ms = step.audio_ms() if text == step.text else max(200, len(text) * 55)
        chunk_ms = max(10, step.chunk_ms or DEFAULT_CHUNK_MS)
        pcm = _audio.synth(total_ms, seed=_audio.text_seed(text))
        wire = _audio.pcm16_to_wire(pcm, fmt)
        conv_item = self.conversation[-1] if resp.conversation != "none" else None
        bpm = _audio.bytes_per_ms(fmt)
        n_chunks = max(1, math.ceil(total_ms / chunk_ms))
        words = _split_words(text, max(1, math.ceil(len(text.split()) / n_chunks)) if text else 1)
        per_chunk = [""] * n_chunks
        for i, w in enumerate(words):
            per_chunk[min(n_chunks - 1, i * n_chunks // max(1, len(words)))] += w
        for i in range(n_chunks):
            chunk = wire[i * chunk_ms * bpm : (i + 1) * chunk_ms * bpm]
            if per_chunk[i]:
                resp.partial += per_chunk[i]
                self._emit(
                    {
                        "type": "response.output_audio_transcript.delta",
                        **base,
                        "delta": per_chunk[i],
                    }
                )
            if chunk:
                if self.sideband:
                    if not resp.sent_audio:
                        self._emit({"type": "output_audio_buffer.started", "response_id": resp.id})
                else:
                    self._emit(
                        {
                            "type": "response.output_audio.delta",
                            **base,
                            "delta": base64.b64encode(chunk).decode("ascii"),
                        }
                    )
                resp.sent_audio = True
                self._audio_started = True
                resp.audio_ms += _audio.ms_of(len(chunk), fmt)
                if conv_item is not None:
                    conv_item.audio[0] = conv_item.audio.get(0, b"") + chunk
            yield len(chunk) / bpm / 1000.0
        self._close_item(resp, "completed")

    def _function_call(self, resp: _Response, step: FunctionCall) -> None:
        call_id = step.call_id or self._new_id("call")
        item: dict[str, Any] = {
            "id": self._new_id("item"),
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "name": step.name,
            "call_id": call_id,
            "arguments": "",
        }
        self._open(resp, item, "function_call")
        idx = len(resp.output) - 1
        base = {
            "response_id": resp.id,
            "item_id": item["id"],
            "output_index": idx,
            "call_id": call_id,
        }
        args = step.arguments
        for i in range(0, len(args), max(1, step.chunk_chars)):
            self._emit(
                {
                    "type": "response.function_call_arguments.delta",
                    **base,
                    "delta": args[i : i + step.chunk_chars],
                }
            )
        self._emit(
            {
                "type": "response.function_call_arguments.done",
                **base,
                "name": step.name,
                "arguments": args,
            }
        )
        item["arguments"] = args
        resp.text_tokens += len(args) // 4 + 1
        self._close_item(resp, "completed")

    def _mcp_list_tools(self, resp: _Response, step: McpListTools) -> None:
        item: dict[str, Any] = {
            "id": self._new_id("mcpl"),
            "type": "mcp_list_tools",
            "server_label": step.server_label,
            "tools": [],
        }
        self._open(resp, item, "mcp_list_tools")
        self._emit({"type": "mcp_list_tools.in_progress", "item_id": item["id"]})
        if step.failed:
            self._emit({"type": "mcp_list_tools.failed", "item_id": item["id"]})
        else:
            self._emit({"type": "mcp_list_tools.completed", "item_id": item["id"]})
            item["tools"] = [dict(t) for t in step.tools]
        self._close_item(resp, "completed")

    def _mcp_call(self, resp: _Response, step: McpCall, approval_id: str | None) -> None:
        item: dict[str, Any] = {
            "id": self._new_id("mcp"),
            "type": "mcp_call",
            "server_label": step.server_label,
            "name": step.name,
            "arguments": "",
            "approval_request_id": approval_id,
            "output": None,
            "error": None,
        }
        self._open(resp, item, "mcp_call")
        idx = len(resp.output) - 1
        base = {"response_id": resp.id, "item_id": item["id"], "output_index": idx}
        self._emit({"type": "response.mcp_call_arguments.delta", **base, "delta": step.arguments})
        self._emit(
            {"type": "response.mcp_call_arguments.done", **base, "arguments": step.arguments}
        )
        item["arguments"] = step.arguments
        self._emit(
            {"type": "response.mcp_call.in_progress", "item_id": item["id"], "output_index": idx}
        )
        if step.error is not None:
            item["error"] = dict(step.error)
            self._emit(
                {"type": "response.mcp_call.failed", "item_id": item["id"], "output_index": idx}
            )
        else:
            item["output"] = step.output if step.output is not None else ""
            self._emit(
                {"type": "response.mcp_call.completed", "item_id": item["id"], "output_index": idx}
            )
        self._close_item(resp, "completed")

    def _mcp_approval(self, resp: _Response, step: McpApprovalRequest) -> None:
        item: dict[str, Any] = {
            "id": self._new_id("mcpr"),
            "type": "mcp_approval_request",
            "server_label": step.server_label,
            "name": step.name,
            "arguments": step.arguments,
        }
        self._approvals[item["id"]] = step
        self._open(resp, item, "mcp_approval_request")
        self._close_item(resp, "completed")


def _split_words(text: str, per: int) -> list[str]:
    """Split into groups of ``per`` words, keeping the spaces, so ``"".join`` is ``text``."""
    if not text:
        return []
    tokens: list[str] = []
    cur = ""
    for ch in text:
        cur += ch
        if ch == " ":
            tokens.append(cur)
            cur = ""
    if cur:
        tokens.append(cur)
    return ["".join(tokens[i : i + per]) for i in range(0, len(tokens), per)]
