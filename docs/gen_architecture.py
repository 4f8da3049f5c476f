"""Draw docs/img/architecture.svg: the layers, and the path of an audio chunk both ways.

Run: python docs/gen_architecture.py   (writes docs/img/architecture.svg; no dependencies)

The picture is generated so it stays in step with the text of docs/architecture.md: the
test ``tests/test_architecture_doc.py`` regenerates it and compares.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).parent / "img" / "architecture.svg"

W, H = 1100, 700
BOX_W, BOX_H = 300, 50

# (column x, row y, title, subtitle, fill)
# Left column: an audio chunk going out; right column: a delta coming in.
OUT_PATH = [
    ("app", "session.send_pcm16(chunk, sample_rate=16000)", "#fff7d6"),
    ("AsyncVoiceSession.send_pcm16", "oairt_core/_async/voice.py", "#e3f0ff"),
    ("VoiceSession.send_pcm16", "InputEncoder: one soxr stream -> PCM16 24 kHz", "#e6f7e6"),
    ("input_audio_buffer.append", "split_appends: <= 15 MiB of audio per event", "#e6f7e6"),
    ("AsyncConnection.send", "send lock; whole frame or nothing", "#e3f0ff"),
    ("RealtimeConnection.send", "validate -> msgspec encode (base64 in C)", "#e6f7e6"),
    ("_frames: mask + header", "one numpy XOR; wsproto for anything unusual", "#e6f7e6"),
    ("Backend.ByteStream.send_all", "anyio / trio socket (TLS)", "#fde2e2"),
]
IN_PATH = [
    ("Backend.ByteStream.receive_some", "anyio / trio socket (TLS)", "#fde2e2"),
    ("AsyncConnection reader task", "feeds bytes; keepalive deadline", "#e3f0ff"),
    ("RealtimeConnection.receive_data", "_frames fast path (whole text frame)", "#e6f7e6"),
    ("next_event() -> typed event", "msgspec decode: ResponseOutputAudioDeltaEvent", "#e6f7e6"),
    ("bounded event buffer", "byte budget; backpressure to TCP", "#e3f0ff"),
    ("VoiceSession.feed(event, now)", "Playback / ToolCallTracker / SessionMirror", "#e6f7e6"),
    ("AudioDelta (voice event)", "bounded voice buffer in AsyncVoiceSession", "#e3f0ff"),
    ("app", "async for event in session: play, mark_played", "#fff7d6"),
]

LEGEND = [
    ("#e6f7e6", "oairt_core: sans-IO state machines (no loop, no clock)"),
    ("#e3f0ff", "oairt_core._async: written once over the Backend protocol"),
    ("#fde2e2", "oairt_anyio / oairt_trio: the backend (sockets, TLS, tasks)"),
    ("#fff7d6", "your application"),
]


def _box(x: int, y: int, title: str, sub: str, fill: str) -> str:
    return (
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
        f'stroke="#555"/>'
        f'<text x="{x + BOX_W // 2}" y="{y + 21}" text-anchor="middle" font-size="14" '
        f'font-weight="bold">{escape(title)}</text>'
        f'<text x="{x + BOX_W // 2}" y="{y + 39}" text-anchor="middle" font-size="11" '
        f'fill="#333">{escape(sub)}</text>'
    )


def _arrow(x: int, y1: int, y2: int) -> str:
    return (
        f'<line x1="{x}" y1="{y1}" x2="{x}" y2="{y2 - 6}" stroke="#333" stroke-width="2" '
        f'marker-end="url(#head)"/>'
    )


def _column(x: int, title: str, path: list[tuple[str, str, str]]) -> list[str]:
    parts = [
        f'<text x="{x + BOX_W // 2}" y="70" text-anchor="middle" font-size="16" '
        f'font-weight="bold">{escape(title)}</text>'
    ]
    y = 90
    for i, (name, sub, fill) in enumerate(path):
        parts.append(_box(x, y, name, sub, fill))
        if i + 1 < len(path):
            parts.append(_arrow(x + BOX_W // 2, y + BOX_H, y + BOX_H + 25))
        y += BOX_H + 25
    return parts


def render() -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif">',
        '<defs><marker id="head" markerWidth="10" markerHeight="8" refX="8" refY="4" '
        'orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        '<text x="550" y="35" text-anchor="middle" font-size="20" font-weight="bold">'
        "One audio chunk out, one audio delta in</text>",
    ]
    parts += _column(60, "send_pcm16 -> socket", OUT_PATH)
    parts += _column(740, "socket -> app", IN_PATH)
    ly = 140
    parts.append(
        '<text x="550" y="120" text-anchor="middle" font-size="14" font-weight="bold">'
        "layers</text>"
    )
    for fill, label in LEGEND:
        parts.append(f'<rect x="395" y="{ly}" width="18" height="18" fill="{fill}" stroke="#555"/>')
        words = label.split(": ", 1)
        parts.append(
            f'<text x="420" y="{ly + 14}" font-size="12" font-weight="bold">'
            f"{escape(words[0])}</text>"
        )
        if len(words) > 1:
            parts.append(
                f'<text x="420" y="{ly + 30}" font-size="11" fill="#333">{escape(words[1])}</text>'
            )
        ly += 55
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render())
    print(f"wrote {OUT}")
