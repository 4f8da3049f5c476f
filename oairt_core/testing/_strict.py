"""Strict validation of raw client events, the way the real server judges them.

The real server rejects unknown parameters ("Unknown parameter: 'session.foo'."), missing
required ones and wrong types or values, and names the offending parameter. Clients decode
leniently; the fake server must not, or it would let a broken client pass. The schema is
generated from the official SDK models (see ``_client_schema.py``).

>>> check_client_event({"type": "input_audio_buffer.commit", "foo": 1})[0].message
"Unknown parameter: 'foo'."
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._client_schema import MODELS, ROOT

__all__ = ["Problem", "check_client_event", "client_event_types"]


@dataclass(frozen=True)
class Problem:
    """One reason the server rejects a client event, phrased like the real server."""

    code: str
    message: str
    param: str | None


def client_event_types() -> list[str]:
    """Every client event ``type`` the GA server accepts."""
    out: list[str] = []
    for alt in ROOT[1:]:
        lit = MODELS[alt[1]]["type"][1]
        out.extend(str(v) for v in lit[1:])
    return out


def check_client_event(event: object) -> list[Problem]:
    """Problems with a decoded JSON client event (empty when the server accepts it)."""
    if not isinstance(event, dict):
        return [Problem("invalid_type", "Invalid type: expected an object.", None)]
    etype = event.get("type")
    if "type" not in event:
        return [Problem("missing_required_parameter", "The 'type' field is missing.", "type")]
    if not isinstance(etype, str):
        return [_type_problem("type", "str", etype)]
    for alt in ROOT[1:]:
        fields = MODELS[alt[1]]
        if etype in fields["type"][1][1:]:
            return _check_model(event, fields, "")
    supported = ", ".join(repr(t) for t in client_event_types())
    return [
        Problem(
            "invalid_value",
            f"Invalid value: {etype!r}. Supported values are: {supported}.",
            "type",
        )
    ]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a decimal",
    "bool": "a boolean",
    "null": "null",
    "list": "an array",
    "dict": "an object",
    "model": "an object",
}


def _got_word(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _type_problem(path: str, kind: str, value: object) -> Problem:
    want = _TYPE_WORDS.get(kind, kind)
    return Problem(
        "invalid_type",
        f"Invalid type for '{path}': expected {want}, but got {_got_word(value)} instead.",
        path,
    )


def _check_model(value: object, fields: dict[str, Any], path: str) -> list[Problem]:
    if not isinstance(value, dict):
        return [_type_problem(path, "model", value)]
    problems: list[Problem] = []
    for key in value:
        if key not in fields:
            p = _join(path, str(key))
            problems.append(Problem("unknown_parameter", f"Unknown parameter: '{p}'.", p))
    for name, (required, typ) in fields.items():
        p = _join(path, name)
        if name not in value:
            if required:
                problems.append(
                    Problem("missing_required_parameter", f"Missing required parameter: '{p}'.", p)
                )
            continue
        problems.extend(_check(value[name], typ, p))
    return problems


def _literal_matches(value: dict[str, Any], fields: dict[str, Any]) -> bool:
    """Does ``value`` agree with every literal-typed discriminating field of a model?"""
    for name, (required, typ) in fields.items():
        if isinstance(typ, list) and typ[0] == "lit" and name in ("type", "role"):
            if name in value:
                if value[name] not in typ[1:]:
                    return False
            elif required:
                return False
    return True


def _check(value: object, typ: Any, path: str) -> list[Problem]:
    if isinstance(typ, str):
        return _check_scalar(value, typ, path)
    kind = typ[0]
    if kind == "lit":
        if value in typ[1:] and type(value) is type(typ[1]):
            return []
        supported = ", ".join(repr(v) for v in typ[1:])
        return [
            Problem(
                "invalid_value",
                f"Invalid value: {value!r}. Supported values are: {supported}.",
                path,
            )
        ]
    if kind == "list":
        if not isinstance(value, list):
            return [_type_problem(path, "list", value)]
        out: list[Problem] = []
        for i, v in enumerate(value):
            out.extend(_check(v, typ[1], f"{path}[{i}]"))
        return out
    if kind == "dict":
        if not isinstance(value, dict):
            return [_type_problem(path, "dict", value)]
        out = []
        for k, v in value.items():
            out.extend(_check(v, typ[1], _join(path, str(k))))
        return out
    if kind == "model":
        return _check_model(value, MODELS[typ[1]], path)
    if kind == "union":
        return _check_union(value, typ[1:], path)
    raise AssertionError(f"bad schema type {typ!r}")


def _check_scalar(value: object, kind: str, path: str) -> list[Problem]:
    ok = {
        "any": True,
        "null": value is None,
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[kind]
    return [] if ok else [_type_problem(path, kind, value)]


def _check_union(value: object, alts: list[Any], path: str) -> list[Problem]:
    results: list[list[Problem]] = []
    models: list[dict[str, Any]] = []
    for alt in alts:
        if isinstance(alt, list) and alt[0] == "model":
            models.append(MODELS[alt[1]])
            continue
        problems = _check(value, alt, path)
        if not problems:
            return []
        results.append(problems)
    if models and isinstance(value, dict):
        matching = [m for m in models if _literal_matches(value, m)]
        if not matching:
            # A tagged object whose tag fits no alternative: report the tag.
            tags = [v for m in models for v in (m.get("type", [False, ["lit"]])[1][1:])]
            same_type = [m for m in models if value.get("type") in m["type"][1][1:]]
            roles = [v for m in same_type if "role" in m for v in m["role"][1][1:]]
            if roles:
                supported = ", ".join(repr(r) for r in roles)
                return [
                    Problem(
                        "invalid_value",
                        f"Invalid value: {value.get('role')!r}. Supported values are: {supported}.",
                        _join(path, "role"),
                    )
                ]
            if "type" in value and tags:
                supported = ", ".join(repr(t) for t in dict.fromkeys(tags))
                return [
                    Problem(
                        "invalid_value",
                        f"Invalid value: {value['type']!r}. Supported values are: {supported}.",
                        _join(path, "type"),
                    )
                ]
            matching = models
        best: list[Problem] | None = None
        for m in matching:
            problems = _check_model(value, m, path)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        assert best is not None
        return best
    if not results:
        return [_type_problem(path, "model", value)]
    # Prefer a value problem (right type, wrong value) over "wrong type".
    for problems in results:
        if problems[0].code == "invalid_value":
            return problems
    return results[0]
