"""oairt_core.testing: the conformance harness, a sans-IO fake Realtime server.

* :mod:`.server`: :class:`FakeRealtimeService` (shared config) and :class:`FakeRealtimeServer`
  (one connection's state machine: HTTP/REST routing, WebSocket upgrade, the GA session).
* :mod:`.script`: :class:`Script` and the reply steps (``say``, ``call_function``, MCP, ``fail``).
* :mod:`.vad`: the energy-based server VAD.
* ``check_client_event``: would the real server accept this JSON client event? (strict,
  generated from the official SDK's models).
* :mod:`.recording`: :class:`Recorder`, :func:`load_recording`, :class:`ReplayScript`.
* :mod:`.rest_fake`: the REST endpoints (client secrets, WebRTC/SIP calls).
* :mod:`.twilio_client`: :class:`FakeTwilioCall`, the phone side of a Twilio Media Stream.
* ``oairt_anyio.testing.run_fake_server``: the loopback runner; ``oairt_anyio.pytest_plugin``:
  the ``realtime_server`` fixture.

>>> from oairt_core.testing import Script, say
>>> Script(say("Hi!"))
Script(replies=1, transcriptions=0)
"""

from . import memory as memory
from . import recording as recording
from . import rest_fake as rest_fake
from . import script as script
from . import server as server
from . import twilio_client as twilio_client
from . import vad as vad
from ._strict import (
    Problem,
    check_client_event,
    client_event_types,
)
from .memory import (
    MemoryClient,
)
from .recording import (
    RecordedFrame,
    Recorder,
    Recording,
    ReplayScript,
    ReplaySession,
    load_recording,
    load_recordings,
    loads_recording,
    loads_recordings,
)
from .rest_fake import (
    DEFAULT_FAKE_WEBHOOK_SECRET,
    FakeCall,
    FakeCallState,
    FakeRestApi,
)
from .script import (
    DEFAULT_CHUNK_MS,
    Fail,
    FunctionCall,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    Reply,
    Say,
    Script,
    ScriptError,
    Step,
    Transcription,
    call_function,
    fail,
    mcp_approval_request,
    mcp_call,
    mcp_list_tools,
    say,
    text,
    transcription,
)
from .server import (
    API_KEY_RULE,
    DEFAULT_INSTRUCTIONS,
    FAKE_API_KEY,
    KNOWN_MODELS,
    FakeRealtimeServer,
    FakeRealtimeService,
    Faults,
    Pacing,
    Phase,
    RestHandler,
    Violation,
    accepts_api_key,
    default_session,
    default_transcription_session,
)
from .twilio_client import (
    FakeTwilioCall,
    HeardSegment,
)
from .vad import (
    FRAME_MS,
    EnergyVad,
    SpeechStarted,
    SpeechStopped,
    semantic_silence_ms,
    threshold_to_dbfs,
)

__all__: list[str] = [
    "Problem",
    "check_client_event",
    "client_event_types",
    "MemoryClient",
    "RecordedFrame",
    "Recorder",
    "Recording",
    "ReplayScript",
    "ReplaySession",
    "load_recording",
    "load_recordings",
    "loads_recording",
    "loads_recordings",
    "DEFAULT_FAKE_WEBHOOK_SECRET",
    "FakeCall",
    "FakeCallState",
    "FakeRestApi",
    "DEFAULT_CHUNK_MS",
    "Fail",
    "FunctionCall",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "Reply",
    "Say",
    "Script",
    "ScriptError",
    "Step",
    "Transcription",
    "call_function",
    "fail",
    "mcp_approval_request",
    "mcp_call",
    "mcp_list_tools",
    "say",
    "text",
    "transcription",
    "API_KEY_RULE",
    "DEFAULT_INSTRUCTIONS",
    "FAKE_API_KEY",
    "KNOWN_MODELS",
    "FakeRealtimeServer",
    "FakeRealtimeService",
    "Faults",
    "Phase",
    "Pacing",
    "RestHandler",
    "Violation",
    "accepts_api_key",
    "default_session",
    "default_transcription_session",
    "FakeTwilioCall",
    "HeardSegment",
    "FRAME_MS",
    "EnergyVad",
    "SpeechStarted",
    "SpeechStopped",
    "semantic_silence_ms",
    "threshold_to_dbfs",
]
