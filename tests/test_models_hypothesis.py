"""Property tests: generated events of every type survive encode -> decode unchanged.

Values are generated from the Structs' own msgspec type information (``msgspec.inspect``),
so every field, union member, literal and integer bound is covered without hand-written
strategies; optional fields are randomly left unset.
"""

from __future__ import annotations

from typing import Any

import msgspec
import msgspec.inspect as mi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oairt_core import codec
from oairt_core import events as ev
from oairt_core import models as m
from oairt_core.errors import InvalidClientEvent

# Fields typed as open strings where the SDK (our cross-check oracle) has a closed set.
SDK_LITERAL_OVERRIDES: dict[tuple[type, str], st.SearchStrategy[Any]] = {
    (m.McpTool, "connector_id"): st.sampled_from(
        [
            "connector_dropbox",
            "connector_gmail",
            "connector_googlecalendar",
            "connector_googledrive",
            "connector_microsoftteams",
            "connector_outlookcalendar",
            "connector_outlookemail",
            "connector_sharepoint",
        ]
    )
    | st.none(),
    # GA has one PCM rate; the SDK types it Literal[24000]. Other rates are a client-side
    # validation error (tested in test_validation.py), never something a GA server sends.
    (m.PCMFormat, "rate"): st.just(24000) | st.none(),
}

_json_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
_json_any = st.recursive(
    _json_scalar,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


def strategy_for(t: mi.Type, overrides: dict[tuple[type, str], st.SearchStrategy[Any]]) -> Any:
    """A hypothesis strategy for a msgspec type description."""
    if isinstance(t, mi.StructType):
        return struct_strategy(t.cls, overrides)
    if isinstance(t, mi.UnionType):
        return st.one_of([strategy_for(x, overrides) for x in t.types])
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.IntType):
        lo = t.ge if t.ge is not None else -(2**63)
        hi = t.le if t.le is not None else 2**63 - 1
        return st.integers(lo, hi)
    if isinstance(t, mi.FloatType):
        return st.floats(allow_nan=False, allow_infinity=False)
    if isinstance(t, mi.StrType):
        return st.text(max_size=12)
    if isinstance(t, mi.BytesType):
        return st.binary(max_size=64)
    if isinstance(t, mi.ListType):
        return st.lists(strategy_for(t.item_type, overrides), max_size=3)
    if isinstance(t, mi.DictType):
        return st.dictionaries(
            strategy_for(t.key_type, overrides), strategy_for(t.value_type, overrides), max_size=3
        )
    if isinstance(t, mi.AnyType):
        return _json_any
    raise NotImplementedError(repr(t))


def _deferred(
    t: mi.Type, overrides: dict[tuple[type, str], st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    return st.deferred(lambda: strategy_for(t, overrides))


_CACHE: dict[tuple[type, int], st.SearchStrategy[Any]] = {}


def struct_strategy(
    cls: type, overrides: dict[tuple[type, str], st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[Any]:
    overrides = overrides or {}
    key = (cls, id(overrides))
    if key not in _CACHE:
        info = mi.type_info(cls)
        assert isinstance(info, mi.StructType)
        required: dict[str, Any] = {}
        optional: dict[str, Any] = {}
        for f in info.fields:
            s = overrides.get((cls, f.name))
            if s is None:
                s = _deferred(f.type, overrides)
            (required if f.required else optional)[f.name] = s
        _CACHE[key] = st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))
    return _CACHE[key]


CLIENT_CLASSES = sorted(ev.CLIENT_EVENT_TYPES.values(), key=lambda c: c.__name__)
SERVER_CLASSES = sorted(ev.SERVER_EVENT_TYPES.values(), key=lambda c: c.__name__)

any_client_event = st.one_of([struct_strategy(c) for c in CLIENT_CLASSES])
any_server_event = st.one_of([struct_strategy(c) for c in SERVER_CLASSES])

_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(any_client_event)
def test_client_events_round_trip(event: ev.ClientEvent) -> None:
    data = msgspec.json.encode(event)
    assert codec.decode_client_event(data) == event
    try:
        wire = codec.encode_client_event(event)
    except InvalidClientEvent:
        return  # generated values may break a GA rule; that is the validator's business
    assert wire == data


@_SETTINGS
@given(any_server_event)
def test_server_events_round_trip(event: ev.KnownServerEvent) -> None:
    data = codec.encode_server_event(event)
    decoded = codec.decode_server_event(data)
    assert type(decoded) is type(event)
    assert decoded == event


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(struct_strategy(m.RealtimeSessionConfig) | struct_strategy(m.TranscriptionSessionConfig))
def test_session_configs_round_trip_inside_server_events(session: m.SessionConfig) -> None:
    event = ev.SessionUpdatedEvent(event_id="e", session=session)
    assert codec.decode_server_event(codec.encode_server_event(event)) == event


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=30).filter(lambda s: s not in ev.SERVER_EVENT_TYPES))
def test_any_unknown_type_is_unknown_event(event_type: str) -> None:
    raw = msgspec.json.encode({"type": event_type, "event_id": "e", "payload": [1, None]})
    out = codec.decode_server_event(raw)
    assert out == ev.UnknownServerEvent(type=event_type, raw=raw)
