"""Phone calls over Twilio Media Streams: the wire messages and a sans-IO bridge to a voice session.

Twilio's ``<Connect><Stream url="wss://..."/></Connect>`` opens a WebSocket to your server
and streams the caller's audio as 8 kHz mu-law. :class:`TwilioBridge` translates between
that WebSocket and a voice session whose audio format is ``audio/pcmu`` both ways, so the
caller's bytes go to the model and the model's bytes go to the caller untouched (no
transcoding, no resampling). Like the rest of ``oairt_core`` it does no I/O and reads no
clock: the adapter feeds it Twilio text frames and voice events with the current time and
carries out what it asks for.

- **Pacing.** The model's audio is sent to Twilio in ``frame_ms`` frames at real-time rate,
  never more than ``max_lead_ms`` ahead of what Twilio has played, with a ``mark`` every
  ``mark_interval_ms``.
- **Playback.** Twilio echoes a mark once the audio before it has played; each echo becomes
  a ``mark_played(item_id, ms)`` report for the voice session, so a barge-in truncates the
  assistant's item at what the caller actually heard (to the mark resolution).
- **Barge-in.** On the session's :class:`~oairt_core._voice_events.Interrupted` the bridge
  sends ``clear`` at once (Twilio drops its queued audio and returns pending marks, which
  are then ignored: that audio was never played).
- **Keypad and hang-up.** ``dtmf`` becomes :class:`DtmfReceived`; ``stop`` becomes
  :class:`CallStopped` and ``bridge.ended``.

>>> bridge = TwilioBridge()
>>> bridge.receive_twilio('{"event":"connected","protocol":"Call","version":"1.0.0"}', now=0.0)
>>> bridge.receive_twilio(encode_message(StartMessage(stream_sid="MZ1", sequence_number="1",
...     start=StartInfo(stream_sid="MZ1", call_sid="CA1", account_sid="AC1"))), now=0.0)
>>> [type(e).__name__ for e in bridge.drain().events]
['CallConnected', 'CallStarted']
>>> bridge.receive_twilio(encode_message(MediaMessage(stream_sid="MZ1", sequence_number="2",
...     media=MediaPayload(chunk="1", timestamp="0", payload=b"\\xff" * 160))), now=0.02)
>>> [len(chunk) for chunk in bridge.drain().input_audio]
[160]
"""

from __future__ import annotations

import json
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import msgspec

from ._voice_events import AudioDelta, AudioDone, Interrupted, ResponseDone, VoiceEvent
from .events import ResponseOutputAudioDeltaEvent
from .reconnect import ReconnectNotice, ResponseLost

__all__ = [
    "MULAW_BYTES_PER_MS",
    "PHONE_AUDIO",
    "CallConnected",
    "CallStarted",
    "CallStopped",
    "ClearMessage",
    "ConnectedMessage",
    "DtmfInfo",
    "DtmfMessage",
    "DtmfReceived",
    "InboundMessage",
    "MalformedMessage",
    "MarkInfo",
    "MarkMessage",
    "MediaFormat",
    "MediaMessage",
    "MediaPayload",
    "OutboundMarkMessage",
    "OutboundMedia",
    "OutboundMediaMessage",
    "OutboundMessage",
    "PhoneEvent",
    "PhoneProtocolError",
    "StartInfo",
    "StartMessage",
    "StopInfo",
    "StopMessage",
    "TwilioActions",
    "TwilioBridge",
    "decode_inbound",
    "decode_outbound",
    "encode_message",
]

MULAW_BYTES_PER_MS = 8
"""8 kHz mu-law: one byte per sample, 8 bytes per millisecond."""

PHONE_AUDIO: dict[str, Any] = {"input_format": "pcmu", "output_format": "pcmu"}
"""The voice-session options a phone call needs: mu-law both ways (``VoiceConfig`` keywords)."""

MAX_MESSAGE_CHARS = 1 << 20
"""Longer Twilio frames are refused (a 20 ms media frame is about 300 characters)."""

MULAW_SILENCE = 0xFF

