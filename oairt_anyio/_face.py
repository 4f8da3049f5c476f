"""The anyio face of oairt: the entry points bound to :data:`~._backend.BACKEND`.

Imported by the package ``__init__`` only when anyio is installed.
"""

from __future__ import annotations

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

from ._backend import BACKEND, AnyioBackend

if TYPE_CHECKING:
    import anyio.abc
    from typing_extensions import Unpack

    from oairt_core.driver import ConnectOptions

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


@overload
def open_realtime(
    *, reconnect: None = None, **options: Unpack[ConnectOptions]
) -> AbstractAsyncContextManager[AnyioConnection]: ...
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
    return _api.open_realtime(BACKEND, AnyioConnection, dict(options, reconnect=reconnect))


@overload
async def connect_realtime(
    task_group: anyio.abc.TaskGroup, *, reconnect: None = None, **options: Unpack[ConnectOptions]
) -> AnyioConnection: ...
@overload
async def connect_realtime(
    task_group: anyio.abc.TaskGroup,
    *,
    reconnect: ReconnectPolicy,
    **options: Unpack[ConnectOptions],
) -> ReconnectingConnection: ...
async def connect_realtime(
    task_group: anyio.abc.TaskGroup, *, reconnect: ReconnectPolicy | None = None, **options: Any
) -> Any:
    """Connect, then run the connection's tasks in ``task_group``; ``await conn.close()``."""
    opts = dict(options, reconnect=reconnect)
    return await _api.connect_realtime(BACKEND, AnyioConnection, task_group, opts)


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
    return _api.open_voice(BACKEND, AnyioConnection, RealtimeSession, config, options)


async def connect_voice(
    task_group: anyio.abc.TaskGroup,
    config: VoiceConfig | _CoreBuilder | None = None,
    **options: Any,
) -> RealtimeSession:
    """A voice session running in ``task_group`` (options as :func:`open_voice`);
    end it with ``await session.aclose()``."""
    return await _api.connect_voice(
        BACKEND, AnyioConnection, RealtimeSession, task_group, config, options
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
