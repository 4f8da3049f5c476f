"""The sans-IO fake server: handshake, every error path, ordering, pacing, faults, REST routing."""

from __future__ import annotations

import base64
import json
from typing import Any

import h11
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oairt_core.audio import silence, synth_speech
from oairt_core.testing import (
    FakeRealtimeService,
    FakeRestApi,
    Faults,
    MemoryClient,
    Script,
    call_function,
    fail,
    mcp_approval_request,
    say,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pcm(ms: int, seed: int = 1) -> bytes:
    return synth_speech(ms, seed=seed).astype("<i2").tobytes()


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def manual(client: MemoryClient, **session: Any) -> None:
    """Turn VAD off (and apply more session fields); drop the events so far."""
    client.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"turn_detection": None}},
                **session,
            },
        }
    )
    client.events()


def first(events: list[dict[str, Any]], etype: str) -> dict[str, Any]:
    return next(e for e in events if e["type"] == etype)


# ------------------------------------------------------------------ handshake


@pytest.mark.parametrize(
    ("target", "key", "status", "code"),
    [
        ("/v1/realtime?model=gpt-realtime", None, 401, None),
        ("/v1/realtime?model=gpt-realtime", "sk-wrong-key-123456", 401, "invalid_api_key"),
        ("/v1/realtime", "sk-test", 400, "missing_required_parameter"),
        ("/v1/realtime?model=gpt-5-nonexistent", "sk-test", 404, "model_not_found"),
        ("/v1/realtime?model=gpt-realtime&intent=chat", "sk-test", 400, "invalid_value"),
        ("/v1/other?model=gpt-realtime", "sk-test", 404, None),
    ],
)
def test_handshake_rejections(target: str, key: str | None, status: int, code: str | None) -> None:
    c = MemoryClient(FakeRealtimeService(api_keys={"sk-test"}), target=target, api_key=key)
    assert not c.accepted
    assert c.rejected_status == status
    body = json.loads(c.rejected_body)
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "sk-wrong-key-123456" not in c.rejected_body.decode()
    assert c.server.closed


def test_handshake_accepts_subprotocol_key_and_beta_header_is_a_violation() -> None:
    svc = FakeRealtimeService(api_keys={"sk-test"})
    c = MemoryClient(
        svc,
        api_key=None,
        subprotocols=["realtime", "openai-insecure-api-key.sk-test"],
        headers=[("OpenAI-Beta", "realtime=v1")],
    )
    assert c.accepted
    assert types(c.events()) == ["session.created"]
    assert [v.code for v in svc.violations] == ["beta_header"]


def test_fault_rejects_handshake_with_status() -> None:
    c = MemoryClient(FakeRealtimeService(faults=Faults(reject_status=503)))
    assert c.rejected_status == 503


class Calls:
    def __init__(self, active: set[str]) -> None:
        self.active = active

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Any:
        return 404, [], b""

    def is_active_call(self, call_id: str) -> bool:
        return call_id in self.active


def test_call_id_sideband_checks_the_rest_fake() -> None:
    svc = FakeRealtimeService(rest=Calls({"rtc_live"}))
    bad = MemoryClient(svc, target="/v1/realtime?call_id=rtc_gone")
    assert bad.rejected_status == 404
    good = MemoryClient(svc, target="/v1/realtime?call_id=rtc_live")
    assert good.accepted and good.server.sideband
    good.events()
    good.send({"type": "output_audio_buffer.clear", "event_id": "c1"})
    assert types(good.events()) == ["output_audio_buffer.cleared"]


def test_output_audio_buffer_clear_is_an_error_on_plain_websocket() -> None:
    c = MemoryClient()
    c.events()
    c.send({"type": "output_audio_buffer.clear", "event_id": "c1"})
    err = first(c.events(), "error")
    assert err["error"]["event_id"] == "c1"


