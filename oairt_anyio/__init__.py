"""oairt_anyio: drive the oairt_core state machines on anyio (asyncio or trio backend).

>>> import oairt_anyio
>>> callable(oairt_anyio.connect)
True
"""

from typing import TYPE_CHECKING

try:
    import anyio as _anyio  # noqa: F401 - the extra this package runs on
except ImportError as _exc:
    _MISSING_EXTRA: ImportError | None = _exc
else:
    _MISSING_EXTRA = None

if _MISSING_EXTRA is None or TYPE_CHECKING:
    from .connection import AnyioConnection, connect, serve_connection, start_connection
    from .resilient import ResilientConnection, connect_resilient
    from .rest import RealtimeRestClient
    from .voice import Realtime, RealtimeSession, connect_voice
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
    "AnyioConnection",
    "Realtime",
    "RealtimeRestClient",
    "RealtimeSession",
    "ResilientConnection",
    "connect",
    "connect_resilient",
    "connect_voice",
    "serve_connection",
    "start_connection",
]
