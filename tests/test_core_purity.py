"""The core is pure (issue 11, point 1): ``oairt_core`` (the async layer included)
imports with asyncio, trio, anyio, sniffio and threading blocked, never reads the
process environment and never builds a TLS context; a RealtimeConnection and a
VoiceSession are driven to a completed turn by hand, with time passed in.

Run in a subprocess so that the blocked imports are really absent.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    r'''
    import sys

    BLOCKED = {"asyncio", "trio", "anyio", "sniffio", "threading", "_thread"}
    BLOCKED_NOW = BLOCKED - {"_thread"}  # the interpreter itself has _thread loaded


    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"import of {name} is blocked")
            return None


    if sys.version_info < (3, 11):
        # numpy (a dependency, not the core) imports platform -> subprocess -> threading on
        # 3.10; there the check covers the event loops, and 3.11+ covers threading too.
        import numpy  # noqa: F401

        BLOCKED_NOW -= {"threading"}
    for name in list(sys.modules):
        assert name.split(".")[0] not in BLOCKED_NOW, f"{name} already imported"
    sys.meta_path.insert(0, Blocker())

    import numpy  # noqa: F401  (numpy reads its own variables at import: not ours)
    import os
    import ssl


    class NoEnviron(dict):
        def _refuse(self, *a, **k):
            raise AssertionError("the core read the process environment")

        __getitem__ = get = __contains__ = __iter__ = keys = items = _refuse


    def no_tls(*a, **k):
        raise AssertionError("the core built a TLS context")


    os.environ = NoEnviron()
    ssl.create_default_context = no_tls

    import json

    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, CloseConnection, Request, TextMessage

    import oairt_core
    import oairt_core._async.api  # the one async layer imports no event loop either
    from oairt_core import codec
    from oairt_core.voice import VoiceConfig
    from oairt_core.connection import NEED_DATA, Connected, ConnectionClosed, RealtimeConnection
    from oairt_core.events import ResponseCreateEvent, SessionUpdateEvent
    from oairt_core.voice import VoiceSession
    from oairt_core.voice import AudioDelta, ResponseDone, TranscriptDone

    # -- a connection, by hand: handshake, a turn, the close --------------------------
    conn = RealtimeConnection(api_key="sk-test-pure-0000", model="gpt-realtime",
                              ping_interval=20.0, ping_timeout=20.0)
    server = WSConnection(ConnectionType.SERVER)
    server.receive_data(conn.initiate())
    (req,) = list(server.events())
    assert isinstance(req, Request)
    conn.receive_data(server.send(AcceptConnection()))
    assert isinstance(conn.next_event(), Connected)
    conn.handle_timer(0.0)  # keepalive armed with time passed in
    assert conn.next_deadline() == 20.0

    session = VoiceSession(VoiceConfig(voice="alloy"))
    session.start()
    for event in session.drain().send:
        server.receive_data(conn.send(event))
    sent = [json.loads(e.data)["type"] for e in server.events() if isinstance(e, TextMessage)]
    assert sent == ["session.update"], sent

    pcm = b"\x01\x00" * 2400
    import base64
    audio = base64.b64encode(pcm).decode()
    turn = [
        {"type": "session.created", "event_id": "e0", "session": {"type": "realtime"}},
        {"type": "response.created", "event_id": "e1",
         "response": {"id": "r1", "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "event_id": "e2", "response_id": "r1",
         "output_index": 0, "item": {"id": "i1", "type": "message", "role": "assistant",
                                     "status": "in_progress", "content": []}},
        {"type": "response.output_audio.delta", "event_id": "e3", "response_id": "r1",
         "item_id": "i1", "output_index": 0, "content_index": 0, "delta": audio},
        {"type": "response.output_audio_transcript.done", "event_id": "e4",
         "response_id": "r1", "item_id": "i1", "output_index": 0, "content_index": 0,
         "transcript": "Hello."},
        {"type": "response.done", "event_id": "e5",
         "response": {"id": "r1", "status": "completed", "output": []}},
    ]
    for payload in turn:
        conn.receive_data(server.send(TextMessage(data=json.dumps(payload))))
    voice = []
    now = 0.0
    while (event := conn.next_event()) is not NEED_DATA:
        now += 0.01
        voice += session.feed(event, now).deliver
    kinds = [type(e) for e in voice]
    assert AudioDelta in kinds and TranscriptDone in kinds, kinds
    assert isinstance(voice[-1], ResponseDone) and voice[-1].status == "completed", voice[-1]
    (delta,) = [e for e in voice if isinstance(e, AudioDelta)]
    assert len(delta.pcm) == 2400

    server.receive_data(conn.close())
    assert any(isinstance(e, CloseConnection) for e in server.events())
    conn.receive_data(server.send(CloseConnection(code=1000)))
    closed = conn.next_event()
    assert isinstance(closed, ConnectionClosed) and closed.normal

    for name in sys.modules:
        assert name.split(".")[0] not in BLOCKED_NOW, f"{name} was imported"
    # The frames above were masked in C (websockets' extension, loaded on its own),
    # with none of the blocked modules: not by a fallback after a blocked import.
    from oairt_core import _frames
    assert _frames._c_mask_looked_up and _frames._c_mask is not None
    print("pure")
    '''
)


def test_core_imports_and_drives_a_turn_without_any_event_loop_or_thread() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "pure"
