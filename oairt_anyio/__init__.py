"""oairt_anyio: drive the oairt_core state machines on anyio (asyncio or trio backend).

>>> import oairt_anyio
>>> callable(oairt_anyio.connect)
True
"""

from .connection import AnyioConnection, connect, serve_connection, start_connection

__all__: list[str] = ["AnyioConnection", "connect", "serve_connection", "start_connection"]
