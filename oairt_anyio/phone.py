"""Phone calls on anyio: answer Twilio Media Streams with a voice agent.

The public face of :mod:`oairt_anyio._bridge` (see the "Phone calls" docs page):
:func:`serve_twilio` serves until cancelled, one voice session per call;
:func:`handle_twilio_stream` serves one accepted connection (bring your own listener);
:class:`PhoneCall` is what ``on_event(call, event)`` receives.

>>> from oairt_anyio.phone import serve_twilio
>>> callable(serve_twilio)
True
"""

from ._bridge import PhoneCall, PhoneServer, handle_twilio_stream, run_twilio_server, serve_twilio

__all__ = ["PhoneCall", "PhoneServer", "handle_twilio_stream", "run_twilio_server", "serve_twilio"]
