"""Run the fake Realtime server on loopback (anyio: asyncio or trio).

The protocol lives in :mod:`oairt_core.testing`; this module only owns sockets and time.

>>> import anyio
>>> from oairt_core.testing import Script, say
>>> async def main() -> str:
...     async with run_fake_server(script=Script(say("Hi"))) as server:
...         return server.url.rsplit(":", 1)[0]
>>> anyio.run(main)
'ws://127.0.0.1'
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
from anyio.abc import SocketAttribute

from oairt_core._redact import Secret
from oairt_core.testing.recording import Recorder
from oairt_core.testing.rest_fake import FakeRestApi
from oairt_core.testing.script import Script
from oairt_core.testing.server import (
    FAKE_API_KEY,
    FakeRealtimeServer,
    FakeRealtimeService,
    Faults,
    Pacing,
    RestHandler,
    Violation,
)

from ._sigint import is_interrupt

__all__ = [
    "FakeServer",
    "RecordFile",
    "run_fake_server",
    "run_fake_server_cli",
    "serve_connection",
    "serve_forever",
]

_READ_SIZE = 65536


class _Changes:
    """Wakes waiters whenever any connection moved (bytes in, bytes out, time passed)."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait(self) -> None:
        await self._event.wait()


@dataclass
class FakeServer:
    """A running fake server: where it listens and what it saw."""

    service: FakeRealtimeService
    host: str
    port: int
    api_key: str
    changes: _Changes = field(default_factory=_Changes, repr=False)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true; it is re-checked whenever a connection moves.

        Raises ``TimeoutError`` after ``timeout`` seconds (a safety net, not a timing).
        """
        with anyio.fail_after(timeout):
            while not predicate():
                await self.changes.wait()

    async def wait_for_client_event(
        self,
        type: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        *,
        index: int = 0,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """A client event of this ``type`` any connection received, waiting for it.

        ``where`` narrows the match with a predicate on the event; ``index`` picks the
        ``index``-th match (0: the first) in :attr:`received_events` order. The second
        ``conversation.item.create``, say, is the tool output after the user's message::

            output = await server.wait_for_client_event(
                "conversation.item.create",
                lambda e: e["item"]["type"] == "function_call_output",
            )
        """
        return await self._wait_for_event(lambda: self.received_events, type, where, index, timeout)

    async def wait_for_server_event(
        self,
        type: str,
        where: Callable[[dict[str, Any]], bool] | None = None,
        *,
        index: int = 0,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """An event of this ``type`` the server sent on any connection, waiting for it.

        ``where`` and ``index`` as in :meth:`wait_for_client_event`, over :attr:`sent_events`.
        """
        return await self._wait_for_event(lambda: self.sent_events, type, where, index, timeout)

    async def _wait_for_event(
        self,
        events: Callable[[], list[dict[str, Any]]],
        type: str,
        where: Callable[[dict[str, Any]], bool] | None,
        index: int,
        timeout: float,
    ) -> dict[str, Any]:
        if index < 0:
            raise ValueError(f"index must be 0 or more, not {index}")
        found: list[dict[str, Any]] = []

        def seen() -> bool:
            found[:] = [
                e for e in events() if e.get("type") == type and (where is None or where(e))
            ]
            return len(found) > index

        await self.wait_for(seen, timeout)
        return found[index]

    @property
    def received_events(self) -> list[dict[str, Any]]:
        """Every client event the server received (that parsed as JSON), connection by
        connection, each in arrival order. Empty with ``history=False``.
        """
        return [e for c in self.connections for e in c.received_events]

    @property
    def sent_events(self) -> list[dict[str, Any]]:
        """Every event the server sent, connection by connection, each in the order sent.
        Empty with ``history=False``.
        """
        return [e for c in self.connections for e in c.sent_events]

    @property
    def url(self) -> str:
        """``websocket_base_url`` for the SDK and oairt: ``ws://127.0.0.1:PORT/v1``."""
        return f"ws://{self._netloc}/v1"

    @property
    def _netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def http_url(self) -> str:
        """REST base URL: ``http://127.0.0.1:PORT/v1``."""
        return f"http://{self._netloc}/v1"

    @property
    def script(self) -> Any:
        return self.service.script

    @property
    def connections(self) -> list[FakeRealtimeServer]:
        return self.service.connections

    @property
    def violations(self) -> list[Violation]:
        return self.service.violations

    @property
    def rest(self) -> RestHandler | None:
        return self.service.rest


