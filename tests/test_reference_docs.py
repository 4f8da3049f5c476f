"""The API reference (docs/reference/, mkdocstrings): its pages name modules that exist, and
every public name of the packages is documented on one of them."""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"
DIRECTIVE = re.compile(r"^::: ([\w.]+)\s*$", re.MULTILINE)


def documented_modules() -> dict[str, str]:
    """Module path -> page, for every ``::: module`` directive (with its options block)."""
    found: dict[str, str] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in DIRECTIVE.finditer(text):
            block = text[match.end() :].split(":::", 1)[0]
            if "members: false" not in block:
                found[match.group(1)] = page.name
    return found


def test_every_directive_names_a_module_that_imports() -> None:
    pages = documented_modules()
    assert pages, "no ::: directives found"
    for module in pages:
        importlib.import_module(module)


def test_every_reference_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in REFERENCE.glob("*.md"):
        assert f"reference/{page.name}" in nav, page.name


def _home(package: ModuleType, name: str) -> str | None:
    """The module whose reference section shows ``package.name``."""
    obj = getattr(package, name)
    if inspect.ismodule(obj):
        return obj.__name__
    module = getattr(obj, "__module__", None)
    if isinstance(module, str) and (inspect.isclass(obj) or inspect.isfunction(obj)):
        return module
    return None  # a constant or a typing alias: documented where it is listed in __all__


@pytest.mark.parametrize(
    "package", ["oairt_core", "oairt_anyio", "oairt_trio", "oairt_core.testing"]
)
def test_every_public_name_is_in_the_reference(package: str) -> None:
    pkg = importlib.import_module(package)
    pages = documented_modules()
    missing = []
    for name in pkg.__all__:
        home = _home(pkg, name)
        if home is not None and not home.startswith(("oairt_core", "oairt_anyio", "oairt_trio")):
            continue  # re-exported from a dependency (msgspec's UnsetType): documented there
        # Shown in its own module's section, or as a re-export listed in a module's __all__.
        ok = (home is not None and home in pages) or any(
            name in getattr(sys.modules.get(m), "__all__", ()) for m in pages if m != package
        )
        if not ok:
            missing.append(f"{package}.{name} ({home or 'constant'})")
    assert missing == []


def test_doctest_examples_become_code_blocks() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "griffe_doctests", ROOT / "docs" / "griffe_doctests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fence_doctests = module.fence_doctests
    text = "Text [1].\n\n    >>> [1, 2]\n    [1, 2]\n\nMore.\n\n```python\n>>> x\n```"
    assert fence_doctests(text) == (
        "Text [1].\n\n    ```pycon\n    >>> [1, 2]\n    [1, 2]\n    ```\n\nMore.\n\n"
        "```python\n>>> x\n```"
    )
