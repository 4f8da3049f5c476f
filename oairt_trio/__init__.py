"""oairt_trio: drive the oairt_core state machines on trio nurseries.

>>> import oairt_trio
>>> callable(oairt_trio.open_realtime)
True
"""

from .connection import TrioConnection, connect_realtime, open_realtime

__all__: list[str] = ["TrioConnection", "connect_realtime", "open_realtime"]
