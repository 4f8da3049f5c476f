"""Voice sessions: the sans-IO :class:`VoiceSession`, its configuration and its events.

Everything an app needs to configure a voice session and read what it produces, from
one module. The async sessions of the adapters (``oairt_anyio.open_voice``,
``oairt_trio.open_voice``) drive the same :class:`VoiceSession` and yield these events.

>>> from oairt_core.voice import VoiceConfig, VoiceSession
>>> session = VoiceSession(VoiceConfig(voice="marin"))
>>> session.start()
>>> [type(e).__name__ for e in session.drain().send]
['SessionUpdateEvent']

Configure with :class:`VoiceConfig` (or the seed's builder, ``Realtime.builder()``, a
front for it); :class:`ResponseBuilder` shapes a ``response.create``. The voice events
(:class:`AudioDelta`, :class:`TranscriptDone`, :class:`Interrupted`, :class:`ToolCall`,
...) are small frozen dataclasses; :data:`VoiceEvent` is their union. Reconnection
notices live in :mod:`oairt_core.reconnect`.
"""

from __future__ import annotations

from ._actions import ApprovalJob, ToolRun, VoiceActions
from ._config import (
    ApprovalCallback,
    AudioFormatName,
    Realtime,
    RealtimeBuilder,
    VoiceConfig,
    mcp_tool,
    semantic_vad,
    server_vad,
)
from ._response_builder import ResponseBuilder
from ._session import VoiceSession, iter_events
from ._voice_audio import DEFAULT_MAX_APPEND_BYTES, MIN_COMMIT_MS, bytes_per_ms
from ._voice_events import (
    AudioDelta,
    AudioDone,
    Error,
    InputAudioCommitted,
    InputTranscript,
    InputTranscriptDelta,
    InputTranscriptDone,
    Interrupted,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    ProtocolViolation,
    RawEvent,
    ResponseDone,
    ResponseStarted,
    SessionReady,
    SessionUpdated,
    SpeechStarted,
    SpeechStopped,
    ToolCall,
    ToolCallRejected,
    ToolResult,
    Transcript,
    TranscriptDelta,
    TranscriptDone,
    VoiceEvent,
)

__all__ = [
    "DEFAULT_MAX_APPEND_BYTES",
    "MIN_COMMIT_MS",
    "ApprovalCallback",
    "ApprovalJob",
    "AudioDelta",
    "AudioDone",
    "AudioFormatName",
    "Error",
    "InputAudioCommitted",
    "InputTranscript",
    "InputTranscriptDelta",
    "InputTranscriptDone",
    "Interrupted",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "ProtocolViolation",
    "RawEvent",
    "Realtime",
    "RealtimeBuilder",
    "ResponseBuilder",
    "ResponseDone",
    "ResponseStarted",
    "SessionReady",
    "SessionUpdated",
    "SpeechStarted",
    "SpeechStopped",
    "ToolCall",
    "ToolCallRejected",
    "ToolResult",
    "ToolRun",
    "Transcript",
    "TranscriptDelta",
    "TranscriptDone",
    "VoiceActions",
    "VoiceConfig",
    "VoiceEvent",
    "VoiceSession",
    "bytes_per_ms",
    "iter_events",
    "mcp_tool",
    "semantic_vad",
    "server_vad",
]
