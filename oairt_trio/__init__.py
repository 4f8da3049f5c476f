"""oairt_trio: the Realtime API on trio (nurseries, trio.SSLStream).

The same face as ``oairt_anyio`` (only the connection class is named differently):

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_trio.open_realtime(model="gpt-realtime") as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             print(type(event).__name__)
...     async with oairt_trio.open_voice(voice="alloy", reconnect=ReconnectPolicy()) as session:
...         async for event in session:
...             ...

``open_realtime(**options)`` / ``connect_realtime(nursery, **options)`` give a
connection (:class:`oairt_core._driver.ConnectOptions` lists the options),
``open_voice(config=None, **options)`` / ``connect_voice(nursery, config=None,
**options)`` a voice session, ``reconnect=ReconnectPolicy(...)`` makes either survive
dropped connections. ``api_key`` defaults to ``$OPENAI_API_KEY`` and ``base_url`` to
``$OAIRT_BASE_URL`` (read here, never by the core). The behaviour is written once in
:mod:`oairt_core._async`; this package supplies trio's backend.

>>> import oairt_trio
>>> callable(oairt_trio.open_realtime)
True
"""

from __future__ import annotations

try:
    import trio
except ImportError as _exc:
    raise ImportError("oairt_trio needs trio: pip install 'oairt[trio]'") from _exc

from oairt_core._async.api import Face, FaceBuilder
from oairt_core._async.connection import AsyncConnection
from oairt_core._async.reconnect import ReconnectingConnection, ReconnectingEvent
from oairt_core._async.rest import AsyncRestClient
from oairt_core._async.voice import AsyncVoiceSession, SessionEvent

from ._backend import BACKEND, TrioBackend

__all__: list[str] = [
    "Realtime",
    "RealtimeBuilder",
    "RealtimeRestClient",
    "RealtimeSession",
    "ReconnectingConnection",
    "ReconnectingEvent",
    "SessionEvent",
    "TrioBackend",
    "TrioConnection",
    "connect_realtime",
    "connect_voice",
    "open_realtime",
    "open_voice",
]


class TrioConnection(AsyncConnection):
    """An open Realtime connection on trio, from :func:`open_realtime` or
    :func:`connect_realtime` (policies: :mod:`oairt_core._async.connection`)."""


RealtimeSession = AsyncVoiceSession
"""A live voice session (from :func:`open_voice` / :func:`connect_voice`)."""


class RealtimeRestClient(AsyncRestClient):
    """The Realtime REST client on trio (see :class:`oairt_core._async.rest.AsyncRestClient`)."""

    backend = BACKEND


_FACE = Face[TrioConnection, trio.Nursery](BACKEND, TrioConnection)
open_realtime = _FACE.open_realtime
connect_realtime = _FACE.connect_realtime
open_voice = _FACE.open_voice
connect_voice = _FACE.connect_voice


class RealtimeBuilder(FaceBuilder):
    """The seed's builder, ending in ``connect_ws(**options)`` (= :func:`open_voice`)."""

    face = _FACE


Realtime = RealtimeBuilder
"""``Realtime.builder()...connect_ws()``, as in the seed SDK."""
