"""oairt_anyio on uvloop (the ``oairt[uvloop]`` extra), chosen through anyio's backend option.

A whole session against the fake server, with audio both ways, on the loop uvloop provides:
the adapter and the frame fast path work there as on the default loop.
"""

from __future__ import annotations

import asyncio
import sys

import anyio
import numpy as np
import pytest

import oairt_anyio
from oairt_anyio.testing import run_fake_server
from oairt_core.audio import silence, synth_speech
from oairt_core.events import InputAudioBufferAppendEvent, ResponseOutputAudioDeltaEvent
from oairt_core.testing import Script, say
from tests.test_fake_server_runner import collect_until, name

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not for Windows")
uvloop = pytest.importorskip("uvloop")


async def _session() -> tuple[str, list[str], int]:
    loop = type(asyncio.get_running_loop()).__module__
    audio = (
        np.concatenate([silence(400), synth_speech(1000, seed=4), silence(600)])
        .astype("<i2")
        .tobytes()
    )
    async with (
        run_fake_server(script=Script(say("Hello from loopback."))) as server,
        oairt_anyio.open_realtime(
            api_key=server.api_key, model="gpt-realtime", base_url=server.url
        ) as conn,
    ):
        for i in range(0, len(audio), 960):
            await conn.send(InputAudioBufferAppendEvent(audio=audio[i : i + 960]))
        events = await collect_until(conn, "response.done")
        assert not server.violations
    deltas = sum(isinstance(e, ResponseOutputAudioDeltaEvent) for e in events)
    return loop, [name(e) for e in events], deltas


def test_a_session_on_uvloop() -> None:
    loop, types, deltas = anyio.run(
        _session, backend="asyncio", backend_options={"use_uvloop": True}
    )
    assert loop.startswith("uvloop")
    assert types[0] == "session.created" and types[-1] == "response.done"
    assert deltas > 0


def test_the_cli_runs_on_uvloop_when_installed_and_can_be_told_not_to() -> None:
    """``oairt`` subcommands pick uvloop when it is installed; ``OAIRT_UVLOOP=0`` opts out."""
    import importlib.util

    from oairt_anyio._cli._loop import uvloop_wanted

    installed = importlib.util.find_spec("uvloop") is not None
    assert uvloop_wanted({}) is installed
    assert uvloop_wanted({"OAIRT_UVLOOP": "off"}) is False
    assert uvloop_wanted({"OAIRT_UVLOOP": "1"}) is installed
