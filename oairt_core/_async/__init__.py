"""The one async layer: connection, reconnection, voice session and REST, written once.

Everything here runs over :class:`~oairt_core._async._backend.Backend` and imports no
event loop; ``oairt_anyio`` and ``oairt_trio`` each implement the backend and bind the
entry points of :mod:`oairt_core._async.api` to it (httpcore's ``_async`` pattern).
"""
