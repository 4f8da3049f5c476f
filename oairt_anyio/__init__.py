"""oairt_anyio: drive the oairt_core state machines on anyio (asyncio or trio backend)."""

__all__: list[str] = []