MAX_PENDING_MARKS = 1024
"""Marks awaiting their echo beyond this are forgotten (the oldest first)."""

_T = TypeVar("_T")


# --------------------------------------------------------------------------- wire messages


class _Msg(msgspec.Struct, rename="camel", tag_field="event", kw_only=True, frozen=True):
    pass


class _Part(msgspec.Struct, rename="camel", kw_only=True, frozen=True):
    pass


class MediaFormat(_Part, frozen=True, kw_only=True):
    """``start.mediaFormat``: Twilio always streams ``audio/x-mulaw`` at 8000 Hz, mono."""

    encoding: str = "audio/x-mulaw"
    sample_rate: int = 8000
    channels: int = 1


class StartInfo(_Part, frozen=True, kw_only=True):
    """``start``'s payload: who is calling and how the audio is encoded."""

    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: list[str] = msgspec.field(default_factory=lambda: ["inbound"])
    media_format: MediaFormat = msgspec.field(default_factory=MediaFormat)
    custom_parameters: dict[str, str] = msgspec.field(default_factory=dict)


class MediaPayload(_Part, frozen=True, kw_only=True):
    """``media``'s payload from Twilio: ``chunk`` and ``timestamp`` (ms) are decimal strings."""

    payload: bytes
    track: str = "inbound"
    chunk: str = ""
    timestamp: str = ""


class MarkInfo(_Part, frozen=True, kw_only=True):
    name: str


class DtmfInfo(_Part, frozen=True, kw_only=True):
    digit: str
    track: str = "inbound_track"


class StopInfo(_Part, frozen=True, kw_only=True):
    account_sid: str
    call_sid: str


class ConnectedMessage(_Msg, frozen=True, kw_only=True, tag="connected"):
    """The first message on a Media Streams WebSocket."""

    protocol: str = "Call"
    version: str = "1.0.0"


class StartMessage(_Msg, frozen=True, kw_only=True, tag="start"):
    sequence_number: str
    stream_sid: str
    start: StartInfo


class MediaMessage(_Msg, frozen=True, kw_only=True, tag="media"):
    """Caller audio (``media.payload`` is base64 mu-law on the wire, bytes here)."""

    sequence_number: str
    stream_sid: str
    media: MediaPayload


class MarkMessage(_Msg, frozen=True, kw_only=True, tag="mark"):
    """Twilio's echo of a mark we sent: the audio sent before it has been played."""

    sequence_number: str
    stream_sid: str
    mark: MarkInfo


class DtmfMessage(_Msg, frozen=True, kw_only=True, tag="dtmf"):
    sequence_number: str
    stream_sid: str
    dtmf: DtmfInfo


class StopMessage(_Msg, frozen=True, kw_only=True, tag="stop"):
    sequence_number: str
    stream_sid: str
    stop: StopInfo


class OutboundMedia(_Part, frozen=True, kw_only=True):
    payload: bytes


class OutboundMediaMessage(_Msg, frozen=True, kw_only=True, tag="media"):
    """Audio for the caller (``media.payload``: base64 mu-law 8 kHz on the wire)."""

    stream_sid: str
    media: OutboundMedia


class OutboundMarkMessage(_Msg, frozen=True, kw_only=True, tag="mark"):
    """Ask Twilio to echo ``mark.name`` once the audio sent before it has played."""

    stream_sid: str
    mark: MarkInfo


class ClearMessage(_Msg, frozen=True, kw_only=True, tag="clear"):
    """Drop the audio Twilio has queued; it returns the pending marks at once."""

    stream_sid: str


InboundMessage: TypeAlias = (
    ConnectedMessage | StartMessage | MediaMessage | MarkMessage | DtmfMessage | StopMessage
)
"""A message Twilio sends to the bridge."""

OutboundMessage: TypeAlias = OutboundMediaMessage | OutboundMarkMessage | ClearMessage
"""A message the bridge sends to Twilio."""

