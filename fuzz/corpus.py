"""Seeds and deterministic mutators shared by the atheris harnesses and the hypothesis tests.

A mutation is a list of small integer triples ``(op, where, what)`` so both a
hypothesis strategy and atheris' ``FuzzedDataProvider`` can drive it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "HOSTILE_VALUES",
    "REST_SEEDS",
    "SERVER_EVENT_SEEDS",
    "hostile_json",
    "mutate_bytes",
    "replace_value",
]

_AUDIO = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
_RESP = (
    '{"id":"resp_1","object":"realtime.response","status":"in_progress","status_details":null,'
    '"output":[],"conversation_id":"conv_1","output_modalities":["audio"],'
    '"max_output_tokens":"inf","audio":{"output":{"format":{"type":"audio/pcm","rate":24000},'
    '"voice":"marin"}},"usage":null,"metadata":null}'
)
_RESP_DONE = (
    '{"id":"resp_1","object":"realtime.response","status":"failed","status_details":'
    '{"type":"failed","error":{"type":"server_error","code":"boom","message":"x"}},'
    '"output":[{"id":"item_2","type":"message","role":"assistant","status":"incomplete",'
    '"content":[{"type":"output_audio","transcript":"hi"}]}],"usage":{"total_tokens":5,'
    '"input_tokens":3,"output_tokens":2,"input_token_details":{"text_tokens":1,"audio_tokens":2,'
    '"cached_tokens":0,"cached_tokens_details":{"text_tokens":0,"audio_tokens":0}},'
    '"output_token_details":{"text_tokens":1,"audio_tokens":1}},"metadata":{"k":"v"}}'
)
_SESSION = (
    '{"type":"realtime","object":"realtime.session","id":"sess_1","model":"gpt-realtime",'
    '"expires_at":0,"instructions":"Be brief.","output_modalities":["audio"],'
    '"max_output_tokens":"inf","tracing":null,"prompt":null,"include":null,'
    '"tool_choice":"auto","tools":[{"type":"function","name":"f","description":"d",'
    '"parameters":{"type":"object","properties":{}}}],"audio":{"input":{"format":'
    '{"type":"audio/pcm","rate":24000},"transcription":null,"noise_reduction":null,'
    '"turn_detection":{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,'
    '"silence_duration_ms":200,"idle_timeout_ms":null,"create_response":true,'
    '"interrupt_response":true}},"output":{"format":{"type":"audio/pcm","rate":24000},'
    '"voice":"marin","speed":1.0}}}'
)
_USER_ITEM = (
    '{"id":"item_1","object":"realtime.item","type":"message","status":"completed",'
    '"role":"user","content":[{"type":"input_audio","transcript":null}]}'
)

#: One valid GA server event (JSON text) per line, covering most of the 46 types.
SERVER_EVENT_SEEDS: list[bytes] = [
    s.encode()
    for s in [
        '{"type":"session.created","event_id":"e1","session":' + _SESSION + "}",
        '{"type":"session.updated","event_id":"e2","session":' + _SESSION + "}",
        '{"type":"session.updated","event_id":"e2b","session":{"type":"transcription",'
        '"audio":{"input":{"format":{"type":"audio/pcmu"},"transcription":{"model":'
        '"gpt-4o-transcribe","language":"en"},"turn_detection":null}}}}',
        '{"type":"conversation.created","event_id":"e3","conversation":{"id":"conv_1",'
        '"object":"realtime.conversation"}}',
        '{"type":"conversation.item.added","event_id":"e4","previous_item_id":null,"item":'
        + _USER_ITEM
        + "}",
        '{"type":"conversation.item.done","event_id":"e5","previous_item_id":"item_0","item":'
        + _USER_ITEM
        + "}",
        '{"type":"conversation.item.created","event_id":"e6","item":{"id":"item_3","type":'
        '"function_call_output","call_id":"c1","output":"{}"}}',
        '{"type":"conversation.item.deleted","event_id":"e7","item_id":"item_1"}',
        '{"type":"conversation.item.retrieved","event_id":"e8","item":{"id":"item_2","type":'
        '"message","role":"assistant","content":[{"type":"output_audio","audio":"'
        + _AUDIO
        + '","transcript":"hi"}]}}',
        '{"type":"conversation.item.truncated","event_id":"e9","item_id":"item_2",'
        '"content_index":0,"audio_end_ms":1500}',
        '{"type":"conversation.item.input_audio_transcription.completed","event_id":"e10",'
        '"item_id":"item_1","content_index":0,"transcript":"hello","usage":{"type":"duration",'
        '"seconds":1.5},"logprobs":[{"token":"he","bytes":[104,101],"logprob":-0.1}]}',
        '{"type":"conversation.item.input_audio_transcription.delta","event_id":"e11",'
        '"item_id":"item_1","content_index":0,"delta":"hel","obfuscation":"xyz"}',
        '{"type":"conversation.item.input_audio_transcription.failed","event_id":"e12",'
        '"item_id":"item_1","content_index":0,"error":{"type":"x","code":"y","message":"z"}}',
        '{"type":"conversation.item.input_audio_transcription.segment","event_id":"e13",'
        '"item_id":"item_1","content_index":0,"id":"seg_1","text":"hi","speaker":"A",'
        '"start":0.0,"end":0.5}',
        '{"type":"error","event_id":"e14","error":{"type":"invalid_request_error","code":'
        '"invalid_event","message":"The \'type\' field is missing.","param":null,'
        '"event_id":"evt_9"}}',
        '{"type":"input_audio_buffer.cleared","event_id":"e15"}',
        '{"type":"input_audio_buffer.committed","event_id":"e16","item_id":"item_1",'
        '"previous_item_id":null}',
        '{"type":"input_audio_buffer.dtmf_event_received","event":"5","received_at":1700000000}',
        '{"type":"input_audio_buffer.speech_started","event_id":"e17","item_id":"item_1",'
        '"audio_start_ms":120}',
        '{"type":"input_audio_buffer.speech_stopped","event_id":"e18","item_id":"item_1",'
        '"audio_end_ms":900}',
        '{"type":"input_audio_buffer.timeout_triggered","event_id":"e19","item_id":"item_1",'
        '"audio_start_ms":0,"audio_end_ms":5000}',
        '{"type":"rate_limits.updated","event_id":"e20","rate_limits":[{"name":"requests",'
        '"limit":1000,"remaining":999,"reset_seconds":0.06},{"name":"tokens","limit":50000,'
        '"remaining":49000,"reset_seconds":1.2}]}',
        '{"type":"response.created","event_id":"e21","response":' + _RESP + "}",
        '{"type":"response.done","event_id":"e22","response":' + _RESP_DONE + "}",
        '{"type":"response.output_item.added","event_id":"e23","response_id":"resp_1",'
        '"output_index":0,"item":{"id":"item_2","type":"message","role":"assistant",'
        '"status":"in_progress","content":[]}}',
        '{"type":"response.output_item.done","event_id":"e24","response_id":"resp_1",'
        '"output_index":0,"item":{"id":"item_4","type":"function_call","call_id":"c1",'
        '"name":"f","arguments":"{\\"a\\":1}","status":"completed"}}',
        '{"type":"response.content_part.added","event_id":"e25","response_id":"resp_1",'
        '"item_id":"item_2","output_index":0,"content_index":0,"part":{"type":"audio",'
        '"transcript":""}}',
        '{"type":"response.content_part.done","event_id":"e26","response_id":"resp_1",'
        '"item_id":"item_2","output_index":0,"content_index":0,"part":{"type":"text",'
        '"text":"hi"}}',
        '{"type":"response.output_audio.delta","event_id":"e27","response_id":"resp_1",'
        '"item_id":"item_2","output_index":0,"content_index":0,"delta":"' + _AUDIO + '"}',
        '{"type":"response.output_audio.done","event_id":"e28","response_id":"resp_1",'
        '"item_id":"item_2","output_index":0,"content_index":0}',
        '{"type":"response.output_audio_transcript.delta","event_id":"e29","response_id":'
        '"resp_1","item_id":"item_2","output_index":0,"content_index":0,"delta":"Hi",'
        '"obfuscation":"ab"}',
        '{"type":"response.output_audio_transcript.done","event_id":"e30","response_id":'
        '"resp_1","item_id":"item_2","output_index":0,"content_index":0,"transcript":"Hi"}',
        '{"type":"response.output_text.delta","event_id":"e31","response_id":"resp_1",'
        '"item_id":"item_2","output_index":0,"content_index":0,"delta":"\\u00e9\\ud83d\\ude00"}',
        '{"type":"response.output_text.done","event_id":"e32","response_id":"resp_1",'
        '"item_id":"item_2","output_index":0,"content_index":0,"text":"done"}',
        '{"type":"response.function_call_arguments.delta","event_id":"e33","response_id":'
        '"resp_1","item_id":"item_4","output_index":0,"call_id":"c1","delta":"{\\"a\\""}',
        '{"type":"response.function_call_arguments.done","event_id":"e34","response_id":'
        '"resp_1","item_id":"item_4","output_index":0,"call_id":"c1","name":"f",'
        '"arguments":"{\\"a\\":1}"}',
        '{"type":"output_audio_buffer.started","event_id":"e35","response_id":"resp_1"}',
        '{"type":"output_audio_buffer.stopped","event_id":"e36","response_id":"resp_1"}',
        '{"type":"output_audio_buffer.cleared","event_id":"e37","response_id":"resp_1"}',
        '{"type":"mcp_list_tools.in_progress","event_id":"e38","item_id":"item_5"}',
        '{"type":"mcp_list_tools.completed","event_id":"e39","item_id":"item_5"}',
        '{"type":"mcp_list_tools.failed","event_id":"e40","item_id":"item_5"}',
        '{"type":"response.mcp_call_arguments.delta","event_id":"e41","response_id":"resp_1",'
        '"item_id":"item_6","output_index":1,"delta":"{","obfuscation":"q"}',
        '{"type":"response.mcp_call_arguments.done","event_id":"e42","response_id":"resp_1",'
        '"item_id":"item_6","output_index":1,"arguments":"{}"}',
        '{"type":"response.mcp_call.in_progress","event_id":"e43","item_id":"item_6",'
        '"output_index":1}',
        '{"type":"response.mcp_call.completed","event_id":"e44","item_id":"item_6",'
        '"output_index":1}',
        '{"type":"response.mcp_call.failed","event_id":"e45","item_id":"item_6","output_index":1}',
        '{"type":"some.future_event","event_id":"e46","anything":[1,2,{"x":null}]}',
    ]
]

#: Whole HTTP/1.1 responses as the REST endpoints answer them.
REST_SEEDS: list[bytes] = [
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    % (len(body), body)
    for body in [
        b'{"value":"ek_abc123def456","expires_at":1700000600,"session":' + _SESSION.encode() + b"}"
    ]
] + [
    b"HTTP/1.1 201 Created\r\ncontent-type: application/sdp\r\n"
    b"location: /v1/realtime/calls/rtc_abc123\r\ncontent-length: 20\r\n\r\n"
    b"v=0\r\no=- 1 1 IN IP4 0",
    b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
    b"HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ntransfer-encoding: chunked"
    b"\r\n\r\n5a\r\n"
    b'{"error":{"message":"Incorrect API key provided: sk-abc...","type":"invalid_request_error"'
    b"}}\r\n0\r\n\r\n",
    b"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 73\r\n\r\n"
    b'{"error":{"message":"slow down","type":"rate_limit","code":429,"param":null}}',
]

#: Raw JSON fragments that stress parsers: huge numbers, odd escapes, deep nesting.
HOSTILE_VALUES: list[bytes] = [
    b"1e400",
    b"-1e400",
    b"1" * 5000,
    b"-" + b"9" * 5000,
    b"0.000000000000000000000000000000000000000000000001e-400",
    b'"' + b"A" * 100_000 + b'"',
    b'"\\ud800"',
    b'"\\u0000\\u001f\\\\"',
    b'"\xff\xfe"',
    b"[" * 2000 + b"]" * 2000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b"null",
    b"true",
    b"[]",
    b"{}",
    b'""',
    b"NaN",
    b"Infinity",
]

_TOKENS = [b"{", b"}", b"[", b"]", b'"', b":", b",", b"\\", b"\x00", b"\xff", b"1e400", b"null"]


def mutate_bytes(data: bytes, ops: Iterable[tuple[int, int, int]]) -> bytes:
    """Apply byte-level mutations: flip, insert, delete, duplicate, splice tokens or values."""
    buf = bytearray(data)
    for op, where, what in ops:
        n = len(buf)
        pos = where % (n + 1)
        kind = op % 6
        if kind == 0 and n:
            buf[pos % n] ^= 1 << (what % 8)
        elif kind == 1:
            buf[pos:pos] = bytes([what % 256])
        elif kind == 2 and n:
            del buf[pos : pos + 1 + what % 8]
        elif kind == 3 and n:
            chunk = buf[pos : pos + 1 + what % 64]
            buf[pos:pos] = chunk
        elif kind == 4:
            buf[pos:pos] = _TOKENS[what % len(_TOKENS)]
        elif kind == 5:
            buf[pos:pos] = HOSTILE_VALUES[what % len(HOSTILE_VALUES)]
    return bytes(buf)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


_PLACEHOLDER = "\x00oairt-hostile\x00"


def replace_value(data: bytes, which: int, value: bytes) -> bytes:
    """Valid JSON ``data`` with the ``which``-th value (pre-order) replaced by raw ``value``.

    The replacement keeps the rest of the document intact, so the event still has
    its real ``type`` and the decoder reaches the field under attack.
    """
    obj = json.loads(data)
    paths = _paths(obj)
    path = paths[which % len(paths)]
    if not path:
        return value
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = _PLACEHOLDER
    text = json.dumps(obj, separators=(",", ":")).encode()
    return text.replace(json.dumps(_PLACEHOLDER).encode(), value, 1)


def hostile_json(kind: int, size: int) -> bytes:
    """Standalone pathological documents: deep nesting, long strings, huge numbers."""
    kind %= 5
    if kind == 0:
        return b"[" * size + b"]" * size
    if kind == 1:
        return b'{"type":"error","error":' + b'{"a":' * size + b"1" + b"}" * size + b"}"
    if kind == 2:
        return b'{"type":"response.output_text.delta","delta":"' + b"x" * size + b'"}'
    if kind == 3:
        return b'{"type":"conversation.item.truncated","audio_end_ms":' + b"9" * size + b"}"
    return b'{"type":"' + b"t" * size + b'"}'


def seeds(extra: Sequence[bytes] = ()) -> list[bytes]:
    return [*SERVER_EVENT_SEEDS, *extra]
