"""oairt_core.testing: the conformance harness (a sans-IO fake Realtime server)."""

__all__: list[str] = []
