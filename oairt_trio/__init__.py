"""oairt_trio: the Realtime API on trio (nurseries, trio.SSLStream).

The same face as ``oairt_trio`` (only the connection class is named differently):

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_trio.open_realtime(model="gpt-realtime") as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             print(type(event).__name__)
...     async with oairt_trio.open_voice(voice="alloy", reconnect=ReconnectPolicy()) as session:
...         async for event in session:
...             ...

``open_realtime(**options)`` / ``connect_realtime(nursery, **options)`` give a
connection (:class:`oairt_core.driver.ConnectOptions` lists the options),
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
    import trio as _trio  # noqa: F401 - the extra this package runs on
except ImportError as _exc:
    raise ImportError("oairt_trio needs trio: pip install 'oairt[trio]'") from _exc

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, overload

from oairt_core._async import api as _api
from oairt_core._async.connection import AsyncConnection
from oairt_core._async.reconnect import ReconnectingConnection, ReconnectingEvent
from oairt_core._async.rest import AsyncRestClient
from oairt_core._async.voice import AsyncVoiceSession, SessionEvent
from oairt_core.config import RealtimeBuilder as _CoreBuilder
from oairt_core.config import VoiceConfig
from oairt_core.reconnect import ReconnectPolicy

from ._backend import BACKEND, TrioBackend

if TYPE_CHECKING:
    import trio
    from typing_extensions import Unpack

    from oairt_core.driver import ConnectOptions

__all__: list[str] = [
    "TrioBackend",
    "TrioConnection",
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


class TrioConnection(AsyncConnection):
    """An open Realtime connection on trio, from :func:`open_realtime` or
    :func:`connect_realtime` (policies: :mod:`oairt_core._async.connection`)."""


RealtimeSession = AsyncVoiceSession
"""A live voice session (from :func:`open_voice` / :func:`connect_voice`)."""


class RealtimeRestClient(AsyncRestClient):
    """The Realtime REST client on trio (see :class:`oairt_core._async.rest.AsyncRestClient`)."""

    backend = BACKEND


@overload
def open_realtime(
    *, reconnect: None = None, **options: Unpack[ConnectOptions]
) -> AbstractAsyncContextManager[TrioConnection]: ...
@overload
def open_realtime(
    *, reconnect: ReconnectPolicy, **options: Unpack[ConnectOptions]
) -> AbstractAsyncContextManager[ReconnectingConnection]: ...
def open_realtime(
    *, reconnect: ReconnectPolicy | None = None, **options: Any
) -> AbstractAsyncContextManager[Any]:
    """``async with open_realtime(**options) as conn``: a connection for the block.

    Raises :class:`HandshakeError` (refused), :class:`RequestTimeout` (slower than
    ``connect_timeout``) or :class:`ConnectError` (DNS, TCP, TLS); exceptions from the
    block come out unwrapped. With ``reconnect=`` the connection reconnects.
    """
    return _api.open_realtime(BACKEND, TrioConnection, dict(options, reconnect=reconnect))


@overload
async def connect_realtime(
    nursery: trio.Nursery, *, reconnect: None = None, **options: Unpack[ConnectOptions]
) -> TrioConnection: ...
@overload
async def connect_realtime(
    nursery: trio.Nursery,
    *,
    reconnect: ReconnectPolicy,
    **options: Unpack[ConnectOptions],
) -> ReconnectingConnection: ...
async def connect_realtime(
    nursery: trio.Nursery, *, reconnect: ReconnectPolicy | None = None, **options: Any
) -> Any:
    """Connect, then run the connection's tasks in ``nursery``; ``await conn.close()``."""
    opts = dict(options, reconnect=reconnect)
    return await _api.connect_realtime(BACKEND, TrioConnection, nursery, opts)


def open_voice(
    config: VoiceConfig | _CoreBuilder | None = None, **options: Any
) -> AbstractAsyncContextManager[RealtimeSession]:
    """``async with open_voice(config, **options) as session``: a live voice session.

    ``config`` is a :class:`VoiceConfig` or a builder; ``options`` are VoiceConfig
    fields (``voice=``, ``api_key=``, ...) and the connection's ``base_url``, ``ssl``,
    ``call_id`` (join a WebRTC/SIP call), ``event_buffer`` (256), ``reconnect``,
    ``ping_interval``, ``ping_timeout``, ``connect_timeout`` and friends. Invalid
    configurations raise ``InvalidClientEvent`` before connecting; exceptions from the
    block, and a close at any step of start-up, come out unwrapped.
    """
    return _api.open_voice(BACKEND, TrioConnection, RealtimeSession, config, options)


async def connect_voice(
    nursery: trio.Nursery,
    config: VoiceConfig | _CoreBuilder | None = None,
    **options: Any,
) -> RealtimeSession:
    """A voice session running in ``nursery`` (options as :func:`open_voice`);
    end it with ``await session.aclose()``."""
    return await _api.connect_voice(
        BACKEND, TrioConnection, RealtimeSession, nursery, config, options
    )


class RealtimeBuilder(_CoreBuilder):
    """The seed's builder, ending in ``connect_ws(**options)`` (= :func:`open_voice`).

    >>> session_cm = (Realtime.builder().api_key("sk-test-123456789").voice_session()
    ...               .voice("alloy").vad_server_default().connect_ws())
    >>> hasattr(session_cm, "__aenter__")
    True
    """

    @classmethod
    def builder(cls) -> RealtimeBuilder:
        """A fresh builder (the seed's ``Realtime.builder()``)."""
        return cls()

    def connect_ws(self, **options: Any) -> AbstractAsyncContextManager[RealtimeSession]:
        """``async with builder.connect_ws() as session``: :func:`open_voice` of the config."""
        return open_voice(self.build(), **options)


Realtime = RealtimeBuilder
"""``Realtime.builder()...connect_ws()``, as in the seed SDK."""
