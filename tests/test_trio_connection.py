"""oairt_trio against the loopback wsproto server (trio only: run through the anyio plugin).

Every scenario of tests/test_anyio_connection.py that opens its connection through the
``open_conn`` fixture runs here with ``oairt_trio.open_realtime``; below, what only trio has.
"""

from __future__ import annotations

import pytest
import trio

import oairt_trio
from oairt_core.events import InputAudioBufferClearedEvent
from tests.test_anyio_connection import (  # noqa: F401  (collected here with trio)
    Opener,
    test_async_for_raises_on_abnormal_close,
    test_backpressure_blocks_reader_and_drops_nothing,
    test_body_exception_is_not_wrapped,
    test_cancelled_block_closes_and_leaves_no_task,
    test_cancelled_send_never_leaves_half_a_frame,
    test_client_initiated_close,
    test_close_with_unread_buffered_events_does_not_hang,
    test_connect_timeout_is_typed,
    test_connection_refused_is_typed,
    test_exchange_events_and_server_close,
    test_handshake_rejection,
    test_invalid_utf8_fails_connection_1007,
    test_malformed_event_is_delivered_and_session_continues,
    test_on_message_records_both_directions,
    test_oversized_message_closes_1009,
    test_ping_is_answered_and_fragments_with_pings_reassemble,
    test_protocol_violation_fails_connection_1002,
    test_rejection_without_json_body,
    test_send_after_close_is_a_local_error,
    test_ssl_false_refused_for_wss,
    test_tcp_reset_mid_message_raises_1006_after_buffered_events,
    test_tls_with_verification,
    test_write_timeout_aborts_a_stuck_write,
)
from tests.wsserver import ServerConn, serve

pytestmark = pytest.mark.anyio

KEY = "sk-test-SECRET-abcdefghijklmnop"


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


@pytest.fixture
def open_conn() -> Opener:
    return oairt_trio.open_realtime


def cleared(n: int) -> dict[str, str]:
    return {"type": "input_audio_buffer.cleared", "event_id": f"ev_{n}"}


async def test_connect_realtime_in_nursery_and_client_close() -> None:
    codes: list[int | None] = []

    async def handler(conn: ServerConn) -> None:
        await conn.accept()
        await conn.send_event(cleared(2))
        codes.append(await conn.wait_closed())

    async with serve(handler) as server, trio.open_nursery() as nursery:
        conn = await oairt_trio.connect_realtime(
            nursery, api_key=KEY, intent="transcription", base_url=server.url
        )
        assert isinstance(await conn.next_event(), InputAudioBufferClearedEvent)
        await conn.close()
        assert conn.closed is not None and conn.closed.normal
    assert codes == [1000]
    assert server.requests[0].target == "/v1/realtime?intent=transcription"
