"""oairt_anyio: the Realtime API on anyio (asyncio or trio underneath).

The same face as ``oairt_trio`` (only the connection class is named differently):

>>> async def main() -> None:  # doctest: +SKIP
...     async with oairt_anyio.open_realtime(model="gpt-realtime") as conn:
...         await conn.send(SessionUpdateEvent(session=RealtimeSessionConfig(instructions="Hi")))
...         async for event in conn:
...             print(type(event).__name__)
...     async with oairt_anyio.open_voice(voice="alloy", reconnect=ReconnectPolicy()) as session:
...         async for event in session:
...             ...

``open_realtime(**options)`` / ``connect_realtime(task_group, **options)`` give a
connection (:class:`oairt_core._driver.ConnectOptions` lists the options),
``open_voice(config=None, **options)`` / ``connect_voice(task_group, config=None,
**options)`` a voice session, ``reconnect=ReconnectPolicy(...)`` makes either survive
dropped connections. ``api_key`` defaults to ``$OPENAI_API_KEY`` and ``base_url`` to
``$OAIRT_BASE_URL`` (read here, never by the core). The behaviour is written once in
:mod:`oairt_core._async`; this package supplies anyio's backend.

>>> import oairt_anyio
>>> callable(oairt_anyio.open_realtime)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

try:
    import anyio as _anyio  # noqa: F401 - the extra this package runs on
except ImportError as _exc:
    _MISSING_EXTRA: ImportError | None = _exc
else:
    _MISSING_EXTRA = None

if _MISSING_EXTRA is None or TYPE_CHECKING:
    from ._face import (
        AnyioBackend,
        AnyioConnection,
        Realtime,
        RealtimeBuilder,
        RealtimeRestClient,
        RealtimeSession,
        ReconnectingConnection,
        ReconnectingEvent,
        SessionEvent,
        connect_realtime,
        connect_voice,
        open_realtime,
        open_voice,
    )
else:
    # Without anyio the package still imports, so the pytest plugin (registered for every
    # pytest run) and the `oairt` command can name the extra instead of dying on import.
    def __getattr__(name: str) -> object:
        if name.startswith("__"):  # introspection (hasattr, doctest) expects AttributeError
            raise AttributeError(name)
        raise ImportError(
            f"oairt_anyio.{name} needs anyio: pip install 'oairt[anyio]'"
        ) from _MISSING_EXTRA


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