_INBOUND: msgspec.json.Decoder[InboundMessage] = msgspec.json.Decoder(InboundMessage)
_OUTBOUND: msgspec.json.Decoder[OutboundMessage] = msgspec.json.Decoder(OutboundMessage)
_ENCODER = msgspec.json.Encoder()
_INBOUND_TAGS = frozenset({"connected", "start", "media", "mark", "dtmf", "stop"})
_OUTBOUND_TAGS = frozenset({"media", "mark", "clear"})


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A frame that is not a valid message: bad JSON, an unknown ``event``, a missing field.

    ``event`` is the frame's ``event`` value when it had one; ``unknown`` says the value is
    not a Media Streams event at all (newer Twilio versions may add some).
    """

    reason: str
    event: str | None = None
    unknown: bool = False


def _probe_event(text: str | bytes) -> str | None:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        return None
    value = obj.get("event") if isinstance(obj, dict) else None
    return value[:64] if isinstance(value, str) else None


def _decode(
    text: str | bytes, decoder: msgspec.json.Decoder[_T], tags: frozenset[str]
) -> _T | MalformedMessage:
    if len(text) > MAX_MESSAGE_CHARS:
        return MalformedMessage(f"message of {len(text)} characters is too long")
    try:
        return decoder.decode(text)
    except msgspec.DecodeError as exc:
        event = _probe_event(text)
        if event is not None and event not in tags:
            return MalformedMessage(f"unknown event {event!r}", event, unknown=True)
        # msgspec's message names the field, never echoes the payload.
        return MalformedMessage(str(exc)[:200], event)


def decode_inbound(text: str | bytes) -> InboundMessage | MalformedMessage:
    """A Twilio-to-server frame as a typed message (never raises on bad input).

    >>> decode_inbound('{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5",'
    ...                '"dtmf":{"track":"inbound_track","digit":"7"}}').dtmf.digit
    '7'
    >>> decode_inbound('{"event":"hello"}')
    MalformedMessage(reason="unknown event 'hello'", event='hello', unknown=True)
    """
    return _decode(text, _INBOUND, _INBOUND_TAGS)


def decode_outbound(text: str | bytes) -> OutboundMessage | MalformedMessage:
    """A server-to-Twilio frame as a typed message (the fake Twilio client reads these)."""
    return _decode(text, _OUTBOUND, _OUTBOUND_TAGS)


def encode_message(msg: InboundMessage | OutboundMessage) -> str:
    """The JSON text frame of a message (field names as in Twilio's documentation).

    >>> encode_message(ClearMessage(stream_sid="MZ1"))
    '{"event":"clear","streamSid":"MZ1"}'
    """
    return _ENCODER.encode(msg).decode()


# --------------------------------------------------------------------------- app events


@dataclass(frozen=True, slots=True)
class CallConnected:
    """Twilio opened the stream (``connected``)."""

    protocol: str
    version: str


@dataclass(frozen=True, slots=True)
class CallStarted:
    """The stream started (``start``): the call's ids and the TwiML ``<Parameter>`` values."""

    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    custom_parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """The caller pressed a key (``0``-``9``, ``*``, ``#``)."""

    digit: str
    track: str = "inbound_track"


@dataclass(frozen=True, slots=True)
class CallStopped:
    """The stream stopped (``stop``: the caller hung up or the call was redirected)."""

    call_sid: str | None


@dataclass(frozen=True, slots=True)
class PhoneProtocolError:
    """Twilio sent something the bridge cannot use; the call goes on unless ``fatal``.

    ``fatal`` errors (an audio format other than 8 kHz mono mu-law) end the call.
    """

    message: str
    event: str | None = None
    fatal: bool = False


PhoneEvent: TypeAlias = (
    CallConnected | CallStarted | DtmfReceived | CallStopped | PhoneProtocolError
)
"""What the phone side tells the app."""


@dataclass
class TwilioActions:
    """Everything the adapter must do after one input, in this order.

    ``to_twilio``: text frames for the Twilio WebSocket. ``input_audio``: mu-law for the
    voice session's input buffer (``input_audio_buffer.append``). ``played``:
    ``(item_id, ms)`` reports for the session's ``mark_played``. ``events``: for the app.
    """

    to_twilio: list[str] = field(default_factory=list)
    input_audio: list[bytes] = field(default_factory=list)
    played: list[tuple[str, float]] = field(default_factory=list)
    events: list[PhoneEvent] = field(default_factory=list)


# --------------------------------------------------------------------------- the bridge


def _encode_mulaw(event: AudioDelta) -> bytes:
    """8 kHz mu-law of a delta the session decoded (only when its format is not pcmu)."""
    # Local: importing this module must not load numpy (a text-only app never needs it).
    import numpy as np

    from . import audio as _audio

    pcm = event.pcm
    if event.sample_rate != 8000:
        pcm = np.asarray(_audio.resample(pcm, event.sample_rate, 8000), dtype=np.int16)
    return _audio.ulaw_encode(pcm)


@dataclass
class _OutItem:
    """One assistant audio item waiting to go to Twilio."""

    item_id: str
    response_id: str
    data: bytearray = field(default_factory=bytearray)
    sent_ms: float = 0.0  # of this item, already sent to Twilio
    complete: bool = False  # no more audio will come for it


class TwilioBridge:
    """Twilio Media Streams <-> a voice session with ``audio/pcmu`` in and out (sans-IO).

    Inputs: :meth:`receive_twilio` (each text frame from Twilio), :meth:`receive_voice`
    (each voice event the session hands the app), :meth:`advance` (time passes; call it
    at :meth:`next_deadline` at the latest). Output: :meth:`drain`.

    ``max_lead_ms`` bounds how far the audio sent runs ahead of what Twilio has played;
    ``mark_interval_ms`` is the playback-report (and truncation) resolution;
    ``frame_ms`` is the size of each outbound media frame.
    """

    def __init__(
        self,
        *,
        max_lead_ms: float = 300.0,
        mark_interval_ms: float = 100.0,
        frame_ms: int = 20,
    ) -> None:
        if frame_ms <= 0 or mark_interval_ms < frame_ms or max_lead_ms < frame_ms:
            raise ValueError("need 0 < frame_ms <= mark_interval_ms and frame_ms <= max_lead_ms")
        self.max_lead_ms = float(max_lead_ms)
        self.mark_interval_ms = float(mark_interval_ms)
        self.frame_ms = frame_ms
        self.stream_sid: str | None = None
        self.call_sid: str | None = None
        self.custom_parameters: dict[str, str] = {}
        self.ended = False
        self.sent_ms = 0.0
        """Assistant audio sent to Twilio so far (all items), in ms."""
        self.played_ms = 0.0
        """Assistant audio Twilio has confirmed as played (by mark echoes), in ms."""
        self._out = TwilioActions()
        self._queue: deque[_OutItem] = deque()
        self._items: dict[str, _OutItem] = {}  # by item id, while queued
        self._dropped: OrderedDict[str, None] = OrderedDict()  # interrupted response ids
        self._marks: OrderedDict[str, tuple[str, float, float]] = OrderedDict()
        self._mark_seq = 0
        self._since_mark = 0.0
        self._buffer_end = 0.0  # when Twilio's queued audio runs out, by our clock
        self._now = 0.0

    # ------------------------------------------------------------ inputs

    def receive_twilio(self, text: str | bytes, now: float) -> None:
        """One text frame from Twilio."""
        self._now = now
        msg = decode_inbound(text)
        if isinstance(msg, MalformedMessage):
            self._out.events.append(PhoneProtocolError(msg.reason, msg.event))
        elif isinstance(msg, MediaMessage):
            if msg.media.track in ("inbound", "inbound_track") and not self.ended:
                self._out.input_audio.append(msg.media.payload)
        elif isinstance(msg, MarkMessage):
            self._on_mark(msg.mark.name)
        elif isinstance(msg, StartMessage):
            self._on_start(msg)
        elif isinstance(msg, ConnectedMessage):
            self._out.events.append(CallConnected(msg.protocol, msg.version))
        elif isinstance(msg, DtmfMessage):
            self._out.events.append(DtmfReceived(msg.dtmf.digit, msg.dtmf.track))
        else:
            self._end()
            self._out.events.append(CallStopped(msg.stop.call_sid))
        self.advance(now)

    def receive_voice(self, event: VoiceEvent | ReconnectNotice, now: float) -> None:
        """One event of the voice session (the bridge needs audio and interruptions).

        With ``reconnect=``, a :class:`ResponseLost` (the Realtime connection dropped
        mid-reply) ends that reply's audio where it stopped: the caller hears what was
        already sent, the call goes on, and the new session's replies follow.
        """
        self._now = now
        if isinstance(event, AudioDelta):
            self._on_audio(event)
        elif isinstance(event, Interrupted):
            self._on_interrupted(event)
        elif isinstance(event, AudioDone):
            item = self._items.get(event.item_id)
            if item is not None:
                item.complete = True
        elif isinstance(event, (ResponseDone, ResponseLost)):
            for item in self._queue:
                if item.response_id == event.response_id:
                    item.complete = True
        self.advance(now)

    def hang_up(self) -> None:
        """The app ends the call: no more audio in or out."""
        self._end()

    def advance(self, now: float) -> None:
        """Let time pass: send the audio that fits in the lead."""
        self._now = now
        if self.ended or self.stream_sid is None:
            return
        # A frame goes out when it fits under the lead (the epsilon absorbs float rounding).
        while self._queue and self._lead_ms(now) + self.frame_ms <= self.max_lead_ms + 1e-6:
            item = self._queue[0]
            if not item.data:
                if item.complete:
                    self._finish_item(item)
                    continue
                return  # waiting for more audio of this item
            size = self._frame_size()
            if len(item.data) < size and not item.complete and not self._starving(now):
                return  # a short frame now would only add frames; wait for the rest
            chunk = bytes(item.data[:size])
            del item.data[:size]
            self._send_media(item, chunk, now)
            if item.complete and not item.data:
                self._finish_item(item)

    def next_deadline(self) -> float | None:
        """When :meth:`advance` must be called at the latest (``None``: nothing to pace)."""
        if self.ended or self.stream_sid is None or not self._queue:
            return None
        item = self._queue[0]
        if not item.data and not item.complete:
            return None  # new audio comes with receive_voice
        when = self._buffer_end - (self.max_lead_ms - self.frame_ms) / 1000.0
        if item.data and len(item.data) < self._frame_size() and not item.complete:
            when = max(when, self._buffer_end - (self.frame_ms - 1e-3) / 1000.0)
        return when

    def drain(self) -> TwilioActions:
        """Everything to do now (see :class:`TwilioActions`); the queues are emptied."""
        out, self._out = self._out, TwilioActions()
        return out

    @property
    def lead_ms(self) -> float:
        """Audio sent but not yet played by Twilio, by the real-time model, in ms."""
        return self._lead_ms(self._now)

    # ------------------------------------------------------------ internals

    def _lead_ms(self, now: float) -> float:
        return max(0.0, (self._buffer_end - now) * 1000.0)

    def _frame_size(self) -> int:
        """Bytes of the next frame: a frame never straddles a mark, so marks fall exactly
        every ``mark_interval_ms``."""
        to_mark = round((self.mark_interval_ms - self._since_mark) * MULAW_BYTES_PER_MS)
        return min(self.frame_ms * MULAW_BYTES_PER_MS, max(1, to_mark))

    def _starving(self, now: float) -> bool:
        return self._lead_ms(now) < self.frame_ms

    def _end(self) -> None:
        self.ended = True
        self._queue.clear()
        self._items.clear()
        self._marks.clear()

    def _on_start(self, msg: StartMessage) -> None:
        start = msg.start
        self.stream_sid = msg.stream_sid or start.stream_sid
        self.call_sid = start.call_sid
        self.custom_parameters = dict(start.custom_parameters)
        self._out.events.append(
            CallStarted(
                stream_sid=self.stream_sid,
                call_sid=start.call_sid,
                account_sid=start.account_sid,
                tracks=tuple(start.tracks),
                custom_parameters=dict(start.custom_parameters),
            )
        )
        fmt = start.media_format
        if (fmt.encoding, fmt.sample_rate, fmt.channels) != ("audio/x-mulaw", 8000, 1):
            self._end()
            self._out.events.append(
                PhoneProtocolError(
                    f"unsupported media format {fmt.encoding} {fmt.sample_rate} Hz "
                    f"{fmt.channels} channel(s); expected audio/x-mulaw 8000 Hz mono",
                    "start",
                    fatal=True,
                )
            )

    def _on_audio(self, event: AudioDelta) -> None:
        if self.ended or event.response_id in self._dropped:
            return
        raw = event.raw
        if isinstance(raw, ResponseOutputAudioDeltaEvent) and event.sample_rate == 8000:
            data = raw.delta  # mu-law from the model, passed through untouched
        else:  # a session not in audio/pcmu: encode what the session decoded
            data = _encode_mulaw(event)
        item = self._items.get(event.item_id)
        if item is None:
            for earlier in self._queue:
                earlier.complete = True  # a new item: the earlier ones got all their audio
            item = _OutItem(event.item_id, event.response_id)
            self._items[event.item_id] = item
            self._queue.append(item)
            # Nothing of it is heard yet: without this report the session would assume
            # real-time playback from the first delta, ahead of Twilio's buffer.
            self._out.played.append((item.item_id, 0.0))
        item.data += data

    def _send_media(self, item: _OutItem, chunk: bytes, now: float) -> None:
        assert self.stream_sid is not None
        self._out.to_twilio.append(
            encode_message(
                OutboundMediaMessage(stream_sid=self.stream_sid, media=OutboundMedia(payload=chunk))
            )
        )
        ms = len(chunk) / MULAW_BYTES_PER_MS
        self._buffer_end = max(self._buffer_end, now) + ms / 1000.0
        item.sent_ms += ms
        self.sent_ms += ms
        self._since_mark += ms
        if self._since_mark >= self.mark_interval_ms - 1e-9:
            self._send_mark(item)

    def _finish_item(self, item: _OutItem) -> None:
        if self._since_mark > 0:
            self._send_mark(item)
        self._queue.popleft()
        self._items.pop(item.item_id, None)

    def _send_mark(self, item: _OutItem) -> None:
        assert self.stream_sid is not None
        self._since_mark = 0.0
        self._mark_seq += 1
        name = f"oairt-{self._mark_seq}"
        self._marks[name] = (item.item_id, item.sent_ms, self.sent_ms)
        while len(self._marks) > MAX_PENDING_MARKS:  # Twilio stopped echoing: stay bounded
            self._marks.popitem(last=False)
        self._out.to_twilio.append(
            encode_message(
                OutboundMarkMessage(stream_sid=self.stream_sid, mark=MarkInfo(name=name))
            )
        )

    def _on_mark(self, name: str) -> None:
        if name not in self._marks:
            return  # cleared (never played), or not one of ours
        # Twilio plays in order: every mark sent before this one has played too.
        while self._marks:
            mark, (item_id, item_ms, total_ms) = self._marks.popitem(last=False)
            if mark == name:
                self.played_ms = total_ms
                self._out.played.append((item_id, item_ms))
                return

    def _on_interrupted(self, event: Interrupted) -> None:
        if event.response_id is not None:
            self._dropped[event.response_id] = None
            while len(self._dropped) > 64:
                self._dropped.popitem(last=False)
        for item in self._queue:
            self._dropped[item.response_id] = None
        self._queue.clear()
        self._items.clear()
        # Marks still pending come back after the clear without their audio being played.
        self._marks.clear()
        self._since_mark = 0.0
        if self.stream_sid is not None and not self.ended:
            self._out.to_twilio.append(encode_message(ClearMessage(stream_sid=self.stream_sid)))
        self._buffer_end = self._now