def test_client_secret_session_config_applies() -> None:
    rest = FakeRestApi({"sk-test"})
    status, _, body = rest.handle(
        "POST",
        "/v1/realtime/client_secrets",
        [(b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json")],
        json.dumps({"session": {"type": "realtime", "instructions": "Be a pirate."}}).encode(),
    )
    assert status == 200
    secret = json.loads(body)["value"]
    c = MemoryClient(FakeRealtimeService(api_keys={"sk-test"}, rest=rest), api_key=secret)
    assert c.accepted
    assert c.events()[0]["session"]["instructions"] == "Be a pirate."


def test_transcription_intent() -> None:
    svc = FakeRealtimeService(script=Script().transcribe("hello world"))
    c = MemoryClient(svc, target="/v1/realtime?intent=transcription")
    created = c.events()[0]
    assert created["session"]["type"] == "transcription"
    c.send({"type": "input_audio_buffer.append", "audio": b64(pcm(300))})
    c.send({"type": "input_audio_buffer.commit"})
    ev = c.events()
    assert first(ev, "conversation.item.input_audio_transcription.completed")["transcript"] == (
        "hello world"
    )
    c.send({"type": "response.create", "event_id": "r1"})
    assert first(c.events(), "error")["error"]["event_id"] == "r1"


# ------------------------------------------------------------------ REST routing


def http(
    server_data: list[bytes], requests: list[h11.Request], svc: FakeRealtimeService
) -> list[tuple[int, bytes]]:
    conn = h11.Connection(h11.CLIENT)
    server = svc.new_connection()
    out: list[tuple[int, bytes]] = []
    for req in requests:
        data = conn.send(req) + conn.send(h11.EndOfMessage())
        server.receive_data(data, 0.0)
        conn.receive_data(server.data_to_send())
        status, body = 0, b""
        while True:
            ev = conn.next_event()
            if isinstance(ev, h11.Response):
                status = ev.status_code
            elif isinstance(ev, h11.Data):
                body += ev.data
            elif isinstance(ev, h11.EndOfMessage) or ev is h11.NEED_DATA:
                break
        out.append((status, body))
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
    server_data.append(b"closed" if server.closed else b"open")
    return out


def test_rest_requests_share_the_port_and_keep_alive() -> None:
    svc = FakeRealtimeService(rest=FakeRestApi({"sk-test"}))
    body = json.dumps({"session": {"type": "realtime"}}).encode()
    req = h11.Request(
        method="POST",
        target="/v1/realtime/client_secrets",
        headers=[
            ("Host", "x"),
            ("Authorization", "Bearer sk-test"),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ],
    )
    conn = h11.Connection(h11.CLIENT)
    server = svc.new_connection()
    statuses = []
    for _ in range(2):  # two requests on one connection
        server.receive_data(
            conn.send(req) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()), 0.0
        )
        conn.receive_data(server.data_to_send())
        resp_body = b""
        while True:
            ev = conn.next_event()
            if isinstance(ev, h11.Response):
                statuses.append(ev.status_code)
            elif isinstance(ev, h11.Data):
                resp_body += ev.data
            elif isinstance(ev, h11.EndOfMessage):
                break
        assert json.loads(resp_body)["value"].startswith("ek_")
        conn.start_next_cycle()
    assert statuses == [200, 200]
    assert not server.closed


def test_endless_rest_body_is_refused_with_413_and_bounded_memory() -> None:
    from oairt_core.testing._http import MAX_MESSAGE_BYTES

    svc = FakeRealtimeService(rest=FakeRestApi({"sk-test"}))
    server = svc.new_connection()
    conn = h11.Connection(h11.CLIENT)
    req = h11.Request(
        method="POST",
        target="/v1/realtime/client_secrets",
        headers=[
            ("Host", "x"),
            ("Authorization", "Bearer sk-test"),
            ("Transfer-Encoding", "chunked"),
        ],
    )
    server.receive_data(conn.send(req), 0.0)
    chunk = b"x" * (1 << 20)
    sent = 0
    while not server.closed and sent <= 2 * MAX_MESSAGE_BYTES:
        server.receive_data(conn.send(h11.Data(data=chunk)), 0.0)
        sent += len(chunk)
    assert server.closed and sent <= MAX_MESSAGE_BYTES + len(chunk)
    conn.receive_data(server.data_to_send())
    ev = conn.next_event()
    assert isinstance(ev, h11.Response) and ev.status_code == 413


def test_rest_without_a_rest_fake_is_404() -> None:
    conn = h11.Connection(h11.CLIENT)
    server = FakeRealtimeService().new_connection()
    server.receive_data(
        conn.send(h11.Request(method="GET", target="/v1/models", headers=[("Host", "x")]))
        + conn.send(h11.EndOfMessage()),
        0.0,
    )
    conn.receive_data(server.data_to_send())
    ev = conn.next_event()
    assert isinstance(ev, h11.Response) and ev.status_code == 404


# ------------------------------------------------------------------ invalid client events


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        ({"type": "session.explode"}, "invalid_value", "type"),
        (
            {"type": "session.update", "session": {"type": "realtime", "foo": 1}},
            "unknown_parameter",
            "session.foo",
        ),
        (
            {"type": "session.update", "session": {"instructions": "x"}},
            "missing_required_parameter",
            "session.type",
        ),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "x",
                "content_index": 0,
                "audio_end_ms": "5",
            },
            "invalid_type",
            "audio_end_ms",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "realtime", "audio": {"output": {"speed": 3.0}}},
            },
            "invalid_value",
            "session.audio.output.speed",
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "realtime",
                    "audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}},
                },
            },
            "invalid_value",
            "session.audio.input.format.rate",
        ),
        (
            {"type": "response.create", "response": {"output_modalities": ["audio", "text"]}},
            "invalid_value",
            "response.output_modalities",
        ),
        ({"type": "input_audio_buffer.append", "audio": "%%%not base64"}, "invalid_value", "audio"),
        (
            {
                "type": "conversation.item.create",
                "item": {"type": "message", "role": "robot", "content": []},
            },
            "invalid_value",
            "item.role",
        ),
    ],
)
def test_invalid_client_events_get_an_error_echoing_event_id(
    event: dict[str, Any], code: str, param: str
) -> None:
    svc = FakeRealtimeService()
    c = MemoryClient(svc)
    c.events()
    c.send({**event, "event_id": "evt_42"})
    errs = c.events()
    assert types(errs) == ["error"]
    err = errs[0]["error"]
    assert (err["code"], err["param"], err["event_id"]) == (code, param, "evt_42")
    assert err["type"] == "invalid_request_error"
    assert [(v.code, v.param, v.event_id) for v in svc.violations] == [(code, param, "evt_42")]
    # The session survives.
    c.send({"type": "input_audio_buffer.clear"})
    assert types(c.events()) == ["input_audio_buffer.cleared"]


def test_invalid_json_and_binary_frames() -> None:
    svc = FakeRealtimeService()
    c = MemoryClient(svc)
    c.events()
    c.send("{not json")
    err = c.events()[0]["error"]
    assert err["code"] == "invalid_json" and err["event_id"] is None
    c._to_server(c.ws.send(__import__("wsproto").events.BytesMessage(data=b"\x00\x01")))
    assert c.events()[0]["type"] == "error"
    assert len(svc.violations) == 2


