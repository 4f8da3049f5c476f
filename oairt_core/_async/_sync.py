"""A fair lock and a bounded buffer, written once over :class:`~._backend.Backend` events.

Both take the uncontended path without a trip through the event loop (an
uncontended ``acquire``, a ``put`` with room, a ``get`` of a buffered item): the
hot paths of a connection are plain Python.

The buffer is bounded twice: by a number of items and by a byte budget (each item
is charged the size it is given). A full buffer makes ``put`` wait (the reader
stops reading the socket: backpressure to TCP). One item is always admitted into an
empty buffer whatever its size, so nothing is ever dropped or deadlocked. A bound
of 0 items is a rendezvous: ``put`` returns only once the item was taken.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

from ._backend import Backend, Event

__all__ = ["Buffer", "BufferClosed", "Lock"]

T = TypeVar("T")


class BufferClosed(Exception):
    """The buffer ended (``get``: closed and empty; ``put``: the reader side closed)."""


class Lock:
    """A FIFO lock; ``async with lock`` or ``await acquire()`` / ``release()``."""

    __slots__ = ("_backend", "_locked", "_waiters")

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._locked = False
        self._waiters: deque[Event] = deque()

    def locked(self) -> bool:
        return self._locked

    def try_acquire(self) -> bool:
        """Take the lock if it is free (True), without waiting."""
        if self._locked:
            return False
        self._locked = True
        return True

    async def acquire(self) -> None:
        if not self._locked:
            self._locked = True
            return
        ready = self._backend.event()
        self._waiters.append(ready)
        try:
            await ready.wait()
        except BaseException:
            if ready.is_set():
                self.release()  # handed over to us as we were cancelled: pass it on
            else:
                self._waiters.remove(ready)
            raise

    def release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # stays locked: ownership passes on
        else:
            self._locked = False

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class Buffer(Generic[T]):
    """A bounded queue (items and bytes) between one producer and its consumers."""

    def __init__(self, backend: Backend, max_items: int, max_bytes: int | None = None) -> None:
        self._backend = backend
        self._items: deque[tuple[T, int]] = deque()
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._bytes = 0
        self._closed = False  # no more puts (the producer ended)
        self._abandoned = False  # no more gets (the consumer left)
        self._readable: Event | None = None
        self._writable: Event | None = None

    @property
    def buffered_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def _has_room(self, size: int) -> bool:
        if not self._items:
            return True
        if len(self._items) >= max(self._max_items, 1):
            return False
        return self._max_bytes is None or self._bytes + size <= self._max_bytes

    def _wake_readers(self) -> None:
        ready, self._readable = self._readable, None
        if ready is not None:
            ready.set()

    def _wake_writers(self) -> None:
        ready, self._writable = self._writable, None
        if ready is not None:
            ready.set()

    def put_nowait(self, item: T, size: int = 0) -> bool:
        """Buffer ``item`` if there is room (True); raises :class:`BufferClosed` if abandoned."""
        if self._abandoned:
            raise BufferClosed
        if self._max_items == 0 or not self._has_room(size):
            return False
        self._items.append((item, size))
        self._bytes += size
        self._wake_readers()
        return True

    async def put(self, item: T, size: int = 0) -> None:
        """Buffer ``item``, waiting while the buffer is full."""
        if self.put_nowait(item, size):
            return
        if self._max_items == 0:
            # Rendezvous: hand it over, then wait until it was taken.
            self._items.append((item, size))
            self._bytes += size
            self._wake_readers()
            while self._items and not self._abandoned:
                await self._wait_writable()
            if self._abandoned and self._items:
                self._items.clear()
                raise BufferClosed
            return
        while True:
            await self._wait_writable()
            if self.put_nowait(item, size):
                return

    async def _wait_writable(self) -> None:
        ready = self._writable
        if ready is None:
            ready = self._writable = self._backend.event()
        await ready.wait()

    def get_nowait(self) -> T:
        """The next item; raises :class:`BufferClosed` at the end, IndexError when empty."""
        if self._items:
            item, size = self._items.popleft()
            self._bytes -= size
            self._wake_writers()
            return item
        if self._closed or self._abandoned:
            raise BufferClosed
        raise IndexError("empty")

    async def get(self) -> T:
        """The next item, waiting for one; raises :class:`BufferClosed` at the end."""
        while True:
            if self._items or self._closed or self._abandoned:
                return self.get_nowait()  # no exception raised and caught per wait
            ready = self._readable
            if ready is None:
                ready = self._readable = self._backend.event()
            await ready.wait()

    def close(self) -> None:
        """The producer is done: ``get`` raises :class:`BufferClosed` once drained."""
        self._closed = True
        self._wake_readers()

    def abandon(self) -> None:
        """The consumer is gone: buffered items are dropped and ``put`` raises."""
        self._abandoned = True
        self._items.clear()
        self._bytes = 0
        self._wake_readers()
        self._wake_writers()
