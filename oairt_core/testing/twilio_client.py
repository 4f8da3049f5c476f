"""A fake Twilio Media Streams client: the phone side of a call, sans-IO, time passed in.

:class:`FakeTwilioCall` behaves like Twilio on a ``<Connect><Stream>`` WebSocket: it sends
``connected`` and ``start``, then one 20 ms ``media`` frame of the caller's audio every 20 ms
(silence when the caller is quiet, as on a real line), plays the audio the server sends at
real-time rate, echoes each ``mark`` once the audio sent before it has played, and on
``clear`` drops its queued audio and returns the pending marks at once. The caller can
talk over the assistant (:meth:`FakeTwilioCall.say`), press keys (:meth:`dtmf`) and hang up
(:meth:`hang_up`). What the caller heard is recorded.

>>> import json
>>> from oairt_core.twilio import OutboundMedia
>>> call = FakeTwilioCall()
>>> call.start(now=0.0)
>>> [m["event"] for m in map(json.loads, call.messages_to_send())]
['connected', 'start']
>>> call.advance(0.04)
>>> [json.loads(m)["media"]["chunk"] for m in call.messages_to_send()]
['1', '2', '3']
>>> call.receive(encode_message(OutboundMediaMessage(stream_sid=call.stream_sid,
...     media=OutboundMedia(payload=b"\\x00" * 800))), now=1.0)     # 100 ms of assistant audio
>>> round(call.heard_ms(1.05), 3)
50.0
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from ..twilio import (
    MULAW_BYTES_PER_MS,
    ClearMessage,
    ConnectedMessage,
    DtmfInfo,
    DtmfMessage,
    MalformedMessage,
    MarkInfo,
    MarkMessage,
    MediaFormat,
    MediaMessage,
    MediaPayload,
    OutboundMarkMessage,
    OutboundMediaMessage,
    StartInfo,
    StartMessage,
    StopInfo,
    StopMessage,
    decode_outbound,
    encode_message,
)

__all__ = ["FakeTwilioCall", "HeardSegment"]

_SILENCE = b"\xff"


@dataclass(frozen=True)
class HeardSegment:
    """A frame of assistant audio as the caller's phone played it."""

    received_at: float
    """When the frame arrived."""
    starts_at: float
    """When it started playing (later than ``received_at`` when audio was queued)."""
    data: bytes
    lead_ms: float
    """How much audio was already queued ahead of it when it arrived."""

    @property
    def duration_ms(self) -> float:
        return len(self.data) / MULAW_BYTES_PER_MS

    @property
    def ends_at(self) -> float:
        return self.starts_at + self.duration_ms / 1000.0


@dataclass
class _PendingMark:
    name: str
    due: float  # when the audio before it has played


