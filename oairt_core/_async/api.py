"""The public entry points, written once; each adapter binds them to its backend.

``oairt_anyio`` and ``oairt_trio`` expose the same four functions (plus the REST
client and the seed's builder), with the same names and signatures:

* ``open_realtime(**options)``: ``async with`` a connection;
* ``connect_realtime(task_group_or_nursery, **options)``: a connection whose tasks
  run in your task group or nursery (close it with ``await conn.close()``);
* ``open_voice(config=None, **options)``: ``async with`` a voice session;
* ``connect_voice(task_group_or_nursery, config=None, **options)``: a voice session
  running in your task group or nursery (end it with ``await session.aclose()``).

``reconnect=ReconnectPolicy(...)`` on any of them gives a connection or session that
reconnects (see :mod:`oairt_core._async.reconnect` and :mod:`oairt_core._async.voice`).
Exceptions from the block and errors at any step of start-up come out unwrapped
(never in an ExceptionGroup).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from .._config import RealtimeBuilder, VoiceConfig
from .._driver import plan_connection
from .._rollover import RolloverPolicy
from ..reconnect import ReconnectPolicy, ReconnectState
from ._backend import Backend, TaskGroup
from ._rollover import RolloverConnection
from .connection import AsyncConnection, open_connection, start
from .reconnect import ReconnectingConnection
from .voice import AsyncVoiceSession, prepare_connect

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._driver import ConnectOptions
    from .._session import VoiceSession

__all__ = [
    "VOICE_CONNECTION_OPTIONS",
    "Face",
    "check_voice_options",
    "FaceBuilder",
    "connect_realtime",
    "connect_voice",
    "open_realtime",
    "open_voice",
]

C = TypeVar("C", bound=AsyncConnection)
S = TypeVar("S", bound=AsyncVoiceSession)

#: the connection options ``open_voice`` passes through (the rest are VoiceConfig fields)
VOICE_CONNECTION_OPTIONS = frozenset(
    {
        "reconnect",
        "ping_interval",
        "ping_timeout",
        "connect_timeout",
        "close_timeout",
        "write_timeout",
        "max_buffered_events",
        "max_buffered_bytes",
        "on_message",
        "user_agent",
        "extra_headers",
        "extra_query",
    }
)


async def _connect(backend: Backend, cls: type[C], options: Mapping[str, Any]) -> C:
    plan = plan_connection(options, backend.environ, default_ssl=backend.default_ssl_context)
    return await open_connection(backend, plan, cls)


def _reconnecting(
    backend: Backend,
    cls: type[C],
    first: C,
    options: dict[str, Any],
    policy: ReconnectPolicy,
    group: TaskGroup,
) -> ReconnectingConnection:
    async def open_next() -> AsyncConnection:
        conn = await _connect(backend, cls, options)
        start(conn, group)
        return conn

    state = ReconnectState(policy)
    return ReconnectingConnection(
        backend,
        state,
        first,
        open_next,
        max_buffered_events=options.get("max_buffered_events", 256),
    )


@asynccontextmanager
async def open_realtime(
    backend: Backend, cls: type[C], options: Mapping[str, Any]
) -> AsyncIterator[C | ReconnectingConnection]:
    """Open a connection (reconnecting with ``reconnect=``) for the block."""
    opts = dict(options)
    policy: ReconnectPolicy | None = opts.pop("reconnect", None)
    conn = await _connect(backend, cls, opts)
    body_error: Exception | None = None
    try:
        async with backend.task_group() as group:
            start(conn, group)
            target: C | ReconnectingConnection = conn
            if policy is not None:
                target = _reconnecting(backend, cls, conn, opts, policy, group)
                group.start_soon(target._supervise)
            try:
                yield target
            except Exception as exc:
                # Kept out of the task group so it is not wrapped in an ExceptionGroup.
                body_error = exc
            finally:
                with backend.cancel_scope(shield=True):
                    if isinstance(target, ReconnectingConnection):
                        await target._shutdown()
                    else:
                        await conn.close()
                group.cancel_scope.cancel()
    finally:
        with backend.cancel_scope(shield=True):
            await conn._abort()
    if body_error is not None:
        raise body_error


async def connect_realtime(
    backend: Backend, cls: type[C], group: TaskGroup, options: Mapping[str, Any]
) -> C | ReconnectingConnection:
    """Connect, then run the connection's tasks in ``group``; close with ``conn.close()``."""
    opts = dict(options)
    policy: ReconnectPolicy | None = opts.pop("reconnect", None)
    conn = await _connect(backend, cls, opts)
    start(conn, group)
    if policy is None:
        return conn
    target = _reconnecting(backend, cls, conn, opts, policy, group)
    group.start_soon(target._supervise)
    return target


