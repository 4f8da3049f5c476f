"""oairt_trio: drive the oairt_core state machines on trio nurseries."""

__all__: list[str] = []
