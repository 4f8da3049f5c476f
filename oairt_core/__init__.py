"""oairt_core: the sans-IO heart of oairt.

Pure state machines for the OpenAI Realtime API (GA): bytes in, typed events
and bytes out. No sockets, threads, event loops, sleeping or clock reading.

>>> import oairt_core
>>> ev = oairt_core.decode_server_event(b'{"type":"input_audio_buffer.cleared","event_id":"e1"}')
>>> type(ev).__name__
'InputAudioBufferClearedEvent'

The package exports the entry points and the errors; the rest lives in its modules:
:mod:`~oairt_core.events` (the 57 GA events), :mod:`~oairt_core.models` (the nested
objects), :mod:`~oairt_core.voice` (voice sessions and their events),
:mod:`~oairt_core.audio` (loaded on first use, with numpy), :mod:`~oairt_core.rest`,
:mod:`~oairt_core.webhooks`, :mod:`~oairt_core.reconnect`, :mod:`~oairt_core.tools`,
:mod:`~oairt_core.twilio` and :mod:`~oairt_core.testing`.
"""

from typing import TYPE_CHECKING

from . import codec, connection, errors, events, models, reconnect, rest, tools, voice, webhooks
from ._redact import Secret, redact_text
from ._validation import validate_client_event
from .codec import (
    decode_client_event,
    decode_server_event,
    encode_client_event,
    encode_server_event,
)
from .connection import (
    NEED_DATA,
    Connected,
    ConnectionClosed,
    ConnectionState,
    HandshakeRejected,
    MalformedServerEvent,
    RealtimeConnection,
)
from .errors import (
    APIError,
    ConnectError,
    ConnectionClosedError,
    HandshakeError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidClientEvent,
    LocalProtocolError,
    MessageTooBig,
    OairtError,
    RemoteProtocolError,
    RequestOutcomeUnknown,
    RequestTimeout,
    ToolError,
    WebhookVerificationError,
)
from .reconnect import ReconnectPolicy
from .tools import tool
from .voice import Realtime, VoiceConfig, VoiceSession

if TYPE_CHECKING:  # type checkers see the lazily loaded module
    from . import audio as audio

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # oairt_core.audio (and numpy, soxr) load on first use, not with the package:
    # encoding a text event needs none of it.
    if name == "audio":
        import importlib

        return importlib.import_module(".audio", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "audio"})


__all__ = [
    # the modules
    "audio",
    "codec",
    "connection",
    "errors",
    "events",
    "models",
    "reconnect",
    "rest",
    "tools",
    "voice",
    "webhooks",
    # the sans-IO connection
    "NEED_DATA",
    "Connected",
    "ConnectionClosed",
    "ConnectionState",
    "HandshakeRejected",
    "MalformedServerEvent",
    "RealtimeConnection",
    # the codec and the client-side GA check
    "decode_client_event",
    "decode_server_event",
    "encode_client_event",
    "encode_server_event",
    "validate_client_event",
    # voice sessions
    "Realtime",
    "ReconnectPolicy",
    "VoiceConfig",
    "VoiceSession",
    "tool",
    "Secret",
    "redact_text",
    # the errors
    "APIError",
    "ConnectError",
    "ConnectionClosedError",
    "HandshakeError",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidClientEvent",
    "LocalProtocolError",
    "MessageTooBig",
    "OairtError",
    "RemoteProtocolError",
    "RequestOutcomeUnknown",
    "RequestTimeout",
    "ToolError",
    "WebhookVerificationError",
]