class RecordFile:
    """One JSONL file for every session of a server: the first session to end truncates it,
    later ones append, each line tagged with its ``"session"`` number (the connection's index).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._started = False

    def write(self, recorder: Recorder) -> None:
        mode = "a" if self._started else "w"
        with open(self.path, mode, encoding="utf-8") as fh:
            fh.write(recorder.dumps())
        self._started = True


async def serve_connection(
    stream: anyio.abc.ByteStream,
    server: FakeRealtimeServer,
    *,
    record: RecordFile | None = None,
    notify: Callable[[], None] | None = None,
) -> None:
    """Pump one accepted connection through its state machine until it closes."""
    async with stream:
        try:
            while True:
                if notify is not None:
                    notify()
                out = server.data_to_send()
                if out:
                    await stream.send(out)
                if server.closed:
                    break
                deadline = server.next_deadline()
                timeout = None if deadline is None else max(0.0, deadline - anyio.current_time())
                data: bytes | None = None
                with anyio.move_on_after(timeout):
                    try:
                        data = await stream.receive(_READ_SIZE)
                    except (anyio.EndOfStream, anyio.BrokenResourceError):
                        data = b""
                if data is None:
                    server.advance(anyio.current_time())
                else:
                    server.receive_data(data, anyio.current_time())
                    if data == b"":
                        # The peer shut its side: send what is left (e.g. a close reply).
                        out = server.data_to_send()
                        if out:
                            await stream.send(out)
                        break
            if server.aborted:
                _linger_zero(stream)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            pass
        except Exception as exc:  # noqa: BLE001 - one broken connection must not stop the server
            server._internal_error(exc)
        finally:
            # A connection that carried no frame (a REST call) leaves nothing to replay.
            if record is not None and server.recorder is not None and server.recorder.frames:
                try:
                    record.write(server.recorder)
                except OSError as exc:
                    server.violations.append(
                        Violation("recording_failed", f"cannot write recording: {exc}")
                    )


def _linger_zero(stream: anyio.abc.ByteStream) -> None:
    """Make close() send a TCP RST: the closest thing to a dropped connection."""
    sock = stream.extra(SocketAttribute.raw_socket, None)
    if isinstance(sock, socket.socket):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _service(
    *,
    script: Script | Any | None,
    api_keys: Iterable[str | Secret] | None,
    pacing: Pacing,
    rest: RestHandler | None,
    faults: Faults | None,
    record: RecordFile | None,
    history: bool = True,
    max_session_seconds: float = 3600,
) -> FakeRealtimeService:
    if rest is None:
        keys = (
            None
            if api_keys is None
            else [k.reveal() if isinstance(k, Secret) else k for k in api_keys]
        )
        rest = FakeRestApi(keys)
    svc: FakeRealtimeService | None = None

    def recorder() -> Recorder:
        # Called while the service adds a connection: its index is the session number.
        assert svc is not None
        return Recorder(meta={"server": "oairt fake"}, session=svc._counter)

    svc = FakeRealtimeService(
        api_keys=api_keys,
        script=script,
        pacing=pacing,
        rest=rest,
        faults=faults,
        recorder_factory=recorder if record is not None else None,
        history=history,
        clock=time.time,
        max_session_seconds=max_session_seconds,
    )
    return svc


@asynccontextmanager
async def run_fake_server(
    *,
    script: Script | Any | None = None,
    api_keys: Iterable[str | Secret] | None = None,
    pacing: Pacing = "fast",
    host: str = "127.0.0.1",
    port: int = 0,
    rest: RestHandler | None = None,
    faults: Faults | None = None,
    record: str | os.PathLike[str] | None = None,
    service: FakeRealtimeService | None = None,
    history: bool = True,
    max_session_seconds: float = 3600,
) -> AsyncIterator[FakeServer]:
    """Serve the fake Realtime API (WebSocket and REST) on ``host:port`` for the block.

    Keys follow the fake's one rule, :data:`~oairt_core.testing.API_KEY_RULE`: with the
    default ``api_keys=None`` it accepts any key (``server.api_key``, ``sk-test``, will do);
    given keys, only those. ``rest`` defaults to a ``FakeRestApi`` with the same
    keys. ``record`` writes each connection's frames to a JSONL file when it ends
    (``name-2.jsonl``, ... for later connections). ``history=False`` stops keeping every
    event in ``connection.sent_events``/``received_events``. ``max_session_seconds`` is the
    session cap (``session_expired`` error, then close 1001). ``service`` replaces all the
    other settings with a prepared :class:`FakeRealtimeService`.
    """
    rec_path = RecordFile(record) if record is not None else None
    svc = service or _service(
        script=script,
        api_keys=api_keys,
        pacing=pacing,
        rest=rest,
        faults=faults,
        record=rec_path,
        history=history,
        max_session_seconds=max_session_seconds,
    )
    keys = list(api_keys) if api_keys is not None else []
    first = keys[0] if keys else FAKE_API_KEY
    key = first.reveal() if isinstance(first, Secret) else str(first)
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    bound = listener.extra(SocketAttribute.local_port)

    changes = _Changes()

    async def handle(stream: anyio.abc.SocketStream) -> None:
        try:
            await serve_connection(
                stream, svc.new_connection(), record=rec_path, notify=changes.notify
            )
        finally:
            changes.notify()

    # An error from the caller's block leaves unwrapped, as it went in: raised inside the task
    # group it would come out in an ExceptionGroup the caller never asked for.
    raised: Exception | None = None
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, handle)
        try:
            yield FakeServer(svc, host, bound, key, changes)
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the group
            raised = exc
        finally:
            tg.cancel_scope.cancel()
    if raised is not None:
        raise raised


async def serve_forever(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    task_status: anyio.abc.TaskStatus[FakeServer] = anyio.TASK_STATUS_IGNORED,
    **kwargs: Any,
) -> None:
    """Serve until cancelled; ``task_status.started`` receives the :class:`FakeServer`."""
    async with run_fake_server(host=host, port=port, **kwargs) as server:
        task_status.started(server)
        await anyio.sleep_forever()


def run_fake_server_cli(port: int, *, record: str | None = None, host: str = "127.0.0.1") -> int:
    """``oairt fake-server``: print ``listening on ws://127.0.0.1:N/v1`` and serve until ^C.

    Returns 130 after Ctrl-C, the exit status of every ``oairt`` command interrupted that way.
    """

    async def main() -> None:
        async with run_fake_server(
            host=host, port=port, api_keys=None, record=record, history=False
        ) as server:
            print(f"listening on {server.url}", flush=True)
            await anyio.sleep_forever()

    try:
        anyio.run(main)
    except BaseException as exc:
        if not is_interrupt(exc):
            raise
        print("stopped", file=sys.stderr, flush=True)
        return 130
    return 0