@dataclass
class FakeTwilioCall:
    """One fake phone call streaming to a Media Streams server (see the module docstring).

    Drive it like the fake server: :meth:`receive` each text frame from the server,
    :meth:`advance` at :meth:`next_deadline`, send :meth:`messages_to_send`.
    ``stream_sid``/``call_sid``/``account_sid``/``custom_parameters`` go into ``start``.
    """

    stream_sid: str = "MZ00000000000000000000000000000001"
    call_sid: str = "CA00000000000000000000000000000001"
    account_sid: str = "AC00000000000000000000000000000001"
    custom_parameters: dict[str, str] = field(default_factory=dict)
    frame_ms: int = 20
    media_format: MediaFormat = field(default_factory=MediaFormat)

    heard: list[HeardSegment] = field(default_factory=list, init=False)
    """Every frame of assistant audio, as played (cut at a ``clear``)."""
    echoed_marks: list[tuple[str, float]] = field(default_factory=list, init=False)
    """``(name, time)`` of each mark echoed, in order."""
    clears: list[float] = field(default_factory=list, init=False)
    """When each ``clear`` arrived."""
    malformed: list[MalformedMessage] = field(default_factory=list, init=False)
    """Frames from the server that were not valid Media Streams messages."""
    stopped = False

    def __post_init__(self) -> None:
        self._out: list[str] = []
        self._speech = bytearray()
        self._seq = 0
        self._chunk = 0
        self._started_at: float | None = None
        self._next_frame: float | None = None
        self._play_end = 0.0
        self._marks: deque[_PendingMark] = deque()
        self._now = 0.0

    # ------------------------------------------------------------ the caller's actions

    def start(self, now: float) -> None:
        """Open the stream: ``connected`` then ``start``; media frames follow every 20 ms."""
        self._now = now
        self._out.append(encode_message(ConnectedMessage()))
        self._out.append(
            encode_message(
                StartMessage(
                    sequence_number=self._next_seq(),
                    stream_sid=self.stream_sid,
                    start=StartInfo(
                        stream_sid=self.stream_sid,
                        call_sid=self.call_sid,
                        account_sid=self.account_sid,
                        tracks=["inbound"],
                        media_format=self.media_format,
                        custom_parameters=dict(self.custom_parameters),
                    ),
                )
            )
        )
        self._started_at = now
        self._next_frame = now

    def say(self, mulaw: bytes) -> None:
        """The caller speaks (8 kHz mu-law), from the next frame on; may talk over the assistant."""
        self._speech += mulaw

    def dtmf(self, digit: str) -> None:
        """The caller presses a key."""
        self._out.append(
            encode_message(
                DtmfMessage(
                    sequence_number=self._next_seq(),
                    stream_sid=self.stream_sid,
                    dtmf=DtmfInfo(digit=digit, track="inbound_track"),
                )
            )
        )

    def hang_up(self) -> None:
        """The caller hangs up: Twilio sends ``stop`` and closes the WebSocket."""
        if self.stopped:
            return
        self._out.append(
            encode_message(
                StopMessage(
                    sequence_number=self._next_seq(),
                    stream_sid=self.stream_sid,
                    stop=StopInfo(account_sid=self.account_sid, call_sid=self.call_sid),
                )
            )
        )
        self.stopped = True
        self._next_frame = None

    @property
    def speaking(self) -> bool:
        """Caller speech is still queued to send."""
        return bool(self._speech)

    # ------------------------------------------------------------ driving

    def receive(self, text: str | bytes, now: float) -> None:
        """One text frame from the server."""
        self.advance(now)
        msg = decode_outbound(text)
        if isinstance(msg, MalformedMessage):
            self.malformed.append(msg)
        elif isinstance(msg, OutboundMediaMessage):
            self._play(msg.media.payload, now)
        elif isinstance(msg, OutboundMarkMessage):
            # Echoed when everything queued before it has played.
            self._marks.append(_PendingMark(msg.mark.name, max(now, self._play_end)))
            self._echo_due(now)
        elif isinstance(msg, ClearMessage):
            self._clear(now)

    def advance(self, now: float) -> None:
        """Let time pass: send the media frames due and echo the marks whose audio played."""
        self._now = max(self._now, now)
        while self._next_frame is not None and self._next_frame <= now:
            self._send_frame()
        self._echo_due(now)

    def next_deadline(self) -> float | None:
        """When :meth:`advance` must be called next (the next frame or mark echo)."""
        times = [self._marks[0].due] if self._marks else []
        if self._next_frame is not None:
            times.append(self._next_frame)
        return min(times) if times else None

    def messages_to_send(self) -> list[str]:
        """Text frames for the server, in order."""
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------ what the caller heard

    def heard_ms(self, now: float) -> float:
        """Milliseconds of assistant audio played by ``now``."""
        total = 0.0
        for seg in self.heard:
            if seg.starts_at >= now:
                break
            total += min(seg.duration_ms, (now - seg.starts_at) * 1000.0)
        return total

    def heard_audio(self) -> bytes:
        """The assistant audio the caller heard (mu-law), all of it so far."""
        return b"".join(seg.data for seg in self.heard)

    def gaps(self, *, after: float = 0.0, tolerance_ms: float = 0.5) -> list[tuple[float, float]]:
        """``(time, ms)`` of each silence between consecutive frames heard after ``after``.

        Silence between two replies is a gap too; look at one reply at a time.
        """
        out: list[tuple[float, float]] = []
        prev: HeardSegment | None = None
        for seg in self.heard:
            if prev is not None and seg.starts_at >= after:
                gap = (seg.starts_at - prev.ends_at) * 1000.0
                if gap > tolerance_ms:
                    out.append((prev.ends_at, gap))
            prev = seg
        return out

    # ------------------------------------------------------------ internals

    def _next_seq(self) -> str:
        self._seq += 1
        return str(self._seq)

    def _send_frame(self) -> None:
        assert self._next_frame is not None and self._started_at is not None
        n = self.frame_ms * MULAW_BYTES_PER_MS
        data = bytes(self._speech[:n])
        del self._speech[:n]
        data += _SILENCE * (n - len(data))
        self._chunk += 1
        timestamp = round((self._next_frame - self._started_at) * 1000.0)
        self._out.append(
            encode_message(
                MediaMessage(
                    sequence_number=self._next_seq(),
                    stream_sid=self.stream_sid,
                    media=MediaPayload(
                        track="inbound",
                        chunk=str(self._chunk),
                        timestamp=str(timestamp),
                        payload=data,
                    ),
                )
            )
        )
        self._next_frame += self.frame_ms / 1000.0

    def _play(self, data: bytes, now: float) -> None:
        lead_ms = max(0.0, (self._play_end - now) * 1000.0)
        start = max(now, self._play_end)
        seg = HeardSegment(received_at=now, starts_at=start, data=data, lead_ms=lead_ms)
        self.heard.append(seg)
        self._play_end = seg.ends_at

    def _echo_due(self, now: float) -> None:
        while self._marks and self._marks[0].due <= now:
            mark = self._marks.popleft()
            self._echo(mark.name, now)

    def _echo(self, name: str, now: float) -> None:
        self.echoed_marks.append((name, now))
        if self.stopped:
            return
        self._out.append(
            encode_message(
                MarkMessage(
                    sequence_number=self._next_seq(),
                    stream_sid=self.stream_sid,
                    mark=MarkInfo(name=name),
                )
            )
        )

    def _clear(self, now: float) -> None:
        """Twilio drops what it has not played yet and returns every pending mark."""
        self.clears.append(now)
        kept: list[HeardSegment] = []
        for seg in self.heard:
            if seg.starts_at >= now:
                continue
            if seg.ends_at > now:
                played = int((now - seg.starts_at) * 1000.0 * MULAW_BYTES_PER_MS)
                seg = HeardSegment(seg.received_at, seg.starts_at, seg.data[:played], seg.lead_ms)
            kept.append(seg)
        self.heard = kept
        self._play_end = min(self._play_end, now)
        while self._marks:
            self._echo(self._marks.popleft().name, now)
