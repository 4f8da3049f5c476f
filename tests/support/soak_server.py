"""The fake Realtime server in its own process, for the soak test.

Running it apart keeps the client's memory measurement clean (the fake server keeps
every event for assertions) and lets client and server use two cores. Protocol on
stdio: it prints ``{"port": N}``; when a line arrives on stdin it prints one JSON
line with, per connection, the sha256 and size of the input audio it received, of
the output audio it sent, and of the ``type|event_id`` sequence it sent, then exits.

    python -m tests.support.soak_server
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from typing import Any

import anyio
import anyio.to_thread

from oairt_anyio.testing import run_fake_server
from oairt_core.testing import Script, say

KEY = "sk-test-soak-0123456789abcdef"


def tally(conn: Any) -> dict[str, Any]:
    audio_in, audio_out, events = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    n_in = n_out = n_events = 0
    for ev in conn.received_events:
        if ev.get("type") == "input_audio_buffer.append":
            audio = base64.b64decode(ev["audio"])
            audio_in.update(audio)
            n_in += len(audio)
    for ev in conn.sent_events:
        n_events += 1
        events.update(f"{ev['type']}|{ev.get('event_id', '')}\n".encode())
        if ev["type"] == "response.output_audio.delta":
            audio = base64.b64decode(ev["delta"])
            audio_out.update(audio)
            n_out += len(audio)
    return {
        "audio_in": audio_in.hexdigest(),
        "audio_in_bytes": n_in,
        "audio_out": audio_out.hexdigest(),
        "audio_out_bytes": n_out,
        "events": events.hexdigest(),
        "event_count": n_events,
        "violations": [repr(v) for v in conn.violations],
    }


async def main(replies: int) -> None:
    script = Script(*[say("Ok.", duration_ms=120) for _ in range(replies)], echo=False)
    async with run_fake_server(script=script, api_keys={KEY}) as server:
        print(json.dumps({"port": server.port}), flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)
        report = [tally(c) for c in server.connections]
        print(json.dumps(report), flush=True)


if __name__ == "__main__":
    anyio.run(main, int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
