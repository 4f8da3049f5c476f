"""oairt_trio: drive the oairt_core state machines on trio nurseries.

>>> import oairt_trio
>>> callable(oairt_trio.open_realtime)
True
"""

try:
    import trio as _trio  # noqa: F401 - the extra this package runs on
except ImportError as _exc:
    raise ImportError("oairt_trio needs trio: pip install 'oairt[trio]'") from _exc

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