def _rolling(
    backend: Backend,
    cls: type[C],
    options: dict[str, Any],
    policy: RolloverPolicy,
    first: Any,
    core: VoiceSession,
    group: TaskGroup,
) -> RolloverConnection:
    """``first`` wrapped to move the call to a new session before the cap (``rollover=``)."""
    opts = dict(options)
    reconnect: ReconnectPolicy | None = opts.pop("reconnect", None)

    async def open_next() -> AsyncConnection | ReconnectingConnection:
        conn = await _connect(backend, cls, opts)
        start(conn, group)
        if reconnect is None:
            return conn
        # Each session reconnects on its own, sharing the call's conversation tracker.
        state = ReconnectState(reconnect, mirror=core.conversation)
        state.default_replay(True)
        target = ReconnectingConnection(
            backend,
            state,
            conn,
            lambda: _connect_started(backend, cls, opts, group),
            max_buffered_events=opts.get("max_buffered_events", 256),
        )
        group.start_soon(target._supervise)
        return target

    return RolloverConnection(backend, policy, first, open_next, group)


async def _connect_started(
    backend: Backend, cls: type[C], options: Mapping[str, Any], group: TaskGroup
) -> C:
    conn = await _connect(backend, cls, options)
    start(conn, group)
    return conn


def _split_voice_options(
    backend: Backend,
    config: VoiceConfig | RealtimeBuilder | None,
    options: Mapping[str, Any],
) -> tuple[VoiceConfig, dict[str, Any], int]:
    fields = _config_fields(options)
    given = {k: v for k, v in options.items() if k in _VOICE_KEYWORDS}
    event_buffer = given.pop("event_buffer", 256)
    if event_buffer < 1:
        raise ValueError("event_buffer must be at least 1")
    cfg, kwargs = prepare_connect(
        config,
        fields,
        base_url=given.pop("base_url", None),
        ssl=given.pop("ssl", None),
        call_id=given.pop("call_id", None),
        environ=backend.environ,
    )
    kwargs.update(given)
    return cfg, kwargs, event_buffer


_VOICE_KEYWORDS = VOICE_CONNECTION_OPTIONS | {
    "base_url",
    "ssl",
    "call_id",
    "event_buffer",
    "rollover",
}


def check_voice_options(options: Mapping[str, Any]) -> None:
    """Refuse ``open_voice`` keywords that could never work, before anything connects.

    Unknown keywords and bad :class:`VoiceConfig` values raise as ``VoiceConfig`` would;
    the connection keywords (``reconnect``, ``ping_interval``, ...) pass through. For
    servers that open sessions later (the phone bridge), so a typo fails at start-up.

    >>> check_voice_options({"voice": "alloy", "reconnect": None})
    >>> check_voice_options({"voise": "alloy"})
    Traceback (most recent call last):
    ...
    TypeError: unknown VoiceConfig option(s): voise
    """
    fields = _config_fields(options)
    if fields:
        VoiceConfig().replace(**fields)


