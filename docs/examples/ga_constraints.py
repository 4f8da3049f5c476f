"""GA constraints (no beta): invalid GA inputs are refused before a byte is sent.

Each rule raises ``InvalidClientEvent`` (a ``LocalProtocolError``) naming the field and the
rule; nothing reaches the socket.
"""

from __future__ import annotations

from oairt_core.codec import encode_client_event
from oairt_core.errors import InvalidClientEvent
from oairt_core.events import ClientEvent, InputAudioBufferAppendEvent, SessionUpdateEvent
from oairt_core.models import (
    AudioConfig,
    AudioInputConfig,
    PCMFormat,
    RealtimeSessionConfig,
)

MIB = 1024 * 1024


def rejected() -> list[tuple[str, str]]:
    events: list[ClientEvent] = [
        # output_modalities must be exactly one of audio or text.
        SessionUpdateEvent(session=RealtimeSessionConfig(output_modalities=["audio", "text"])),
        # audio/pcm rate is fixed at 24 kHz.
        SessionUpdateEvent(
            session=RealtimeSessionConfig(
                audio=AudioConfig(input=AudioInputConfig(format=PCMFormat(rate=16000)))
            )
        ),
        # input_audio_buffer.append: at most 15 MiB of audio (base64-decoded) per event;
        # VoiceSession.send_pcm16 splits longer audio for you.
        InputAudioBufferAppendEvent(audio=bytes(16 * MIB)),
    ]
    out = []
    for event in events:
        try:
            encode_client_event(event)
        except InvalidClientEvent as exc:
            print(f"refused: {exc.field}: {exc.rule}")
            out.append((exc.field, exc.rule))
    return out


if __name__ == "__main__":
    rejected()