def test_json_nested_deeper_than_the_stack_is_invalid_json_not_an_internal_error() -> None:
    svc = FakeRealtimeService()
    c = MemoryClient(svc)
    c.events()
    c.send("[" * 100_000 + "]" * 100_000)  # json.loads raises RecursionError on this
    (ev,) = c.events()
    assert ev["type"] == "error" and ev["error"]["code"] == "invalid_json"
    assert [v.code for v in svc.violations] == ["invalid_json"]
    assert not c.server.closed
    c.send({"type": "input_audio_buffer.clear"})
    assert [e["type"] for e in c.events()] == ["input_audio_buffer.cleared"]


# ------------------------------------------------------------------ session.update


def test_session_update_merges_only_fields_sent_and_null_clears() -> None:
    c = MemoryClient()
    before = c.events()[0]["session"]
    c.send(
        {
            "type": "session.update",
            "event_id": "u1",
            "session": {"type": "realtime", "instructions": "Be brief."},
        }
    )
    upd = c.events()[0]
    assert upd["type"] == "session.updated" and upd["event_id"] != "u1"
    s = upd["session"]
    assert s["instructions"] == "Be brief."
    assert s["audio"] == before["audio"] and s["tools"] == before["tools"]
    c.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"turn_detection": None}, "output": {"voice": "cedar"}},
            },
        }
    )
    s2 = c.events()[0]["session"]
    assert s2["audio"]["input"]["turn_detection"] is None
    assert s2["audio"]["input"]["format"] == before["audio"]["input"]["format"]
    assert s2["audio"]["output"]["voice"] == "cedar"
    assert s2["audio"]["output"]["speed"] == 1.0
    c.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}},
            },
        }
    )
    td = c.events()[0]["session"]["audio"]["input"]["turn_detection"]
    assert td["threshold"] == 0.7 and td["prefix_padding_ms"] == 300  # defaults filled in


def test_voice_cannot_change_after_audio_and_model_and_type_cannot_change() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("hi"))))
    c.events()
    c.send({"type": "response.create"})
    c.events()
    for session, code in [
        ({"type": "realtime", "audio": {"output": {"voice": "echo"}}}, "cannot_update_voice"),
        ({"type": "realtime", "model": "gpt-realtime-mini"}, "invalid_value"),
        ({"type": "transcription"}, "invalid_value"),
    ]:
        c.send({"type": "session.update", "session": session})
        assert first(c.events(), "error")["error"]["code"] == code
    # The same voice again is fine.
    c.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"output": {"voice": "alloy"}}},
        }
    )
    assert types(c.events()) == ["session.updated"]


# ------------------------------------------------------------------ input audio buffer


def test_commit_needs_100ms_then_commits_and_clear() -> None:
    svc = FakeRealtimeService()
    c = MemoryClient(svc)
    manual(c)
    c.send({"type": "input_audio_buffer.commit", "event_id": "k1"})
    err = c.events()[0]["error"]
    assert (err["code"], err["event_id"]) == ("input_audio_buffer_commit_empty", "k1")
    c.send({"type": "input_audio_buffer.append", "audio": b64(pcm(50))})
    c.send({"type": "input_audio_buffer.commit"})
    assert "buffer only has 50.00ms" in c.events()[0]["error"]["message"]
    c.send({"type": "input_audio_buffer.append", "audio": b64(pcm(100))})
    c.send({"type": "input_audio_buffer.commit"})
    ev = c.events()
    assert types(ev) == [
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
    ]
    item = ev[1]["item"]
    assert item["role"] == "user" and item["content"] == [
        {"type": "input_audio", "transcript": None}
    ]
    assert ev[0]["item_id"] == item["id"] and ev[0]["previous_item_id"] is None
    c.send({"type": "input_audio_buffer.append", "audio": b64(pcm(200))})
    c.send({"type": "input_audio_buffer.clear"})
    c.send({"type": "input_audio_buffer.commit"})
    assert types(c.events()) == ["input_audio_buffer.cleared", "error"]
    # The retrieved item carries the 150 ms of audio committed.
    c.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
    got = c.events()[0]["item"]
    assert len(base64.b64decode(got["content"][0]["audio"])) == 150 * 48


# ------------------------------------------------------------------ conversation items


def user_text(text: str, item_id: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": text}],
    }
    if item_id:
        item["id"] = item_id
    return item


def test_item_create_positions_and_errors() -> None:
    c = MemoryClient()
    manual(c)
    c.send({"type": "conversation.item.create", "item": user_text("a", "item_a")})
    c.send({"type": "conversation.item.create", "item": user_text("b", "item_b")})
    c.send(
        {
            "type": "conversation.item.create",
            "previous_item_id": "root",
            "item": user_text("z", "item_z"),
        }
    )
    c.send(
        {
            "type": "conversation.item.create",
            "previous_item_id": "item_a",
            "item": user_text("m", "item_m"),
        }
    )
    ev = c.events()
    assert types(ev) == ["conversation.item.added", "conversation.item.done"] * 4
    assert ev[0]["item"]["status"] == "completed" and ev[0]["item"]["object"] == "realtime.item"
    assert [e["previous_item_id"] for e in ev[::2]] == [None, "item_a", None, "item_a"]
    assert [it["id"] for it in c.server.items] == ["item_z", "item_a", "item_m", "item_b"]
    for event, code in [
        (
            {
                "type": "conversation.item.create",
                "previous_item_id": "nope",
                "item": user_text("x"),
            },
            "item_not_found",
        ),
        (
            {"type": "conversation.item.create", "item": user_text("dup", "item_a")},
            "item_already_exists",
        ),
        ({"type": "conversation.item.retrieve", "item_id": "nope"}, "item_not_found"),
        ({"type": "conversation.item.delete", "item_id": "nope"}, "item_not_found"),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "nope",
                "content_index": 0,
                "audio_end_ms": 0,
            },
            "item_not_found",
        ),
        (
            {
                "type": "conversation.item.truncate",
                "item_id": "item_a",
                "content_index": 0,
                "audio_end_ms": 0,
            },
            "invalid_value",
        ),
        (
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_audio", "audio": b64(b"\0\0")}],
                },
            },
            "invalid_value",
        ),
    ]:
        assert isinstance(event, dict)
        c.send({**event, "event_id": "bad"})
        err = c.events()
        assert types(err) == ["error"], event
        assert err[0]["error"]["code"] == code and err[0]["error"]["event_id"] == "bad"
    c.send({"type": "conversation.item.delete", "item_id": "item_m"})
    assert c.events() == [
        {
            "type": "conversation.item.deleted",
            "event_id": c.server.sent_events[-1]["event_id"],
            "item_id": "item_m",
        }
    ]


