"""Leaving the block against a peer that never answers our close frame: a bounded wait.

Both WebSocket adapters (anyio on asyncio and trio, oairt_trio on trio): the close frame is
sent, nothing comes back, and the block still ends once ``close_timeout`` has passed, with
the socket released and the closure recorded as not clean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest

from tests.conftest import Adapter
from tests.support.wsserver import ServerConn, serve

pytestmark = pytest.mark.anyio

KEY = "sk-test-close-timeout-000000"
@pytest.fixture
def open_conn(adapter: Adapter) -> Callable[..., Any]:
    opener: Callable[..., Any] = adapter.open_realtime
    return opener


async def test_close_without_a_reply_ends_after_close_timeout(
    open_conn: Callable[..., Any],
) -> None:
    received = bytearray()
    peer_saw_eof = anyio.Event()

    async def silent_peer(conn: ServerConn) -> None:
        await conn.accept()
        # Read everything (our close frame included) and answer nothing, until the client
        # gives up and drops the TCP connection.
        try:
            while True:
                received.extend(await conn.stream.receive())
        except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
            peer_saw_eof.set()

    async with serve(silent_peer) as server:
        with anyio.fail_after(10):  # a hang fails the test instead of blocking the suite
            async with open_conn(
                api_key=KEY, model="m", base_url=server.url, close_timeout=0.2
            ) as conn:
                pass
            await peer_saw_eof.wait()
    assert conn.closed is not None
    assert conn.closed.initiated_locally and not conn.closed.clean
    # The close frame went out (client frames are masked: opcode 0x8 with FIN set).
    assert received and received[0] == 0x88
