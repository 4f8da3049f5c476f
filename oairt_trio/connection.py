"""The Realtime WebSocket connection on trio (nurseries, memory channels, trio.SSLStream).

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_trio.open_realtime(api_key="sk-...", model="gpt-realtime") as conn:
...         await conn.send(InputAudioBufferClearEvent())
...         async for event in conn:
...             print(type(event).__name__)

Or, in the manner of trio-websocket, in a nursery you own::

    async with trio.open_nursery() as nursery:
        conn = await oairt_trio.connect_realtime(nursery, api_key=key, model="gpt-realtime")
        ...
        await conn.close()

Same object protocol, options and policies as ``oairt_anyio`` (see its module
docstring), decided by :class:`oairt_core.driver.ConnectionDriver`: bounded event buffer
with backpressure to TCP, whole-frame-or-nothing sends (a send cancelled part-way aborts
the connection: later operations raise ``ConnectionClosedError`` (1006) saying so), bounded
close, ``ConnectionClosedError`` after the last buffered event, ``async for`` ending
quietly on a normal close, :class:`ConnectError` for DNS/TCP/TLS failures. ``api_key``
defaults to ``$OPENAI_API_KEY`` and ``base_url`` to ``$OAIRT_BASE_URL``.
"""

from __future__ import annotations

import ssl as _ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import trio

from oairt_core.connection import ConnectionClosed, IncomingEvent, NeedData
from oairt_core.driver import AsyncConnectionBase, ConnectionDriver, connect_error, plan_connection
from oairt_core.errors import ConnectionClosedError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from oairt_core.driver import ConnectOptions

__all__ = ["TrioConnection", "connect_realtime", "open_realtime"]

STREAM_GONE = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


def _deadline(timeout: float | None) -> float:
    return float("inf") if timeout is None else timeout


