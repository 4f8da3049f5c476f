"""pytest plugin (entry point ``oairt``): the ``realtime_server`` fixture.

The fixture runs the fake Realtime server on loopback for one test and yields a
:class:`oairt_anyio.testing.FakeServer`: ``url`` (for ``websocket_base_url``), ``http_url``,
``api_key``, ``script`` (queue what the model answers), ``connections`` and ``violations``.
It is an async fixture driven by anyio's pytest plugin, so it works on asyncio and trio::

    import pytest

    @pytest.mark.anyio
    async def test_my_app(realtime_server):
        realtime_server.script.say("Hello!")
        await my_app.run(base_url=realtime_server.url, api_key=realtime_server.api_key)
        assert not realtime_server.violations

Options go in a marker: ``@pytest.mark.realtime_server(pacing="realtime", api_keys={"sk-x"})``
(any keyword of ``run_fake_server``). This module imports only pytest at import time, so it
costs nothing (and needs no anyio) in test runs that do not use the fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

__all__ = ["realtime_server"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "realtime_server(**options): options for the oairt realtime_server fixture "
        "(script, api_keys, pacing, faults, rest, record)",
    )


@pytest.fixture
async def realtime_server(request: pytest.FixtureRequest, anyio_backend: Any) -> AsyncIterator[Any]:
    """A running fake Realtime server (see the module docstring)."""
    from oairt_anyio.testing import run_fake_server

    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker("realtime_server")
    if marker is not None:
        options.update(marker.kwargs)
    async with run_fake_server(**options) as server:
        yield server
