"""The fake server's strict client-event schema is generated from the official SDK models.

Run ``OAIRT_REGEN_SCHEMA=1 pytest tests/test_fake_server_schema.py`` after upgrading ``openai``
to rewrite ``oairt_core/testing/_client_schema.py``; the test fails when the two drift apart.
"""

from __future__ import annotations

import importlib
import os
import pprint
import subprocess
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest

pydantic = pytest.importorskip("pydantic")
rt = pytest.importorskip("openai.types.realtime")

TARGET = Path(__file__).resolve().parent.parent / "oairt_core" / "testing" / "_client_schema.py"

HEADER = '''"""Generated from the openai SDK's GA client-event models; do not edit by hand.

Regenerate with ``OAIRT_REGEN_SCHEMA=1 pytest tests/test_fake_server_schema.py``. Types are
encoded as ``"str" | "int" | "float" | "bool" | "null" | "any"`` or lists
``["lit", *values]``, ``["list", T]``, ``["dict", T]``, ``["union", *Ts]``, ``["model", name]``.
"""

from __future__ import annotations

from typing import Any, Final

'''


def _build() -> tuple[object, dict[str, dict[str, list[object]]]]:
    models: dict[str, dict[str, list[object]]] = {}

    def name_of(cls: type) -> str:
        return cls.__module__.rsplit(".", 1)[-1] + ":" + cls.__qualname__

    def enc(t: object) -> object:
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            return enc(typing.get_args(t)[0])
        if t is type(None):
            return "null"
        for py, name in ((str, "str"), (bool, "bool"), (int, "int"), (float, "float")):
            if t is py:
                return name
        if t is object or t is typing.Any:
            return "any"
        if origin is typing.Literal:
            return ["lit", *typing.get_args(t)]
        if origin in (list, typing.List):  # noqa: UP006
            return ["list", enc(typing.get_args(t)[0])]
        if origin in (dict, typing.Dict):  # noqa: UP006
            return ["dict", enc(typing.get_args(t)[1])]
        if origin in (typing.Union, types.UnionType):
            return ["union", *[enc(a) for a in typing.get_args(t)]]
        if isinstance(t, type) and issubclass(t, pydantic.BaseModel):
            n = name_of(t)
            if n not in models:
                models[n] = {}
                fields: dict[str, list[object]] = {}
                model: Any = t
                for fname, f in model.model_fields.items():
                    fields[f.alias or fname] = [f.is_required(), enc(f.annotation)]
                models[n] = fields
            return ["model", n]
        raise TypeError(repr(t))

    root = enc(rt.RealtimeClientEvent)
    # response.create input may also hold item references (the SDK only types them in its
    # TypedDict params, see GA_PROTOCOL.md x.6).
    models["ItemReference"] = {
        "type": [True, ["lit", "item_reference"]],
        "id": [True, "str"],
    }
    params = models["realtime_response_create_params:RealtimeResponseCreateParams"]
    req, typ = params["input"]
    assert isinstance(typ, list)
    union = typ[1][1]  # ["union", ["list", ["union", ...]], "null"]
    assert isinstance(union, list) and union[0] == "union"
    union.append(["model", "ItemReference"])
    return _dedupe(root, models)


def _dedupe(
    root: object, models: dict[str, dict[str, list[object]]]
) -> tuple[object, dict[str, dict[str, list[object]]]]:
    """Keep one copy of models with the very same fields (the SDK repeats some per module).

    The first name in sorted order stays; references to the others are rewritten, which can
    make more models identical, so this runs until nothing changes.
    """

    def rename(t: object, alias: dict[str, str]) -> object:
        if isinstance(t, list):
            if t and t[0] == "model":
                return ["model", alias.get(str(t[1]), t[1])]
            return [rename(x, alias) for x in t]
        return t

    while True:
        first: dict[str, str] = {}
        alias: dict[str, str] = {}
        for n in sorted(models):
            key = repr(list(models[n].items()))  # field order matters: it orders the problems
            alias_of = first.setdefault(key, n)
            if alias_of != n:
                alias[n] = alias_of
        if not alias:
            return root, models
        root = rename(root, alias)
        models = {
            n: {f: [req, rename(t, alias)] for f, (req, t) in fields.items()}
            for n, fields in models.items()
            if n not in alias
        }


def _render() -> str:
    root, models = _build()
    body = "ROOT: Final[Any] = " + pprint.pformat(root, width=100) + "\n\n"
    body += "MODELS: Final[dict[str, dict[str, Any]]] = " + pprint.pformat(models, width=100) + "\n"
    return HEADER + body


def test_schema_matches_sdk() -> None:
    text = _render()
    from oairt_core.testing import _client_schema

    if os.environ.get("OAIRT_REGEN_SCHEMA"):
        TARGET.write_text(text)
        # Same layout as the rest of the tree (ruff is a dev dependency), then compare afresh.
        subprocess.run([sys.executable, "-m", "ruff", "format", str(TARGET)], check=False)
        importlib.reload(_client_schema)

    root, models = _build()
    assert root == _client_schema.ROOT
    assert models == _client_schema.MODELS


# Places where oairt's own models are looser than the SDK's: none. Client-side validation rejects
# an item "object" other than "realtime.item" and an unknown MCP "connector_id" before sending.
KNOWN_LOOSER: set[str] = set()


def test_everything_oairt_sends_is_accepted_by_the_fake_server() -> None:
    import json

    from hypothesis import HealthCheck, given, settings

    from oairt_core.codec import encode_client_event
    from oairt_core.errors import InvalidClientEvent
    from oairt_core.testing._strict import check_client_event

    from .test_models_hypothesis import any_client_event

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(any_client_event)
    def check(event: Any) -> None:
        try:
            data = encode_client_event(event)
        except InvalidClientEvent:
            return
        problems = check_client_event(json.loads(data))
        params = {(p.param or "").split("[")[0] for p in problems}
        assert params <= KNOWN_LOOSER, problems

    check()


def test_known_models_are_the_sdk_session_models() -> None:
    from oairt_core.testing import KNOWN_MODELS

    _root, models = _build()
    spec = models["realtime_session_create_request:RealtimeSessionCreateRequest"]["model"][1]
    assert isinstance(spec, list)
    listed = {str(v) for alt in spec if isinstance(alt, list) and alt[0] == "lit" for v in alt[1:]}
    assert listed == KNOWN_MODELS and "gpt-realtime" in KNOWN_MODELS


def test_assistant_text_spelling_is_not_sent_as_is() -> None:
    import json

    from oairt_core.codec import encode_client_event
    from oairt_core.errors import InvalidClientEvent
    from oairt_core.events import ConversationItemCreateEvent
    from oairt_core.models import MessageItem, TextContent
    from oairt_core.testing._strict import check_client_event

    event = ConversationItemCreateEvent(
        item=MessageItem(role="assistant", content=[TextContent(text="Earlier answer.")])
    )
    try:
        data = encode_client_event(event)
    except InvalidClientEvent:
        return  # refused before sending: fine
    assert check_client_event(json.loads(data)) == []  # or sent in a form the server takes
