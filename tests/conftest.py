"""Shared fixtures.

``anyio_backend``: a test that only needs an event loop runs on asyncio and on trio.

``adapter``: every adapter-level scenario runs three times, on anyio-asyncio,
anyio-trio and native trio. One parametrisation drives both the loop and the adapter
(so nothing is skipped): ask for ``adapter`` and use ``adapter.open_realtime(...)``,
``adapter.open_voice(...)``, ``adapter.RealtimeRestClient``, ``adapter.open_group()``.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

ADAPTER_CASES = [("asyncio", "anyio"), ("trio", "anyio"), ("trio", "trio")]
ADAPTER_IDS = ["anyio-asyncio", "anyio-trio", "trio"]


@dataclass(frozen=True)
class Adapter:
    """One (event loop, adapter) pair; attribute access reaches the adapter's module."""

    loop: str
    name: str

    @property
    def module(self) -> ModuleType:
        if self.name == "trio":
            import oairt_trio

            return oairt_trio
        import oairt_anyio

        return oairt_anyio

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.module, attr)

    def open_group(self) -> AbstractAsyncContextManager[Any]:
        """A task group of this adapter's flavour (an anyio task group or a trio nursery)."""
        if self.name == "trio":
            import trio

            return trio.open_nursery()
        import anyio

        return anyio.create_task_group()

    def __str__(self) -> str:
        return ADAPTER_IDS[ADAPTER_CASES.index((self.loop, self.name))]


@pytest.hookimpl(tryfirst=True)  # before the fixture params, so ours win
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "adapter" not in metafunc.fixturenames:
        return
    adapters = [Adapter(loop, name) for loop, name in ADAPTER_CASES]
    if "anyio_backend" in metafunc.fixturenames:
        cases = [(a.loop, a) for a in adapters]
        metafunc.parametrize(("anyio_backend", "adapter"), cases, ids=ADAPTER_IDS)
    else:  # a synchronous test: no loop to choose
        metafunc.parametrize("adapter", adapters, ids=ADAPTER_IDS)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)
