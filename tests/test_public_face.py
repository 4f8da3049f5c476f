"""Issue 11 point 7: a small public face, no star-import chains, the same names in both adapters."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import oairt_anyio
import oairt_core
import oairt_trio
from oairt_core import events, voice

ROOT = Path(__file__).resolve().parent.parent


def test_oairt_core_exports_a_few_dozen_names_all_real() -> None:
    assert len(oairt_core.__all__) <= 60
    assert len(set(oairt_core.__all__)) == len(oairt_core.__all__)
    for name in oairt_core.__all__:
        assert getattr(oairt_core, name) is not None, name


def test_events_and_voice_events_live_in_their_modules_not_at_the_top() -> None:
    # No near-twins at the top: ResponseDone (a voice event) and ResponseDoneEvent (the
    # wire event) are each imported from their own module.
    for name in (*events.__all__, *voice.__all__):
        if name in ("Realtime", "VoiceConfig", "VoiceSession"):
            continue
        assert name not in oairt_core.__all__, name


def test_no_module_of_the_package_star_imports() -> None:
    for path in (ROOT / "oairt_core").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*from \S+ import \*", text, re.M), path


def test_internal_modules_are_private() -> None:
    public = {p.stem for p in (ROOT / "oairt_core").glob("*.py") if not p.stem.startswith("_")}
    assert public == {
        "audio", "codec", "connection", "errors", "events", "models", "reconnect", "rest",
        "tools", "twilio", "voice", "webhooks",
    }


def test_both_adapters_have_the_same_face() -> None:
    def face(module: ModuleType, flavour: str) -> set[str]:
        names = set(module.__all__)
        return {n.replace(flavour, "*") for n in names}

    assert face(oairt_anyio, "Anyio") == face(oairt_trio, "Trio")
    for name in ("open_realtime", "connect_realtime", "open_voice", "connect_voice",
                 "RealtimeRestClient", "Realtime"):
        assert name in oairt_anyio.__all__ and name in oairt_trio.__all__


def test_both_adapters_have_the_same_phone_module() -> None:
    import inspect

    import oairt_anyio.phone
    import oairt_trio.phone

    assert oairt_anyio.phone.__all__ == oairt_trio.phone.__all__
    for name in oairt_anyio.phone.__all__:
        a, t = getattr(oairt_anyio.phone, name), getattr(oairt_trio.phone, name)
        if inspect.ismethod(a):
            # Bound to each adapter's own face: the same function, the same signature.
            assert a.__func__ is t.__func__ and a.__self__ is not t.__self__
            assert inspect.signature(a) == inspect.signature(t)
        else:
            assert a is t
