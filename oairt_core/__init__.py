"""oairt_core: the sans-IO heart of oairt.

Pure state machines for the OpenAI Realtime API (GA): bytes in, typed events
and bytes out. No sockets, threads, event loops, sleeping or clock reading.

>>> import oairt_core
>>> ev = oairt_core.decode_server_event(b'{"type":"input_audio_buffer.cleared","event_id":"e1"}')
>>> type(ev).__name__
'InputAudioBufferClearedEvent'
"""

from typing import TYPE_CHECKING

from . import (
    codec,
    connection,
    errors,
    events,
    models,
    reconnect,
    redact,
    rest,
    session,
    settings,
    tools,
    validation,
    webhooks,
)
from .codec import *  # noqa: F403
from .connection import *  # noqa: F403
from .errors import *  # noqa: F403
from .events import *  # noqa: F403
from .models import *  # noqa: F403
from .reconnect import *  # noqa: F403
from .redact import *  # noqa: F403
from .rest import *  # noqa: F403
from .session import *  # noqa: F403
from .settings import *  # noqa: F403
from .tools import *  # noqa: F403
from .validation import *  # noqa: F403
from .webhooks import *  # noqa: F403

if TYPE_CHECKING:  # type checkers see the lazily loaded audio names with their types
    from . import audio as audio
    from .audio import *  # noqa: F403

__version__ = "0.1.0"

# oairt_core.audio (and numpy, soxr) load on first use, not with the package: encoding a
# text event needs none of it. Its names stay reachable here through __getattr__.
_AUDIO_NAMES = [
    "G711_RATE",
    "PCM16_RATE",
    "RESAMPLE_QUALITIES",
    "AudioDecoder",
    "AudioEncoder",
    "AudioLike",
    "StreamingResampler",
    "alaw_decode",
    "alaw_encode",
    "bytes_to_ms",
    "chunk_pcm16",
    "decode_audio",
    "encode_audio",
    "float32_to_pcm16",
    "format_rate",
    "from_pcm16_24k",
    "ms_to_bytes",
    "ms_to_samples",
    "pcm16_from_bytes",
    "pcm16_to_bytes",
    "pcm16_to_float32",
    "read_wav",
    "resample",
    "resampled_length",
    "samples_to_ms",
    "silence",
    "synth_speech",
    "to_pcm16_24k",
    "ulaw_decode",
    "ulaw_encode",
    "write_wav",
]


def __getattr__(name: str) -> object:
    if name == "audio" or name in _AUDIO_NAMES:
        import importlib

        module = importlib.import_module(".audio", __name__)
        return module if name == "audio" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_AUDIO_NAMES, "audio"})


__all__: list[str] = []
__all__ += errors.__all__
__all__ += models.__all__
__all__ += events.__all__
__all__ += codec.__all__
__all__ += validation.__all__
__all__ += redact.__all__
__all__ += connection.__all__
__all__ += reconnect.__all__
__all__ += session.__all__
__all__ += settings.__all__
__all__ += _AUDIO_NAMES
__all__ += tools.__all__
__all__ += rest.__all__
__all__ += webhooks.__all__
