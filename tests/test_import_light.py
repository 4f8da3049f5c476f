"""``import oairt_core`` loads no numpy (issue 11, point 7): audio loads it when used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import oairt_core
from oairt_core import audio


def _run(code: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_import_oairt_core_does_not_import_numpy() -> None:
    _run("import oairt_core, sys; assert 'numpy' not in sys.modules")


def test_text_session_and_codec_work_without_numpy() -> None:
    _run(
        "import sys\n"
        "from oairt_core import VoiceConfig, VoiceSession, codec\n"
        "from oairt_core.events import ConversationItemCreateEvent\n"
        "s = VoiceSession(VoiceConfig(output_modality='text'))\n"
        "s.start()\n"
        "s.send_text('hi')\n"
        "frames = [codec.encode_client_event(e) for e in s.events_to_send()]\n"
        "assert frames and 'numpy' not in sys.modules and 'soxr' not in sys.modules\n"
    )


def test_audio_loads_numpy_on_first_use() -> None:
    _run(
        "import sys, oairt_core\n"
        "assert 'numpy' not in sys.modules\n"
        "assert oairt_core.audio.ms_to_bytes(20) == 960\n"
        "assert 'numpy' in sys.modules and 'soxr' not in sys.modules\n"
        "a = oairt_core.audio\n"
        "assert len(a.resample(a.silence(20, 16000), 16000, 24000)) == 480\n"
        "assert 'soxr' in sys.modules\n"
        "from oairt_core import *\n"
        "assert audio is oairt_core.audio\n"
    )


def test_the_lazy_audio_module_is_part_of_the_face() -> None:
    assert "audio" in oairt_core.__all__
    assert "audio" in dir(oairt_core)
    assert oairt_core.audio is audio
    with pytest.raises(AttributeError):
        oairt_core.no_such_name  # noqa: B018
