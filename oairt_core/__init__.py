"""oairt_core: the sans-IO heart of oairt.

Pure state machines for the OpenAI Realtime API (GA): bytes in, typed events
and bytes out. No sockets, threads, event loops, sleeping or clock reading.

>>> import oairt_core
>>> ev = oairt_core.decode_server_event(b'{"type":"input_audio_buffer.cleared","event_id":"e1"}')
>>> type(ev).__name__
'InputAudioBufferClearedEvent'
"""

from . import (
    audio,
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
from .audio import *  # noqa: F403
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

__version__ = "0.1.0"

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
__all__ += audio.__all__
__all__ += tools.__all__
__all__ += rest.__all__
__all__ += webhooks.__all__
