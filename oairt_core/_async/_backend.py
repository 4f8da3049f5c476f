"""The one thing an event loop must supply to the async layer: :class:`Backend`.

Everything async in oairt (the WebSocket connection, reconnection, the voice
session, the REST client) is written once in :mod:`oairt_core._async` over this
protocol, in the manner of httpcore's ``_async`` + backends. ``oairt_anyio`` and
``oairt_trio`` each implement it in about a hundred lines; this module imports no
event loop. anyio's and trio's own ``Event``, ``CancelScope`` and task group or
nursery satisfy the small protocols below as they are, so the hot paths pay no
wrapper.

A backend also owns the two things the pure core must never do itself: reading
the process environment (:attr:`Backend.environ`) and loading the system's CA
store (:meth:`Backend.default_ssl_context`).

>>> issubclass(TransportError, Exception)
True
"""

from __future__ import annotations

import select
import ssl
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

__all__ = [
    "BUFFERED",
    "NOT_SENT",
    "SENT",
    "Backend",
    "ByteStream",
    "CancelScope",
    "Event",
    "Listener",
    "TaskGroup",
    "TransportError",
    "idle_socket_dropped",
]

T = TypeVar("T")


class TransportError(Exception):
    """A write failed because the transport is gone (the backend maps its own errors here)."""


NOT_SENT = 0
SENT = 1
BUFFERED = 2


