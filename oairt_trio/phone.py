"""Phone calls on trio: answer Twilio Media Streams with a voice agent.

The same functions as ``oairt_anyio.phone``, written once in
:mod:`oairt_core._async.phone` and bound here to trio (see the "Phone calls" docs
page): :func:`serve_twilio` serves until cancelled, one voice session per call;
:func:`run_twilio_server` does it for an ``async with`` block;
:func:`handle_twilio_stream` serves one accepted trio ``Stream`` (bring your own
listener); :class:`PhoneCall` is what ``on_event(call, event)`` receives.

>>> from oairt_trio.phone import serve_twilio
>>> callable(serve_twilio)
True
"""

from oairt_core._async.phone import CallEvent, EventHandler, Phone, PhoneCall, PhoneServer

from . import _FACE

__all__ = [
    "CallEvent",
    "EventHandler",
    "PhoneCall",
    "PhoneServer",
    "handle_twilio_stream",
    "run_twilio_server",
    "serve_twilio",
]

_PHONE = Phone(_FACE)
serve_twilio = _PHONE.serve_twilio
run_twilio_server = _PHONE.run_twilio_server
handle_twilio_stream = _PHONE.handle_twilio_stream
