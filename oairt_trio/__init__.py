"""oairt_trio: drive the oairt_core state machines on trio nurseries.

>>> import oairt_trio
>>> callable(oairt_trio.open_realtime)
True
"""

from .connection import TrioConnection, connect_realtime, open_realtime
from .resilient import ResilientTrioConnection, open_resilient
from .rest import RealtimeRestClient
from .voice import Realtime, RealtimeSession, connect_voice

__all__: list[str] = [
    "Realtime",
    "RealtimeRestClient",
    "RealtimeSession",
    "ResilientTrioConnection",
    "TrioConnection",
    "connect_realtime",
    "connect_voice",
    "open_realtime",
    "open_resilient",
]
