"""Every docstring example in the three packages runs and shows what it claims."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import oairt_anyio
import oairt_core
import oairt_trio


def _modules() -> list[str]:
    names: list[str] = []
    for pkg in (oairt_core, oairt_anyio, oairt_trio):
        names.append(pkg.__name__)
        names += [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_the_core_documents_its_examples() -> None:
    # A guard against this test silently collecting nothing.
    attempted = sum(
        doctest.testmod(importlib.import_module(n), report=False).attempted
        for n in _modules()
        if n.startswith("oairt_core")
    )
    assert attempted >= 50
