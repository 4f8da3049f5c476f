"""Hostile HTTP responses against the REST response parser: only oairt errors come out."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.corpus import REST_SEEDS, mutate_bytes
from oairt_core._redact import Secret
from oairt_core.connection import NEED_DATA
from oairt_core.errors import APIError, OairtError, RemoteProtocolError
from oairt_core.rest import (
    ClientSecret,
    RestConfig,
    RestConnection,
    RestResponse,
    build_hangup_call,
    parse_call_answer,
    parse_client_secret,
    parse_empty_response,
)

ops = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 1 << 16), st.integers(0, 255)), max_size=12
)
splits = st.lists(st.integers(1, 4096), max_size=8)

PARSERS = (parse_client_secret, parse_call_answer, parse_empty_response)


def feed(data: bytes, cuts: list[int], *, limit: int = 1 << 20) -> RestResponse | None:
    """Drive a RestConnection over ``data`` cut at ``cuts``; EOF at the end."""
    conn = RestConnection(max_response_size=limit)
    conn.send_request(build_hangup_call(RestConfig("sk-test-123456789"), "rtc_1"))
    pos = 0
    pieces = []
    for c in cuts:
        pieces.append(data[pos : pos + c])
        pos += c
    pieces.append(data[pos:])
    pieces.append(b"")  # end of stream
    for piece in pieces:
        conn.receive_data(piece)
        result = conn.next_response()
        if result is not NEED_DATA:
            assert isinstance(result, RestResponse)
            return result
        if piece == b"":
            break
    return None


def check(data: bytes, cuts: list[int]) -> None:
    try:
        response = feed(data, cuts)
    except RemoteProtocolError:
        return
    except OairtError as exc:  # pragma: no cover - would be a wrong error type
        pytest.fail(f"unexpected {type(exc).__name__}")
    if response is None:
        return
    for parse in PARSERS:
        try:
            result = parse(response)
        except (APIError, RemoteProtocolError) as exc:
            assert "ek_abc123def456" not in str(exc)
            continue
        if isinstance(result, ClientSecret):
            assert isinstance(result.value, Secret)
            assert "ek_" not in repr(result) or "ek_..." in repr(result)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(REST_SEEDS), ops=ops, cuts=splits)
def test_mutated_responses(seed: bytes, ops: list[tuple[int, int, int]], cuts: list[int]) -> None:
    check(mutate_bytes(seed, ops), cuts)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2048), cuts=splits)
def test_random_bytes(data: bytes, cuts: list[int]) -> None:
    check(data, cuts)


@settings(max_examples=200, deadline=None)
@given(
    status=st.integers(100, 999),
    body=st.binary(max_size=512) | st.sampled_from([b"{}", b'{"error":null}', b'{"error":[]}']),
    chunked=st.booleans(),
)
def test_any_status_any_body(status: int, body: bytes, chunked: bool) -> None:
    if chunked:
        framing = b"transfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    else:
        framing = b"content-length: %d\r\n\r\n%s" % (len(body), body)
    check(b"HTTP/1.1 %d X\r\n" % status + framing, [])


def test_declared_body_over_the_cap_is_refused_before_reading() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (1 << 40)
    with pytest.raises(RemoteProtocolError):
        feed(head, [], limit=1 << 20)


def test_chunked_body_over_the_cap_is_refused_with_bounded_memory() -> None:
    conn = RestConnection(max_response_size=1 << 20)
    conn.send_request(build_hangup_call(RestConfig("sk-test-123456789"), "rtc_1"))
    conn.receive_data(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
    tracemalloc.start()
    try:
        with pytest.raises(RemoteProtocolError):
            for _ in range(10_000):  # 640 MiB if nothing stopped it
                conn.receive_data(chunk)
                assert conn.next_response() is NEED_DATA
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_enormous_header_block_is_refused() -> None:
    data = b"HTTP/1.1 200 OK\r\n" + b"x-a: " + b"a" * (1 << 20) + b"\r\n\r\n"
    with pytest.raises(RemoteProtocolError):
        # Read as a socket would deliver it: the cap applies while the block is incomplete.
        feed(data, [4096] * (len(data) // 4096))


@pytest.mark.parametrize("status", [200, 201, 401, 500])
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b'{"error":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"value":"ek_x","expires_at":1,"session":' + b'{"a":' * 50_000 + b"1" + b"}" * 50_001,
        b'{"error":{"message":"' + b"\\ud800" * 1000 + b'"}}',
        b'{"value":"ek_x","expires_at":' + b"9" * 5000 + b',"session":{}}',
    ],
    ids=["deep-array", "deep-error", "deep-session", "surrogates", "huge-int"],
)
def test_pathological_bodies(status: int, body: bytes) -> None:
    data = b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n\r\n%s" % (status, len(body), body)
    check(data, [])
