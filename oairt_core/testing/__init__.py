"""oairt_core.testing: the conformance harness, a sans-IO fake Realtime server.

* :mod:`.server`: :class:`FakeRealtimeService` (shared config) and :class:`FakeRealtimeServer`
  (one connection's state machine: HTTP/REST routing, WebSocket upgrade, the GA session).
* :mod:`.script`: :class:`Script` and the reply steps (``say``, ``call_function``, MCP, ``fail``).
* :mod:`.vad`: the energy-based server VAD.
* ``check_client_event``: would the real server accept this JSON client event? (strict,
  generated from the official SDK's models).
* :mod:`.recording`: :class:`Recorder`, :func:`load_recording`, :class:`ReplayScript`.
* :mod:`.rest_fake`: the REST endpoints (client secrets, WebRTC/SIP calls).
* :mod:`.twilio_client`: :class:`FakeTwilioCall`, the phone side of a Twilio Media Stream.
* ``oairt_anyio.testing.run_fake_server``: the loopback runner; ``oairt_anyio.pytest_plugin``:
  the ``realtime_server`` fixture.

>>> from oairt_core.testing import Script, say
>>> Script(say("Hi!"))
Script(replies=1, transcriptions=0)
"""

from . import _strict, memory, recording, rest_fake, script, server, twilio_client, vad
from ._strict import *  # noqa: F403
from .memory import *  # noqa: F403
from .recording import *  # noqa: F403
from .rest_fake import *  # noqa: F403
from .script import *  # noqa: F403
from .server import *  # noqa: F403
from .twilio_client import *  # noqa: F403
from .vad import *  # noqa: F403

__all__: list[str] = []
__all__ += server.__all__
__all__ += script.__all__
__all__ += vad.__all__
__all__ += recording.__all__
__all__ += memory.__all__
__all__ += rest_fake.__all__
__all__ += _strict.__all__
__all__ += twilio_client.__all__