def test_truncate_assistant_audio() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("Hello there!", duration_ms=1000))))
    manual(c)
    c.send({"type": "response.create"})
    item_id = first(c.events(), "response.output_item.done")["item"]["id"]
    c.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 1500,
            "event_id": "t1",
        }
    )
    err = c.events()[0]["error"]
    assert err["message"] == "Audio content of 1000ms is already shorter than 1500ms"
    c.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 400,
        }
    )
    ev = c.events()[0]
    assert ev == {
        **ev,
        "type": "conversation.item.truncated",
        "item_id": item_id,
        "audio_end_ms": 400,
        "content_index": 0,
    }
    c.send({"type": "conversation.item.retrieve", "item_id": item_id})
    part = c.events()[0]["item"]["content"][0]
    assert part["transcript"] == "" and len(base64.b64decode(part["audio"])) == 400 * 48


# ------------------------------------------------------------------ responses


AUDIO_ORDER_HEAD = [
    "response.created",
    "rate_limits.updated",
    "response.output_item.added",
    "conversation.item.added",
    "response.content_part.added",
]
AUDIO_ORDER_TAIL = [
    "response.output_audio.done",
    "response.output_audio_transcript.done",
    "response.content_part.done",
    "response.output_item.done",
    "conversation.item.done",
    "response.done",
]


def test_audio_response_lifecycle_order_and_contents() -> None:
    c = MemoryClient(
        FakeRealtimeService(script=Script(say("One two three four five.", chunk_ms=50)))
    )
    manual(c)
    c.send({"type": "response.create", "event_id": "rc"})
    ev = c.events()
    t = types(ev)
    assert t[:5] == AUDIO_ORDER_HEAD and t[-6:] == AUDIO_ORDER_TAIL
    middle = set(t[5:-6])
    assert middle == {"response.output_audio.delta", "response.output_audio_transcript.delta"}
    created, done = ev[0]["response"], ev[-1]["response"]
    assert (
        created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    )
    assert done["status"] == "completed" and done["id"] == created["id"]
    assert (
        done["usage"]["total_tokens"]
        == done["usage"]["input_tokens"] + done["usage"]["output_tokens"]
    )
    assert done["output"][0]["content"] == [
        {"type": "output_audio", "transcript": "One two three four five."}
    ]
    transcript = "".join(
        e["delta"] for e in ev if e["type"] == "response.output_audio_transcript.delta"
    )
    assert transcript == "One two three four five."
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in ev if e["type"] == "response.output_audio.delta"
    )
    assert len(audio) == 55 * len("One two three four five.") * 48
    deltas = [e for e in ev if e["type"] == "response.output_audio.delta"]
    assert all(len(base64.b64decode(d["delta"])) <= 50 * 48 for d in deltas)
    added = ev[2]["item"]
    assert added["status"] == "in_progress" and added["content"] == []
    assert ev[4]["part"] == {"type": "audio", "transcript": ""}
    # All ids agree.
    ids = {e.get("response_id") for e in ev if "response_id" in e}
    assert ids == {created["id"]}


def test_deterministic_audio() -> None:
    def run() -> bytes:
        c = MemoryClient(FakeRealtimeService(script=Script(say("Same words."))))
        manual(c)
        c.send({"type": "response.create"})
        return b"".join(
            base64.b64decode(e["delta"])
            for e in c.events()
            if e["type"] == "response.output_audio.delta"
        )

    assert run() == run()


def test_text_modality_and_echo_default() -> None:
    c = MemoryClient()
    manual(c, output_modalities=["text"])
    c.send({"type": "conversation.item.create", "item": user_text("what time is it")})
    c.send({"type": "response.create"})
    ev = c.events()[2:]
    assert types(ev)[:5] == AUDIO_ORDER_HEAD
    assert "response.output_audio.delta" not in types(ev)
    assert first(ev, "response.content_part.added")["part"] == {"type": "text", "text": ""}
    assert first(ev, "response.output_text.done")["text"] == "You said: what time is it"
    assert (
        "".join(e["delta"] for e in ev if e["type"] == "response.output_text.delta")
        == "You said: what time is it"
    )
    assert ev[-1]["response"]["output"][0]["content"] == [
        {"type": "output_text", "text": "You said: what time is it"}
    ]


def test_response_overrides_out_of_band_and_metadata() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("aside"))))
    manual(c)
    c.send(
        {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "metadata": {"topic": "x"},
                "output_modalities": ["text"],
            },
        }
    )
    ev = c.events()
    assert "conversation.item.added" not in types(ev)
    done = ev[-1]["response"]
    assert done["conversation_id"] is None and done["metadata"] == {"topic": "x"}
    assert done["output_modalities"] == ["text"]
    assert c.server.conversation == []


