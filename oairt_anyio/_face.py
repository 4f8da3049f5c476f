"""The anyio face of oairt: the shared entry points bound to :data:`~._backend.BACKEND`.

Imported by the package ``__init__`` only when anyio is installed. The functions and
classes are :class:`oairt_core._async.api.Face`'s, so both adapters have the same names,
signatures and behaviour; only the connection class is named for the adapter.
"""

from __future__ import annotations

import anyio.abc

from oairt_core._async.api import Face, FaceBuilder
from oairt_core._async.connection import AsyncConnection
from oairt_core._async.reconnect import ReconnectingConnection, ReconnectingEvent
from oairt_core._async.rest import AsyncRestClient
from oairt_core._async.voice import AsyncVoiceSession, SessionEvent

from ._backend import BACKEND, AnyioBackend

__all__: list[str] = [
    "AnyioBackend",
    "AnyioConnection",
    "Realtime",
    "RealtimeBuilder",
    "RealtimeRestClient",
    "RealtimeSession",
    "ReconnectingConnection",
    "ReconnectingEvent",
    "SessionEvent",
    "connect_realtime",
    "connect_voice",
    "open_realtime",
    "open_voice",
]


class AnyioConnection(AsyncConnection):
    """An open Realtime connection on anyio, from :func:`open_realtime` or
    :func:`connect_realtime` (policies: :mod:`oairt_core._async.connection`)."""


RealtimeSession = AsyncVoiceSession
"""A live voice session (from :func:`open_voice` / :func:`connect_voice`)."""


class RealtimeRestClient(AsyncRestClient):
    """The Realtime REST client on anyio (see :class:`oairt_core._async.rest.AsyncRestClient`)."""

    backend = BACKEND


_FACE = Face[AnyioConnection, anyio.abc.TaskGroup](BACKEND, AnyioConnection)
open_realtime = _FACE.open_realtime
connect_realtime = _FACE.connect_realtime
open_voice = _FACE.open_voice
connect_voice = _FACE.connect_voice


class RealtimeBuilder(FaceBuilder):
    """The seed's builder, ending in ``connect_ws(**options)`` (= :func:`open_voice`).

    >>> session_cm = (Realtime.builder().api_key("sk-test-123456789").voice_session()
    ...               .voice("alloy").vad_server_default().connect_ws())
    >>> hasattr(session_cm, "__aenter__")
    True
    """

    face = _FACE


Realtime = RealtimeBuilder
"""``Realtime.builder()...connect_ws()``, as in the seed SDK."""
