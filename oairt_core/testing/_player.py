"""The response player: ``response.create`` / ``response.cancel``, pacing and ``response.done``."""

from __future__ import annotations

import copy
from collections.abc import Generator, Mapping
from typing import Any

from . import _audio
from ._output import _Output, _Response
from ._wire import _ApiError
from .script import (
    Fail,
    FunctionCall,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    Reply,
    Say,
    Script,
    Step,
)


class _Player(_Output):
    """The response lifecycle: create, run (paced by ``now``), finish, cancel."""

    def _on_response_create(self, event: dict[str, Any]) -> None:
        params = event.get("response") or {}
        if self.session.get("type") != "realtime":
            raise _ApiError(
                "Responses cannot be created in a transcription session.",
                code="invalid_value",
                param="type",
            )
        conv = params.get("conversation") or "auto"
        if conv != "none":
            active = [r for r in self._responses if r.conversation != "none"]
            if active:
                raise _ApiError(
                    f"Conversation already has an active response in progress: {active[0].id}. "
                    "Wait until the response is finished before creating a new one.",
                    code="conversation_already_has_active_response",
                    param=None,
                )
        self._start_response(params)

    def _on_response_cancel(self, event: dict[str, Any]) -> None:
        rid = event.get("response_id")
        targets = [r for r in self._responses if rid is None or r.id == rid]
        if rid is None:
            targets = [r for r in targets if r.conversation != "none"] or targets
        if not targets:
            # Harmless race (the response just finished); not recorded as a violation.
            raise _ApiError(
                "Cancellation failed: no active response found",
                code="response_cancel_not_active",
                violation=False,
            )
        self._cancel(targets[0], "client_cancelled")

    def _start_response(self, params: dict[str, Any]) -> None:
        s = self.session
        out = s.get("audio", {}).get("output", {})
        p_out = (params.get("audio") or {}).get("output") or {}
        mt = params.get("max_output_tokens", s.get("max_output_tokens", "inf"))
        resp = _Response(
            id=self._new_id("resp"),
            conversation=params.get("conversation") or "auto",
            params=params,
            modalities=list(
                params.get("output_modalities") or s.get("output_modalities") or ["audio"]
            ),
            voice=p_out.get("voice", out.get("voice", "alloy")),
            out_format=dict(
                p_out.get("format") or out.get("format") or {"type": "audio/pcm", "rate": 24000}
            ),
            max_tokens=None if mt in (None, "inf") else int(mt),
            metadata=params.get("metadata"),
        )
        resp.input_text_tokens, resp.input_audio_tokens = self._input_token_estimate(params)
        script = self.service.script
        reply = script.next_reply(self._last_user_text) if isinstance(script, Script) else None
        if reply is None:
            if isinstance(script, Script) and not script.echo:
                reply = Reply(Say(""))
            else:
                reply = Reply(
                    Say(
                        f"You said: {self._last_user_text}"
                        if self._last_user_text
                        else "Hello! How can I help you today?"
                    )
                )
        steps: list[Step] = []
        approvals: dict[int, str] = {}
        for approval_id, req in self._approved:
            # An approved MCP request runs first in the next response.
            approvals[len(steps)] = approval_id
            steps.append(
                McpCall(req.server_label, req.name, req.arguments, output=req.output or "")
            )
        self._approved.clear()
        steps.extend(reply.steps)
        resp.gen = self._run_response(resp, steps, reply.delay_ms, approvals)
        resp.next_due = self._now
        self._responses.append(resp)
        self._last_response_id = resp.id
        self._step(resp, self._now)

    def _input_token_estimate(self, params: dict[str, Any]) -> tuple[int, int]:
        chars = len(str(self.session.get("instructions") or ""))
        audio_ms = 0.0
        for it in self.conversation:
            for part in it.data.get("content") or []:
                chars += len(str(part.get("text") or part.get("transcript") or ""))
            audio_ms += sum(_audio.ms_of(len(a), it.audio_format) for a in it.audio.values())
        # Rough but stable: 4 characters per text token, 10 audio tokens per second.
        return chars // 4, int(audio_ms / 100)

    def _run_response(
        self,
        resp: _Response,
        steps: list[Step],
        delay_ms: int,
        approvals: Mapping[int, str],
    ) -> Generator[float, None, None]:
        """The response as a generator: it emits events and yields seconds to wait."""
        self._emit({"type": "response.created", "response": resp.header("in_progress")})
        self._emit(
            {
                "type": "rate_limits.updated",
                "rate_limits": [
                    {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
                    {"name": "tokens", "limit": 40000, "remaining": 39000, "reset_seconds": 1.5},
                ],
            }
        )
        if delay_ms:
            yield delay_ms / 1000.0
        budget = None if resp.max_tokens is None else resp.max_tokens * 4
        for i, step in enumerate(steps):
            if isinstance(step, Fail):
                resp.status = "failed"
                resp.status_details = {
                    "type": "failed",
                    "error": {"type": step.type, "code": step.code, "message": step.message},
                }
                break
            if isinstance(step, Say):
                text = step.text
                if budget is not None and len(text) > budget:
                    text = text[:budget]
                    resp.status = "incomplete"
                    resp.status_details = {"type": "incomplete", "reason": "max_output_tokens"}
                yield from self._say(resp, step, text)
                if budget is not None:
                    budget -= len(text)
                if resp.status == "incomplete":
                    break
            elif isinstance(step, FunctionCall):
                self._function_call(resp, step)
            elif isinstance(step, McpListTools):
                self._mcp_list_tools(resp, step)
            elif isinstance(step, McpCall):
                self._mcp_call(resp, step, approvals.get(i))
            elif isinstance(step, McpApprovalRequest):
                self._mcp_approval(resp, step)
        self._finish(resp, resp.status if resp.status != "in_progress" else "completed")

    def _finish(self, resp: _Response, status: str) -> None:
        if resp not in self._responses:
            return
        self._responses.remove(resp)
        resp.gen = None
        header = resp.header(status)
        header["status_details"] = resp.status_details if status != "completed" else None
        if status == "cancelled" and resp.status_details is None:
            header["status_details"] = {"type": "cancelled", "reason": "client_cancelled"}
        header["output"] = copy.deepcopy(resp.output)
        header["conversation_id"] = self._conversation_id() if resp.conversation != "none" else None
        out_tokens = resp.text_tokens + resp.audio_tokens
        in_tokens = resp.input_text_tokens + resp.input_audio_tokens
        header["usage"] = {
            "total_tokens": in_tokens + out_tokens,
            "input_tokens": in_tokens,
            "output_tokens": out_tokens,
            "input_token_details": {
                "text_tokens": resp.input_text_tokens,
                "audio_tokens": resp.input_audio_tokens,
                "image_tokens": 0,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {
                "text_tokens": resp.text_tokens,
                "audio_tokens": resp.audio_tokens,
            },
        }
        self._emit({"type": "response.done", "response": header})
        if self.sideband and resp.sent_audio:
            self._emit({"type": "output_audio_buffer.stopped", "response_id": resp.id})
        td = self._turn_detection()
        if td is not None and td.get("type") == "server_vad" and td.get("idle_timeout_ms"):
            # Armed from the end of the reply's playback (response.done + audio duration).
            self._idle_deadline = self._now + (resp.audio_ms + int(td["idle_timeout_ms"])) / 1000.0
            self._idle_from_ms = self._timeline_ms

    def _conversation_id(self) -> str:
        return f"conv_{self.index:04d}{0:012d}"

    def _cancel(self, resp: _Response, reason: str) -> None:
        if resp.gen is not None:
            gen = resp.gen
            resp.gen = None
            gen.close()
        resp.status_details = {"type": "cancelled", "reason": reason}
        self._close_item(resp, "incomplete")
        self._finish(resp, "cancelled")
        if reason == "turn_detected" and self.sideband and resp.sent_audio:
            # On WebRTC/SIP the server also drops the audio not yet played.
            self._emit({"type": "output_audio_buffer.cleared", "response_id": resp.id})

    def _step(self, resp: _Response, now: float) -> None:
        """Run a response generator until it must wait past ``now``."""
        fast = self.service.pacing == "fast"
        while resp.gen is not None and resp.next_due <= now and not self.closed:
            try:
                wait = next(resp.gen)
            except StopIteration:
                resp.gen = None
                return
            if not fast:
                resp.next_due += wait