def test_max_output_tokens_gives_incomplete() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("x" * 200))))
    manual(c)
    c.send({"type": "response.create", "response": {"max_output_tokens": 5}})
    done = c.events()[-1]["response"]
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert len(done["output"][0]["content"][0]["transcript"]) == 20


def test_fail_step() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(fail("overloaded", code="server_error"))))
    manual(c)
    c.send({"type": "response.create"})
    ev = c.events()
    assert types(ev) == ["response.created", "rate_limits.updated", "response.done"]
    r = ev[-1]["response"]
    assert r["status"] == "failed"
    assert r["status_details"]["error"] == {
        "type": "server_error",
        "code": "server_error",
        "message": "overloaded",
    }


def test_function_call_then_continuation() -> None:
    script = Script(call_function("lookup", '{"query": "weather in Paris"}')).say("Sunny.")
    c = MemoryClient(FakeRealtimeService(script=script))
    manual(c)
    c.send({"type": "response.create"})
    ev = c.events()
    assert types(ev)[2:4] == ["response.output_item.added", "conversation.item.added"]
    args = "".join(e["delta"] for e in ev if e["type"] == "response.function_call_arguments.delta")
    done = first(ev, "response.function_call_arguments.done")
    assert args == done["arguments"] == '{"query": "weather in Paris"}' and done["name"] == "lookup"
    call_id = done["call_id"]
    assert first(ev, "response.output_item.done")["item"]["status"] == "completed"
    c.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call_id, "output": "sunny"},
        }
    )
    c.send({"type": "response.create"})
    ev = c.events()
    assert first(ev, "response.output_audio_transcript.done")["transcript"] == "Sunny."


def answer_approval(c: MemoryClient, item_id: str, request_id: str, *, approve: bool) -> None:
    c.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "mcp_approval_response",
                "id": item_id,
                "approval_request_id": request_id,
                "approve": approve,
            },
        }
    )


def test_mcp_approval_denied_gives_no_call() -> None:
    script = Script(mcp_approval_request("srv", "rm", "{}")).say("ok")
    c = MemoryClient(FakeRealtimeService(script=script))
    manual(c)
    c.send({"type": "response.create"})
    req = first(c.events(), "response.output_item.done")["item"]
    assert req["type"] == "mcp_approval_request"
    answer_approval(c, "a1", req["id"], approve=False)
    c.send({"type": "response.create"})
    ev = c.events()
    assert not [e for e in ev if e["type"].startswith("response.mcp_call")]
    # Answering an unknown approval request is an error.
    answer_approval(c, "a2", "nope", approve=True)
    assert c.events()[0]["type"] == "error"


def test_mcp_approval_approved_runs_the_call_first() -> None:
    script = Script(mcp_approval_request("srv", "rm", '{"f": 1}', output="removed")).say("done")
    c = MemoryClient(FakeRealtimeService(script=script))
    manual(c)
    c.send({"type": "response.create"})
    req = first(c.events(), "response.output_item.done")["item"]
    answer_approval(c, "a1", req["id"], approve=True)
    c.send({"type": "response.create"})
    ev = c.events()
    call = [e for e in ev if e["type"] == "response.output_item.done"][0]["item"]
    assert call["type"] == "mcp_call" and call["approval_request_id"] == req["id"]
    assert call["output"] == "removed" and call["arguments"] == '{"f": 1}'


def test_session_update_with_mcp_tool_lists_its_tools() -> None:
    script = Script(mcp_servers={"docs": [{"name": "search", "input_schema": {}}]})
    c = MemoryClient(FakeRealtimeService(script=script))
    c.events()
    c.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "tools": [{"type": "mcp", "server_label": "docs", "server_url": "https://x"}],
            },
        }
    )
    ev = c.events()
    assert types(ev) == [
        "session.updated",
        "conversation.item.added",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "conversation.item.done",
    ]
    assert ev[-1]["item"]["tools"] == [{"name": "search", "input_schema": {}}]


# ------------------------------------------------------------------ cancel and pacing


def test_cancel_errors_and_unknown_response_id() -> None:
    svc = FakeRealtimeService()
    c = MemoryClient(svc)
    manual(c)
    c.send({"type": "response.cancel", "event_id": "x1"})
    err = c.events()[0]["error"]
    assert err["event_id"] == "x1" and err["code"] == "response_cancel_not_active"
    assert svc.violations == []  # a harmless race, not a protocol violation


def test_realtime_pacing_sends_audio_at_playback_speed() -> None:
    svc = FakeRealtimeService(
        script=Script(say("Paced reply", duration_ms=1000, chunk_ms=100)), pacing="realtime"
    )
    c = MemoryClient(svc, now=100.0)
    manual(c)
    c.send({"type": "response.create"})
    ev = c.events()
    assert types(ev).count("response.output_audio.delta") == 1
    assert c.server.next_deadline() == pytest.approx(100.1)
    c.advance(100.35)
    assert types(c.events()).count("response.output_audio.delta") == 3
    c.advance(101.0)
    rest = c.events()
    assert types(rest).count("response.output_audio.delta") == 6
    assert rest[-1]["type"] == "response.done"
    assert c.server.next_deadline() == 100.0 + 3600  # only the session cap is left


