"""Issue 13 item 1 through the adapters: server values the session echoes back never end it.

A raw server sends ``call_id: ""`` and an audio delta at ``content_index: -1`` followed
by ``speech_started``. Before, the session's own validator refused the automatic
client events inside the reader task and the session ended with an ExceptionGroup;
now the app gets ``ProtocolViolation`` events and the session goes on. Runs on
anyio-asyncio, anyio-trio and native trio.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import msgspec
import pytest

from oairt_core._validation import validate_client_event
from oairt_core.codec import decode_client_event
from oairt_core.voice import ProtocolViolation, RealtimeBuilder, ResponseStarted, VoiceEvent
from tests.conftest import Adapter
from tests.support.wsserver import ServerConn, serve

pytestmark = pytest.mark.anyio


class SumArgs(msgspec.Struct):
    a: int
    b: int


def add(args: SumArgs) -> int:
    """Add."""
    return args.a + args.b


def _events() -> list[dict[str, Any]]:
    audio = base64.b64encode(b"\x01" * 4800).decode()
    return [
        {"type": "response.created", "response": {"id": "r1", "status": "in_progress"}},
        {
            "type": "response.function_call_arguments.done",
            "response_id": "r1",
            "item_id": "i1",
            "output_index": 0,
            "call_id": "",
            "name": "add",
            "arguments": '{"a":1,"b":2}',
        },
        {
            "type": "response.output_audio.delta",
            "response_id": "r1",
            "item_id": "a1",
            "output_index": 0,
            "content_index": -1,
            "delta": audio,
        },
        {"type": "input_audio_buffer.speech_started", "audio_start_ms": 0, "item_id": "u1"},
        {"type": "response.done", "response": {"id": "r1", "status": "cancelled"}},
        {"type": "response.created", "response": {"id": "r2", "status": "in_progress"}},
    ]


async def test_echoed_server_values_become_protocol_violations(adapter: Adapter) -> None:
    received: list[str] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        for n, event in enumerate(_events()):
            await conn.send_event({**event, "event_id": f"ev_{n}"})
        while (msg := await conn.receive()) is not None:
            if isinstance(msg, str):
                received.append(msg)

    config = RealtimeBuilder().api_key("sk-test-hostile-0000").tool(add).build()
    seen: list[VoiceEvent] = []
    async with serve(handler) as server, adapter.open_voice(config, base_url=server.url) as session:
        with anyio.fail_after(10):
            while True:
                event = await session.next_voice_event()
                assert event is not None, [type(e).__name__ for e in seen]
                seen.append(event)
                if isinstance(event, ResponseStarted) and event.response_id == "r2":
                    break
    violations = [e for e in seen if isinstance(e, ProtocolViolation)]
    assert len(violations) == 2
    assert "call_id" in violations[0].message and "content_index" in violations[1].message
    for text in received:  # everything the client sent is valid GA
        validate_client_event(decode_client_event(text))
    assert any(json.loads(t)["type"] == "response.cancel" for t in received)
