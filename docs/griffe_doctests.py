"""A griffe extension for the API reference: doctest examples become ``pycon`` code blocks.

oairt's docstrings are reST-flavoured with ``>>>`` examples that run as doctests. Rendered as
Markdown, an example's output such as ``[96, 96, 48]`` would read as a link; fenced, it is code.
Loaded by mkdocstrings (``extensions:`` in mkdocs.yml); not part of the package.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    """Wrap each run of ``>>>`` lines and their output (up to a blank line) in a fence.

    ``"Text.\n\n>>> 1 + 1\n2\n\nMore."`` becomes the same text with ```` ```pycon ````
    before the ``>>>`` line and ```` ``` ```` after ``2`` (tests/test_reference_docs.py).
    """
    out: list[str] = []
    in_fence = in_example = False
    indent = ""
    for line in text.splitlines():
        stripped = line.lstrip()
        if in_example and (not stripped or not line.startswith(indent)):
            out.append(indent + "```")
            in_example = False
        if not in_example and stripped.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and not in_example and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(indent + "```pycon")
            in_example = True
        out.append(line)
    if in_example:
        out.append(indent + "```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