def test_cancel_mid_response_and_active_response_conflict() -> None:
    svc = FakeRealtimeService(
        script=Script(say("A long answer", duration_ms=2000)), pacing="realtime"
    )
    c = MemoryClient(svc, now=0.0)
    manual(c)
    c.send({"type": "response.create"})
    c.advance(0.5)
    ev = c.events()
    rid = ev[0]["response"]["id"]
    c.send({"type": "response.create", "event_id": "second"})
    err = c.events()[0]["error"]
    assert err["code"] == "conversation_already_has_active_response" and rid in err["message"]
    c.send({"type": "response.cancel", "response_id": rid})
    ev2 = c.events()
    assert types(ev2) == AUDIO_ORDER_TAIL
    done = ev2[-1]["response"]
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert done["output"][0]["status"] == "incomplete"
    partial = first(ev2, "response.output_audio_transcript.done")["transcript"]
    assert "A long answer".startswith(partial) and partial != "A long answer"
    c.advance(5.0)
    assert c.events() == []


# ------------------------------------------------------------------ faults


def test_close_mid_response() -> None:
    svc = FakeRealtimeService(
        script=Script(say("bye")),
        faults=Faults(close_after="response.output_audio.delta", close_code=1011),
    )
    c = MemoryClient(svc)
    manual(c)
    c.send({"type": "response.create"})
    ev = c.events()
    assert ev[-1]["type"] == "response.output_audio.delta"
    assert c.closed_code == 1011
    assert c.server.closed


def test_abort_stall_and_injected_frames() -> None:
    c = MemoryClient(FakeRealtimeService(faults=Faults(abort_after="response.created")))
    manual(c)
    c.send({"type": "response.create"})
    assert c.server.aborted and c.server.closed
    assert c.server.data_to_send() == b""

    c = MemoryClient(
        FakeRealtimeService(
            faults=Faults(
                inject_after=("session.created", '{"type":"mystery.event","event_id":"e"}')
            )
        )
    )
    c.events()
    assert '{"type":"mystery.event","event_id":"e"}' in c.raw_frames

    c = MemoryClient(
        FakeRealtimeService(faults=Faults(inject_after=("session.created", "{broken")))
    )
    assert "{broken" in c.raw_frames

    c = MemoryClient(FakeRealtimeService(faults=Faults(stall_after="session.updated")))
    manual(c)
    c.send({"type": "response.create"})
    assert c.events() == []
    c.server.stall(False)
    c.advance(0.0)
    assert "response.done" in types(c.events())


def test_client_close_and_server_close() -> None:
    c = MemoryClient()
    c.events()
    c.close(1000)
    assert c.server.closed and c.server.close_code == 1000
    c = MemoryClient()
    c.server.close(4000, "bye")
    c.advance(0.0)
    assert c.closed_code == 4000
    assert c.server.closed


def test_server_close_times_out_without_reply() -> None:
    c = MemoryClient(now=10.0)
    c.server.close(1001)  # the client never answers: bytes stay in the server
    assert not c.server.closed
    assert c.server.next_deadline() == pytest.approx(12.0)
    c.server.advance(11.0)
    assert not c.server.closed
    c.server.advance(12.0)
    assert c.server.closed and c.server.close_code == 1001
    plain = FakeRealtimeService().new_connection()
    plain.close()
    assert plain.closed  # not upgraded yet: closes at once


def test_vad_speech_turn_via_memory_client() -> None:
    audio = (
        np.concatenate([silence(500), synth_speech(1200, seed=3), silence(800)])
        .astype("<i2")
        .tobytes()
    )
    c = MemoryClient(FakeRealtimeService(script=Script(say("Got it."))))
    c.events()
    for i in range(0, len(audio), 960):
        c.send({"type": "input_audio_buffer.append", "audio": b64(audio[i : i + 960])})
    t = types(c.events())
    assert t[:6] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
        "conversation.item.done",
        "response.created",
    ]
    assert t[-1] == "response.done"


# ------------------------------------------------------------------ robustness


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
CLIENT_TYPES = [
    "session.update",
    "input_audio_buffer.append",
    "input_audio_buffer.commit",
    "input_audio_buffer.clear",
    "output_audio_buffer.clear",
    "conversation.item.create",
    "conversation.item.retrieve",
    "conversation.item.truncate",
    "conversation.item.delete",
    "response.create",
    "response.cancel",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {"type": st.sampled_from(CLIENT_TYPES)},
            optional={
                "event_id": st.text(max_size=5),
                "session": json_values,
                "item": json_values,
                "item_id": json_values,
                "audio": st.sampled_from(["", "AAAA", "!!", "AAAAAAAAAAAAAAAA"]),
                "audio_end_ms": json_values,
                "content_index": json_values,
                "response": json_values,
                "previous_item_id": json_values,
            },
        ),
        max_size=6,
    )
)
def test_random_client_events_never_break_the_server(events: list[dict[str, Any]]) -> None:
    svc = FakeRealtimeService(pacing="realtime")
    c = MemoryClient(svc)
    c.events()
    for e in events:
        c.send(e)
        c.advance(c.now + 0.05)
    c.events()
    assert not [v for v in svc.violations if v.code == "internal_error"]
    assert not c.server.closed
    c.send({"type": "input_audio_buffer.clear"})
    assert "input_audio_buffer.cleared" in types(c.events())


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_before_the_upgrade(data: bytes) -> None:
    server = FakeRealtimeService().new_connection()
    server.receive_data(data, 0.0)
    server.receive_data(b"", 0.0)
    server.data_to_send()
    assert not [v for v in server.violations if v.code == "internal_error"]


def test_malformed_websocket_handshake_is_a_400() -> None:
    server = FakeRealtimeService().new_connection()
    server.receive_data(
        b"GET /v1/realtime?model=gpt-realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nAuthorization: Bearer sk-x\r\n\r\n",
        0.0,
    )
    assert server.data_to_send().startswith(b"HTTP/1.1 400 ")
    assert server.closed