class ByteStream(Protocol):
    """A connected TCP (or TLS) byte stream."""

    def try_send(self, data: bytes) -> int:
        """The per-frame fast path: hand all of ``data`` to the transport now, or none of it.

        :data:`NOT_SENT`: nothing written (use :meth:`send_all`); :data:`SENT`: written,
        nothing left to wait for; :data:`BUFFERED`: written, but the transport holds some
        of it: await :meth:`drain` (under the write timeout). No await, no scope.
        """
        ...

    async def drain(self) -> None:
        """Wait until the transport took what :meth:`try_send` buffered (or it broke)."""
        ...

    async def send_all(self, data: bytes) -> None:
        """Write all of ``data``; raises :class:`TransportError` when the peer is gone."""
        ...

    async def receive_some(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes``; ``b""`` at end of stream or when the transport broke."""
        ...

    def pause_receiving(self) -> None:
        """The reader will not call :meth:`receive_some` for a while (its buffer is full).

        A backend that takes bytes from the kernel between reads must stop now, so TCP
        pushes back on the peer instead of memory growing; the next ``receive_some``
        resumes. A backend that only reads inside ``receive_some`` does nothing.
        """
        ...

    def deliver_to(self, sink: Callable[[bytes], None]) -> bool:
        """From now on, hand each read to ``sink`` from the event loop itself; ``b""`` once
        at the end (end of stream, a reset, the stream closed).

        For a loop that reads in callbacks (asyncio's protocols): the connection then takes
        a frame in without waking a reader task. :meth:`pause_receiving` stops the reads
        and :meth:`resume_receiving` starts them again. False when the backend reads only
        inside :meth:`receive_some` (trio): keep calling it.
        """
        ...

    def resume_receiving(self) -> None:
        """Undo :meth:`pause_receiving` (needed only after :meth:`deliver_to`)."""
        ...

    async def aclose_forcefully(self) -> None:
        """Close at once, without waiting for the peer (never raises, never blocks)."""
        ...

    async def aclose(self) -> None:
        """Close after what was sent is flushed (a server's last frames must arrive;
        ``aclose_forcefully`` may reset the connection and lose them). Never raises."""
        ...

    def idle_dropped(self) -> bool:
        """Whether an idle kept-alive stream is unusable, checked without blocking.

        Backends answer with :func:`idle_socket_dropped` on their raw socket (True when
        they cannot reach one: a stream that cannot be checked is not reused).
        """
        ...


def idle_socket_dropped(sock: Any) -> bool:
    """Whether an idle socket (anything with ``fileno()``) has something to read, at once.

    Nothing may arrive on an idle HTTP/1.1 connection, so readable means end of stream, a
    reset, a TLS close_notify or stray bytes, and each rules the connection out (urllib3's
    rule). A request written on such a connection could be read by the server and then
    lost with the connection, so the REST driver asks before it writes, not after.
    """
    if sock is None:
        return True
    try:
        fd = sock.fileno()
        if fd < 0:
            return True
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(fd, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable)
    except (OSError, ValueError):
        return True


class Event(Protocol):
    def set(self) -> None: ...
    def is_set(self) -> bool: ...
    async def wait(self) -> Any: ...


class CancelScope(Protocol):
    """A cancel scope (``anyio.CancelScope`` / ``trio.CancelScope`` as they are)."""

    def __enter__(self) -> Any: ...
    def __exit__(self, exc_type: Any, exc: Any, tb: Any, /) -> Any: ...
    def cancel(self) -> None: ...
    @property
    def cancel_called(self) -> bool: ...
    @property
    def cancelled_caught(self) -> bool: ...


class TaskGroup(Protocol):
    """An anyio task group or a trio nursery, as the user passes it."""

    def start_soon(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], /, *args: Any, name: object = None
    ) -> Any: ...
    async def start(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], /, *args: Any, name: object = None
    ) -> Any: ...
    @property
    def cancel_scope(self) -> Any: ...


class Listener(Protocol):
    """A listening TCP socket (the phone bridge's server side)."""

    @property
    def port(self) -> int:
        """The port it listens on (the one the OS chose for port 0)."""
        ...

    async def serve(self, handler: Callable[[ByteStream], Awaitable[None]]) -> None:
        """Accept until cancelled, each connection in a task of its own.

        ``handler`` owns the stream (it closes it) and must not raise.
        """
        ...

    async def aclose(self) -> None:
        """Stop listening."""
        ...


class Backend(Protocol):
    """What the async layer needs of an event loop (see the module docstring).

    Timeouts are ``move_on_after`` scopes (``None``: no limit) whose
    ``cancelled_caught`` the layer checks; locks, bounded buffers and ``fail_after``
    are written once in the layer over :class:`Event`.
    """

    #: the process environment (``OPENAI_API_KEY``, ``OAIRT_BASE_URL``)
    environ: Mapping[str, str]

    def default_ssl_context(self) -> ssl.SSLContext:
        """The system's TLS context (certificate and hostname checks on)."""
        ...

    async def connect_tcp(
        self, host: str, port: int, ssl_context: ssl.SSLContext | None
    ) -> ByteStream:
        """TCP, then TLS with SNI when a context is given (handshake done here).

        A server dropping TCP without a TLS close_notify is not an error. Failures
        raise :class:`~oairt_core.errors.ConnectError` (see ``connect_error``).
        """
        ...

    async def listen_tcp(self, host: str, port: int) -> Listener:
        """Listen on ``host:port`` (port 0: any free port); OSError if it cannot bind."""
        ...

    def wrap_stream(self, stream: Any) -> ByteStream:
        """The loop's own connected byte stream (an anyio ``ByteStream``, a trio
        ``Stream``) as a :class:`ByteStream`, for servers given an accepted connection."""
        ...

    def event(self) -> Event: ...
    def cancel_scope(self, *, shield: bool = False) -> CancelScope: ...
    def move_on_after(self, seconds: float | None, *, shield: bool = False) -> CancelScope: ...
    async def sleep(self, seconds: float) -> None: ...
    def current_time(self) -> float: ...
    async def checkpoint(self) -> None: ...
    async def checkpoint_if_cancelled(self) -> None: ...
    def cancelled_exc_class(self) -> type[BaseException]: ...
    async def run_sync(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a worker thread, abandoned (left running) if the caller is cancelled."""
        ...

    def task_group(self) -> AbstractAsyncContextManager[TaskGroup]: ...

    def wall_time(self) -> float:
        """Unix time, for comparing with server timestamps such as ``expires_at``."""
        ...
