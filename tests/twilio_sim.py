"""A whole phone call in simulated time, without sockets or a clock.

Fake Twilio call -> :class:`TwilioBridge` -> :class:`VoiceSession` -> fake Realtime server
(through :class:`MemoryClient`), each a sans-IO state machine; time jumps from one deadline
to the next, so a 60-second call takes a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oairt_core import codec
from oairt_core.audio import synth_speech, ulaw_encode
from oairt_core.testing import FakeRealtimeService, FakeTwilioCall, Script
from oairt_core.testing.memory import MemoryClient
from oairt_core.twilio import PHONE_AUDIO, PhoneEvent, TwilioBridge
from oairt_core.voice import VoiceConfig, VoiceEvent, VoiceSession


def caller_speech(ms: int, seed: int = 7) -> bytes:
    """Speech-like caller audio, 8 kHz mu-law."""
    return ulaw_encode(synth_speech(ms, rate=8000, seed=seed))


@dataclass
class PhoneSim:
    script: Script
    pacing: str = "fast"
    max_lead_ms: float = 300.0
    mark_interval_ms: float = 100.0
    config: dict[str, Any] = field(default_factory=dict)
    now: float = 0.0
    voice_events: list[tuple[float, VoiceEvent]] = field(default_factory=list)
    phone_events: list[tuple[float, PhoneEvent]] = field(default_factory=list)
    log: list[tuple[str, Any]] = field(default_factory=list)
    """Bridge traffic in order: ("voice", event) in, ("twilio", message text) out."""

    def __post_init__(self) -> None:
        self.service = FakeRealtimeService(script=self.script, pacing=self.pacing)  # type: ignore[arg-type]
        self.mem = MemoryClient(self.service, now=0.0)
        self.core = VoiceSession(VoiceConfig(**PHONE_AUDIO, **self.config))
        self.bridge = TwilioBridge(
            max_lead_ms=self.max_lead_ms, mark_interval_ms=self.mark_interval_ms
        )
        self.call = FakeTwilioCall()
        self._seen = 0
        self.core.start()
        self._send_core()
        self.call.start(0.0)
        self._settle()

    @property
    def server(self) -> Any:
        return self.mem.server

    # ------------------------------------------------------------ driving

    def run_until(self, t_end: float, *, stop: Any = None) -> None:
        """Jump from deadline to deadline until ``t_end`` (or ``stop()`` is true)."""
        while self.now < t_end:
            if stop is not None and stop():
                return
            times = [
                d
                for d in (
                    self.call.next_deadline(),
                    self.bridge.next_deadline(),
                    self.server.next_deadline(),
                )
                if d is not None
            ]
            self.now = min(max(min(times, default=t_end), self.now), t_end)
            self.call.advance(self.now)
            self.mem.advance(self.now)
            self.bridge.advance(self.now)
            self._settle()
            if not times:
                return

    def _settle(self) -> None:
        """Move messages between the parties until none is in flight."""
        for _ in range(10_000):
            moved = False
            for text in self.call.messages_to_send():
                moved = True
                self.bridge.receive_twilio(text, self.now)
            moved |= self._apply_bridge()
            moved |= self._pump_server()
            if not moved:
                return
        raise AssertionError("the simulated call does not settle")

    def _apply_bridge(self) -> bool:
        actions = self.bridge.drain()
        for item_id, ms in actions.played:
            self.core.mark_played(item_id, ms)
        for data in actions.input_audio:
            for ev in self.core.send_encoded(data):
                self.mem.send(codec.encode_client_event(ev).decode())
        for text in actions.to_twilio:
            self.log.append(("twilio", text))
            self.call.receive(text, self.now)
        self.phone_events += [(self.now, e) for e in actions.events]
        return bool(actions.played or actions.input_audio or actions.to_twilio or actions.events)

    def _send_core(self) -> None:
        for ev in self.core.events_to_send():
            self.mem.send(codec.encode_client_event(ev).decode())

    def _pump_server(self) -> bool:
        frames = self.mem.raw_frames[self._seen :]
        self._seen = len(self.mem.raw_frames)
        for text in frames:
            actions = self.core.feed(codec.decode_server_event(text.encode()), self.now)
            for ev in actions.send:
                self.mem.send(codec.encode_client_event(ev).decode())
            for run in actions.start:  # typed tools run inline in the simulation
                self.core.tool_finished(run.call_id, run.func(*run.args))
                self._send_core()
            for event in actions.deliver:
                if self.core.is_discarded(event):
                    continue
                self.voice_events.append((self.now, event))
                self.log.append(("voice", event))
                self.bridge.receive_voice(event, self.now)
        return bool(frames)

    # ------------------------------------------------------------ app actions

    def create_response(self) -> None:
        self.core.create_response()
        self._send_core()
        self._settle()

    def client_events(self, type: str) -> list[dict[str, Any]]:
        return [e for e in self.server.received_events if e.get("type") == type]