class TrioConnection(AsyncConnectionBase):
    """An open Realtime connection on trio; from :func:`open_realtime` or
    :func:`connect_realtime`. Satisfies ``oairt_core.protocols.AsyncRealtimeConnection``.
    """

    def __init__(
        self,
        driver: ConnectionDriver,
        stream: trio.abc.Stream,
        *,
        max_buffered_events: int = 256,
        close_timeout: float = 2.0,
        write_timeout: float | None = 30.0,
        read_size: int = 65536,
    ) -> None:
        self._driver = driver
        self._stream = stream
        self._close_timeout = close_timeout
        self._write_timeout = write_timeout
        self._read_size = read_size
        self._send_lock = trio.Lock()
        self._tx, self._rx = trio.open_memory_channel[IncomingEvent](max_buffered_events)
        self._reader_done = trio.Event()
        # Set (and dropped) by the reader when it buffers an event or ends: an empty buffer
        # is waited on through it rather than ``receive()``, which would first take a
        # needless trip through the event loop.
        self._ready: trio.Event | None = None
        self._rendezvous = max_buffered_events == 0  # no buffer: hand-over in receive()
        self._stream_closed = False

    async def _lock(self) -> None:
        # Uncontended (the usual case): take the lock without a trip through the event loop
        # (``Lock.acquire`` always yields; the write yields anyway, and ``_write`` checks for
        # a cancel before writing). Contended: queue fairly behind the holder as before.
        try:
            self._send_lock.acquire_nowait()
        except trio.WouldBlock:
            await self._send_lock.acquire()

    async def _send(self, frame: Callable[[], bytes]) -> None:
        await self._lock()
        try:
            await self._write(frame())
        finally:
            self._send_lock.release()

    async def _write(self, data: bytes) -> None:
        # Send lock held. Not shielded: a cancel is honoured at once, and since trio's
        # send_all may stop mid-buffer, a write cancelled part-way aborts the connection.
        if not data:
            return
        self._driver.check_writable(self._stream_closed)
        await trio.lowlevel.checkpoint_if_cancelled()  # a cancel here: nothing was sent
        try:
            with trio.move_on_after(_deadline(self._write_timeout)) as scope:
                await self._stream.send_all(data)
        except STREAM_GONE as exc:
            await self._abort()
            raise self._driver.write_failed("lost") from exc
        except trio.Cancelled:
            self._driver.write_failed("cancelled")
            await self._abort()
            raise
        if scope.cancelled_caught:
            await self._abort()
            raise self._driver.write_failed("timeout")

    async def _abort(self) -> None:
        if not self._stream_closed:
            self._stream_closed = True
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(self._stream)

    async def next_event(self) -> IncomingEvent:
        """The next server event; raises once the connection is over (see module doc)."""
        # An event already buffered is returned without a trip through the event loop (a
        # cancel is still honoured first); only an empty buffer waits.
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                return self._rx.receive_nowait()
            except trio.WouldBlock:
                if self._rendezvous:
                    try:
                        return await self._rx.receive()
                    except (trio.EndOfChannel, trio.ClosedResourceError):
                        break
                ready = self._ready
                if ready is None:
                    ready = self._ready = trio.Event()
                await ready.wait()
            except (trio.EndOfChannel, trio.ClosedResourceError):
                break
        await self._reader_done.wait()
        raise self._driver.end_error()

    def _wake(self) -> None:
        ready = self._ready
        if ready is not None:
            self._ready = None
            ready.set()

    async def _run_reader(self) -> None:
        driver = self._driver
        try:
            while True:
                step = driver.next_step()
                if isinstance(step, NeedData):
                    await self._flush()
                    data: bytes | bytearray | None
                    try:
                        data = await self._stream.receive_some(self._read_size)
                    except STREAM_GONE:
                        data = None
                    driver.receive_data(data)
                elif isinstance(step, ConnectionClosed):
                    await self._flush()
                    return
                else:
                    try:
                        try:
                            self._tx.send_nowait(step)  # no loop round trip while there is room
                            self._wake()
                        except trio.WouldBlock:
                            await self._tx.send(step)  # blocks while the buffer is full
                            self._wake()  # it may have gone into the buffer after all
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        driver.discard_events()
        finally:
            driver.reader_finished()
            self._tx.close()
            self._wake()
            await self._abort()
            self._reader_done.set()

    async def _flush(self) -> None:
        data = self._driver.data_to_send()
        if data:
            try:
                await self._lock()
                try:
                    await self._write(data)
                finally:
                    self._send_lock.release()
            except ConnectionClosedError:
                self._driver.transport_lost()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close frame, bounded wait for the reply, socket closed. Idempotent."""
        self._rx.close()
        try:
            try:
                async with self._send_lock:
                    await self._write(self._driver.frame_close(code, reason))
            except ConnectionClosedError:
                pass
            with trio.move_on_after(self._close_timeout):
                await self._reader_done.wait()
        finally:
            await self._abort()  # also when close() itself is cancelled: nothing left open
        await self._reader_done.wait()


async def open_stream(host: str, port: int, ssl_context: _ssl.SSLContext | None) -> trio.abc.Stream:
    """TCP, then TLS (handshake done here, so its failures are connect failures).

    ``https_compatible``: the WebSocket close handshake (or HTTP framing) marks the end of
    the data, so a server dropping TCP without TLS close_notify is not an error.
    """
    tcp: trio.SocketStream | None = None
    try:
        tcp = await trio.open_tcp_stream(host, port)
        if ssl_context is None:
            return tcp
        tls = trio.SSLStream(tcp, ssl_context, server_hostname=host, https_compatible=True)
        await tls.do_handshake()
        return tls
    except (OSError, trio.BrokenResourceError) as exc:
        if tcp is not None:
            await trio.aclose_forcefully(tcp)
        raise connect_error(host, port, exc) from exc
    except BaseException:
        if tcp is not None:
            await trio.aclose_forcefully(tcp)
        raise


async def _open(options: dict[str, Any]) -> TrioConnection:
    plan = plan_connection(options)
    driver = plan.driver
    stream: trio.abc.Stream | None = None
    try:
        with trio.fail_after(_deadline(plan.connect_timeout)):
            stream = await open_stream(plan.host, plan.port, plan.ssl_context)
            try:
                await stream.send_all(driver.initiate())
            except STREAM_GONE as exc:
                raise plan.connect_error(exc) from exc
            while not driver.handshake_done():
                data: bytes | bytearray | None
                try:
                    data = await stream.receive_some(65536)
                except STREAM_GONE:
                    data = None
                driver.receive_data(data)
    except trio.TooSlowError:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise plan.timeout_error() from None
    except BaseException:
        if stream is not None:
            await trio.aclose_forcefully(stream)
        raise
    return TrioConnection(
        driver,
        stream,
        max_buffered_events=plan.max_buffered_events,
        close_timeout=plan.close_timeout,
        write_timeout=plan.write_timeout,
    )


async def connect_realtime(
    nursery: trio.Nursery, **options: Unpack[ConnectOptions]
) -> TrioConnection:
    """Connect, then run the reader in ``nursery``; close with ``await conn.close()``.

    Same options as :func:`open_realtime`. Raises :class:`HandshakeError`,
    :class:`RequestTimeout` or :class:`ConnectError` before anything is started.
    """
    conn = await _open(dict(options))
    nursery.start_soon(conn._run_reader)
    return conn


@asynccontextmanager
async def open_realtime(**options: Unpack[ConnectOptions]) -> AsyncIterator[TrioConnection]:
    """A Realtime connection for the duration of the block (closed cleanly on exit).

    The keyword options of ``oairt_anyio.connect`` (see
    :class:`oairt_core.driver.ConnectOptions`), all optional: ``api_key`` defaults to
    ``$OPENAI_API_KEY``, ``base_url`` to ``$OAIRT_BASE_URL``. Exceptions from the block
    come out unwrapped (not in an ExceptionGroup).
    """
    conn = await _open(dict(options))
    body_error: Exception | None = None
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(conn._run_reader)
            try:
                yield conn
            except Exception as exc:
                # Kept out of the nursery so it is not wrapped in an ExceptionGroup.
                body_error = exc
            finally:
                with trio.CancelScope(shield=True):
                    await conn.close()
    finally:
        await conn._abort()
    if body_error is not None:
        raise body_error