def _config_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``open_voice`` options that are :class:`VoiceConfig` fields (not connection ones)."""
    return {k: v for k, v in options.items() if k not in _VOICE_KEYWORDS}


@asynccontextmanager
async def open_voice(
    backend: Backend,
    cls: type[C],
    session_cls: Callable[..., S],
    config: VoiceConfig | RealtimeBuilder | None,
    options: Mapping[str, Any],
) -> AsyncIterator[S]:
    """Connect, apply the configuration, run the session for the block."""
    from .._session import VoiceSession  # numpy-heavy: imported when a session is opened

    cfg, kwargs, event_buffer = _split_voice_options(backend, config, options)
    rollover: RolloverPolicy | None = kwargs.pop("rollover", None)
    if rollover is not None and "call_id" in kwargs:
        raise ValueError("rollover= needs a session of its own: a call_id session is the call's")
    async with open_realtime(backend, cls, kwargs) as conn:
        conversation = None
        if isinstance(conn, ReconnectingConnection):
            conn.reconnect_state.default_replay(True)
            # One conversation tracker: what reconnection replays is what the session saw.
            conversation = conn.reconnect_state.mirror
        error: Exception | None = None
        async with backend.task_group() as group:
            core = VoiceSession(cfg, sideband=conn.is_sideband, conversation=conversation)
            target: Any = conn
            if rollover is not None:
                target = _rolling(backend, cls, kwargs, rollover, conn, core, group)
            session = session_cls(backend, target, core, group, event_buffer)
            if isinstance(target, RolloverConnection):
                target.attach(core, session._lock)
            try:
                await session._start()
                yield session
            except Exception as exc:  # kept out of the task group: no ExceptionGroup
                error = exc
            finally:
                if isinstance(target, RolloverConnection):
                    with backend.cancel_scope(shield=True):
                        await target.close()
                session._stop()
        if error is not None:
            raise error


async def connect_voice(
    backend: Backend,
    cls: type[C],
    session_cls: Callable[..., S],
    group: TaskGroup,
    config: VoiceConfig | RealtimeBuilder | None,
    options: Mapping[str, Any],
) -> S:
    """A voice session whose tasks run in ``group``; end it with ``session.aclose()``."""

    async def serve(*, task_status: Any) -> None:
        async with open_voice(backend, cls, session_cls, config, options) as session:
            task_status.started(session)
            await session._ended.wait()

    session: S = await group.start(serve)
    return session


G = TypeVar("G")
B = TypeVar("B", bound="FaceBuilder")


class Face(Generic[C, G]):
    """The public entry points bound to one backend: each adapter makes one and exports
    its four functions, so ``oairt_anyio`` and ``oairt_trio`` share names, signatures,
    docstrings and behaviour by construction. ``C`` is the adapter's connection class,
    ``G`` its task group (an anyio ``TaskGroup``, a trio ``Nursery``).
    """

    def __init__(self, backend: Backend, connection_cls: type[C]) -> None:
        self.backend = backend
        self.connection_cls = connection_cls

    @overload
    def open_realtime(
        self, *, reconnect: None = None, **options: Unpack[ConnectOptions]
    ) -> AbstractAsyncContextManager[C]: ...
    @overload
    def open_realtime(
        self, *, reconnect: ReconnectPolicy, **options: Unpack[ConnectOptions]
    ) -> AbstractAsyncContextManager[ReconnectingConnection]: ...
    def open_realtime(
        self, *, reconnect: ReconnectPolicy | None = None, **options: Any
    ) -> AbstractAsyncContextManager[Any]:
        """``async with open_realtime(**options) as conn``: a connection for the block.

        Raises :class:`HandshakeError` (refused), :class:`RequestTimeout` (slower than
        ``connect_timeout``) or :class:`ConnectError` (DNS, TCP, TLS); exceptions from the
        block come out unwrapped. With ``reconnect=`` the connection reconnects.
        """
        opts = dict(options, reconnect=reconnect)
        return open_realtime(self.backend, self.connection_cls, opts)

    @overload
    async def connect_realtime(
        self, group: G, *, reconnect: None = None, **options: Unpack[ConnectOptions]
    ) -> C: ...
    @overload
    async def connect_realtime(
        self, group: G, *, reconnect: ReconnectPolicy, **options: Unpack[ConnectOptions]
    ) -> ReconnectingConnection: ...
    async def connect_realtime(
        self, group: G, *, reconnect: ReconnectPolicy | None = None, **options: Any
    ) -> Any:
        """Connect, then run the connection's tasks in ``group`` (your task group or
        nursery); close it with ``await conn.close()``."""
        opts = dict(options, reconnect=reconnect)
        return await connect_realtime(self.backend, self.connection_cls, _group(group), opts)

    def open_voice(
        self, config: VoiceConfig | RealtimeBuilder | None = None, **options: Any
    ) -> AbstractAsyncContextManager[AsyncVoiceSession]:
        """``async with open_voice(config, **options) as session``: a live voice session.

        ``config`` is a :class:`VoiceConfig` or a builder; ``options`` are VoiceConfig
        fields (``voice=``, ``api_key=``, ...) and the connection's ``base_url``, ``ssl``,
        ``call_id`` (join a WebRTC/SIP call), ``event_buffer`` (256), ``reconnect``,
        ``rollover`` (a :class:`~oairt_core.reconnect.RolloverPolicy`: move the call to a
        new session before the server's cap), ``ping_interval``, ``ping_timeout``,
        ``connect_timeout`` and friends. Invalid
        configurations raise ``InvalidClientEvent`` before connecting; exceptions from the
        block, and a close at any step of start-up, come out unwrapped.
        """
        return open_voice(self.backend, self.connection_cls, AsyncVoiceSession, config, options)

    async def connect_voice(
        self, group: G, config: VoiceConfig | RealtimeBuilder | None = None, **options: Any
    ) -> AsyncVoiceSession:
        """A voice session running in ``group`` (options as ``open_voice``); end it with
        ``await session.aclose()``."""
        return await connect_voice(
            self.backend, self.connection_cls, AsyncVoiceSession, _group(group), config, options
        )


def _group(group: object) -> TaskGroup:
    # anyio's TaskGroup and trio's Nursery both satisfy the TaskGroup protocol.
    return group  # type: ignore[return-value]


class FaceBuilder(RealtimeBuilder):
    """The seed's builder, ending in ``connect_ws(**options)`` (= ``open_voice``).

    Each adapter's ``RealtimeBuilder`` sets :attr:`face`.
    """

    face: ClassVar[Face[Any, Any]]

    @classmethod
    def builder(cls: type[B]) -> B:
        """A fresh builder (the seed's ``Realtime.builder()``)."""
        return cls()

    def connect_ws(self, **options: Any) -> AbstractAsyncContextManager[AsyncVoiceSession]:
        """``async with builder.connect_ws() as session``: ``open_voice`` of the config."""
        return self.face.open_voice(self.build(), **options)