# ------------------------------------------------------------------ calls, formats, delays


def test_sideband_session_comes_from_the_accepted_call() -> None:
    rest = FakeRestApi({"sk-test"})
    call_id, _webhook_headers, _body = rest.simulate_incoming_sip_call()
    svc = FakeRealtimeService(api_keys={"sk-test"}, rest=rest, script=Script(say("Hello caller")))
    assert MemoryClient(svc, target=f"/v1/realtime?call_id={call_id}").rejected_status == 404
    status, _, _ = rest.handle(
        "POST",
        f"/v1/realtime/calls/{call_id}/accept",
        [(b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json")],
        json.dumps({"type": "realtime", "instructions": "Answer the phone."}).encode(),
    )
    assert status == 200
    c = MemoryClient(svc, target=f"/v1/realtime?call_id={call_id}")
    assert c.accepted
    assert c.events()[0]["session"]["instructions"] == "Answer the phone."
    c.send({"type": "response.create"})
    t = types(c.events())
    # Audio goes to the call's media, not over the sideband socket.
    assert "response.output_audio.delta" not in t
    assert "output_audio_buffer.started" in t and t[-1] == "output_audio_buffer.stopped"
    c.server.send_dtmf("5", 1750000000)
    c.advance(0.0)
    dtmf = c.events()[0]
    assert dtmf == {
        "type": "input_audio_buffer.dtmf_event_received",
        "event": "5",
        "received_at": 1750000000,
    }


def test_g711_output_audio() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("abc", duration_ms=600))))
    manual(c, audio={"output": {"format": {"type": "audio/pcmu"}}})
    c.send({"type": "response.create"})
    ev = c.events()
    audio = b"".join(
        base64.b64decode(e["delta"]) for e in ev if e["type"] == "response.output_audio.delta"
    )
    assert len(audio) == 600 * 8  # 8 kHz, one byte per sample
    assert ev[0]["response"]["audio"]["output"]["format"] == {"type": "audio/pcmu"}


def test_reply_delay_in_realtime_pacing() -> None:
    script = Script()
    script.reply(say("late", duration_ms=200), delay_ms=700)
    c = MemoryClient(FakeRealtimeService(script=script, pacing="realtime"), now=0.0)
    manual(c)
    c.send({"type": "response.create"})
    assert types(c.events()) == ["response.created", "rate_limits.updated"]
    assert c.server.next_deadline() == pytest.approx(0.7)
    c.advance(0.69)
    assert c.events() == []
    c.advance(0.7)
    assert "response.output_item.added" in types(c.events())
    c.run_until_idle()
    assert types(c.events())[-1] == "response.done"


def test_tracing_cannot_change_once_enabled_and_expires_at() -> None:
    c = MemoryClient(FakeRealtimeService(clock=lambda: 1_800_000_000.0))
    assert c.events()[0]["session"]["expires_at"] == 1_800_000_000 + 3600
    c.send({"type": "session.update", "session": {"type": "realtime", "tracing": "auto"}})
    assert c.events()[0]["session"]["tracing"] == "auto"
    c.send({"type": "session.update", "session": {"type": "realtime", "tracing": None}})
    assert c.events()[0]["error"]["param"] == "session.tracing"


@pytest.mark.parametrize(
    ("model", "usage_type"), [("whisper-1", "duration"), ("gpt-4o-transcribe", "tokens")]
)
def test_transcription_usage_and_logprobs(model: str, usage_type: str) -> None:
    c = MemoryClient(FakeRealtimeService(script=Script().transcribe("two words")))
    manual(
        c,
        audio={"input": {"transcription": {"model": model}}},
        include=["item.input_audio_transcription.logprobs"],
    )
    c.send({"type": "input_audio_buffer.append", "audio": b64(pcm(500))})
    c.send({"type": "input_audio_buffer.commit"})
    done = first(c.events(), "conversation.item.input_audio_transcription.completed")
    assert done["usage"]["type"] == usage_type
    assert [lp["token"] for lp in done["logprobs"]] == ["two ", "words"]


def accepted_sip_call(rest: FakeRestApi, session: dict[str, Any]) -> str:
    call_id, _, _ = rest.simulate_incoming_sip_call()
    status, _, _ = rest.handle(
        "POST",
        f"/v1/realtime/calls/{call_id}/accept",
        [(b"authorization", b"Bearer sk-test"), (b"content-type", b"application/json")],
        json.dumps(session).encode(),
    )
    assert status == 200
    return call_id


