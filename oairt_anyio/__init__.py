"""oairt_anyio: drive the oairt_core state machines on anyio (asyncio or trio backend).

>>> import oairt_anyio
>>> callable(oairt_anyio.connect)
True
"""

from .connection import AnyioConnection, connect, serve_connection, start_connection
from .resilient import ResilientConnection, connect_resilient
from .rest import RealtimeRestClient
from .voice import Realtime, RealtimeSession, connect_voice

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