def test_sideband_session_is_the_accepted_config_merged_over_the_defaults() -> None:
    rest = FakeRestApi({"sk-test"})
    call_id = accepted_sip_call(
        rest,
        {
            "type": "realtime",
            "instructions": "Answer the phone.",
            "output_modalities": ["audio"],
            "audio": {
                "input": {"format": {"type": "audio/pcmu"}, "turn_detection": None},
                "output": {"voice": "marin"},
            },
            "tools": [{"type": "function", "name": "transfer", "parameters": {"type": "object"}}],
        },
    )
    svc = FakeRealtimeService(api_keys={"sk-test"}, rest=rest, script=Script(say("Hello")))
    c = MemoryClient(svc, target=f"/v1/realtime?call_id={call_id}")
    s = c.events()[0]["session"]
    # What the accept said ...
    assert s["instructions"] == "Answer the phone."
    assert s["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert s["audio"]["input"]["turn_detection"] is None
    assert s["audio"]["output"]["voice"] == "marin"
    assert [t["name"] for t in s["tools"]] == ["transfer"]
    # ... over the defaults for everything it did not say.
    assert s["audio"]["output"]["format"] == {"type": "audio/pcm", "rate": 24000}
    assert s["audio"]["output"]["speed"] == 1.0
    assert (s["tool_choice"], s["max_output_tokens"], s["model"]) == ("auto", "inf", "gpt-realtime")
    assert s["object"] == "realtime.session" and s["id"].startswith("sess_")
    assert s["expires_at"] > 0
    # And the connection behaves by it: no VAD, the accepted voice in responses.
    c.send({"type": "input_audio_buffer.append", "audio": b64(b"\xff" * 8000)})
    assert c.events() == []
    c.send({"type": "response.create"})
    assert c.events()[0]["response"]["audio"]["output"]["voice"] == "marin"


def test_sideband_of_a_webrtc_call_uses_the_session_it_was_created_with() -> None:
    rest = FakeRestApi({"sk-test"})
    auth = [(b"authorization", b"Bearer sk-test")]
    status, _, body = rest.handle(
        "POST",
        "/v1/realtime/client_secrets",
        auth,
        json.dumps({"session": {"type": "realtime", "instructions": "Be a pirate."}}).encode(),
    )
    secret = json.loads(body)["value"]
    status, headers, _ = rest.handle(
        "POST",
        "/v1/realtime/calls",
        [(b"authorization", f"Bearer {secret}".encode()), (b"content-type", b"application/sdp")],
        b"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n",
    )
    assert status == 201
    call_id = dict(headers)[b"location"].decode().rsplit("/", 1)[-1]
    c = MemoryClient(
        FakeRealtimeService(api_keys={"sk-test"}, rest=rest),
        target=f"/v1/realtime?call_id={call_id}",
    )
    assert c.events()[0]["session"]["instructions"] == "Be a pirate."


def test_fast_pacing_sends_the_whole_response_at_once() -> None:
    c = MemoryClient(FakeRealtimeService(script=Script(say("Quick", duration_ms=3000))), now=7.0)
    manual(c)
    c.send({"type": "response.create"})
    ev = c.events()
    assert types(ev).count("response.output_audio.delta") == 30  # 3 s in 100 ms chunks
    assert ev[-1]["type"] == "response.done"
    assert c.server.next_deadline() == 7.0 + 3600  # only the session cap is left


def test_scripted_transcription_failure() -> None:
    script = Script().transcribe(None, error={"code": "audio_unintelligible", "message": "??"})
    c = MemoryClient(FakeRealtimeService(script=script))
    manual(c, audio={"input": {"transcription": {"model": "gpt-4o-transcribe"}}})
    c.send({"type": "input_audio_buffer.append", "audio": b64(pcm(300))})
    c.send({"type": "input_audio_buffer.commit"})
    ev = c.events()
    failed = first(ev, "conversation.item.input_audio_transcription.failed")
    assert failed["error"]["code"] == "audio_unintelligible" and failed["error"]["message"] == "??"
    assert "conversation.item.input_audio_transcription.completed" not in types(ev)
    assert c.server.items[-1]["content"][0]["transcript"] is None


@pytest.mark.parametrize(
    ("audio", "param", "message"),
    [
        (
            {"output": {"speed": 0.1}},
            "session.audio.output.speed",
            "Invalid 'speed': 0.1 is not between 0.25 and 1.5.",
        ),
        (
            {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}},
            "session.audio.input.turn_detection.threshold",
            "Invalid 'threshold': 1.5 is not between 0 and 1.",
        ),
    ],
)
def test_range_rules_name_the_parameter_and_bounds(
    audio: dict[str, Any], param: str, message: str
) -> None:
    c = MemoryClient()
    c.events()
    c.send({"type": "session.update", "session": {"type": "realtime", "audio": audio}})
    err = c.events()[0]["error"]
    assert (err["param"], err["message"]) == (param, message)


def test_sideband_session_shows_only_the_chosen_types_fields() -> None:
    rest = FakeRestApi({"sk-test"})
    call_id = accepted_sip_call(
        rest,
        {
            "type": "realtime",
            "audio": {
                "input": {"turn_detection": {"type": "semantic_vad", "eagerness": "low"}},
                "output": {"format": {"type": "audio/pcma"}},
            },
        },
    )
    c = MemoryClient(FakeRealtimeService(rest=rest), target=f"/v1/realtime?call_id={call_id}")
    audio = c.events()[0]["session"]["audio"]
    assert audio["input"]["turn_detection"] == {
        "type": "semantic_vad",
        "eagerness": "low",
        "create_response": True,
        "interrupt_response": True,
    }
    assert audio["output"]["format"] == {"type": "audio/pcma"}


def test_session_created_carries_the_full_default_session() -> None:
    s = MemoryClient().events()[0]["session"]
    pcm24 = {"type": "audio/pcm", "rate": 24000}
    assert (s["type"], s["model"], s["output_modalities"]) == (
        "realtime",
        "gpt-realtime",
        ["audio"],
    )
    assert (s["tools"], s["tool_choice"], s["max_output_tokens"]) == ([], "auto", "inf")
    assert (s["tracing"], s["prompt"], s["truncation"], s["include"]) == (None, None, "auto", None)
    assert s["instructions"].startswith("Your knowledge cutoff is")
    assert s["audio"]["input"]["format"] == pcm24 and s["audio"]["output"]["format"] == pcm24
    assert s["audio"]["output"]["voice"] == "alloy" and s["audio"]["output"]["speed"] == 1.0
    assert s["audio"]["input"]["transcription"] is None
    assert s["audio"]["input"]["noise_reduction"] is None
    assert s["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 200,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }
