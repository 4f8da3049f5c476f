"""Codec benchmark: oairt against the official ``openai`` SDK and against the msgspec floor.

Run: ``.venv/bin/python -m benchmarks.codec_bench`` (add ``--markdown`` for a table).

Cases, all in one run:

* decode ``response.output_audio.delta`` carrying 100 ms and 20 ms of 24 kHz PCM16 audio;
* encode ``input_audio_buffer.append`` carrying 20 ms.

Contenders:

* **oairt**: ``decode_server_event(frame)`` (``event.delta`` is already ``bytes``) and
  ``encode_client_event(InputAudioBufferAppendEvent(audio=pcm))`` (validation included).
* **SDK**: what ``openai.resources.realtime`` does. Receive: ``parse_event`` =
  ``construct_type_unchecked(json.loads(frame), RealtimeServerEvent)``, then the user's
  ``base64.b64decode(event.delta)``. A second receive row uses the validating
  ``TypeAdapter(RealtimeServerEvent).validate_json``. Send: the user's
  ``base64.b64encode(pcm)`` into the param dict, then ``send()``'s
  ``json.dumps(maybe_transform(event, Union[RealtimeClientEventParam,
  ResponseCreateEventWithReferencesParam]))``, then UTF-8 (what the WebSocket sends).
* **floor**: msgspec alone, decoding the same frame into a one-field struct
  ``{delta: bytes}`` / encoding a one-field struct ``{audio: bytes}``.

Each contender runs in interleaved rounds of many calls (calibrated to ~3 ms a round);
the table shows the median ns per call over the rounds, and ratios.
"""

from __future__ import annotations

import argparse
import base64
import json
import platform
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Union, cast

import msgspec

from oairt_core.codec import decode_server_event, encode_client_event
from oairt_core.events import InputAudioBufferAppendEvent, ResponseOutputAudioDeltaEvent

SAMPLE_RATE = 24_000


def pcm16(ms: int) -> bytes:
    """``ms`` milliseconds of a deterministic, non-constant 24 kHz mono PCM16 signal."""
    n = SAMPLE_RATE * ms // 1000
    return bytes((i * 7919 + (i >> 3)) & 0xFF for i in range(2 * n))


def delta_frame(pcm: bytes) -> bytes:
    """A ``response.output_audio.delta`` frame as the GA server sends it."""
    return json.dumps(
        {
            "type": "response.output_audio.delta",
            "event_id": "event_CGhZ8J1Xu0yQfRwR4qXz3",
            "response_id": "resp_CGhZ8I5kq0OMlXb4H8vAa",
            "item_id": "item_CGhZ8IkWf9KZ4D1g2mHoF",
            "output_index": 0,
            "content_index": 0,
            "delta": base64.b64encode(pcm).decode("ascii"),
        },
        separators=(",", ":"),
    ).encode()


class FloorDelta(msgspec.Struct):
    delta: bytes


class FloorAppend(msgspec.Struct):
    audio: bytes


def measure(fn: Callable[[], object], *, inner: int) -> float:
    """ns per call of one round of ``inner`` calls."""
    t0 = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return (time.perf_counter_ns() - t0) / inner


def bench(
    cases: dict[str, Callable[[], object]], *, rounds: int, round_ns: float
) -> dict[str, float]:
    """Median ns/call of each case over ``rounds`` interleaved rounds.

    Each case's calls per round are calibrated so that a round lasts about
    ``round_ns``; rounds alternate between cases so drift hits all of them alike.
    """
    inner: dict[str, int] = {}
    for name, fn in cases.items():
        measure(fn, inner=50)  # warm up
        estimate = measure(fn, inner=200)
        inner[name] = max(20, min(20_000, int(round_ns / max(estimate, 1.0))))
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            samples[name].append(measure(fn, inner=inner[name]))
    out = {name: statistics.median(v) for name, v in samples.items()}
    # The fastest round too: on a busy machine it is the better estimate of the cost itself.
    out.update({f"{name}_min": min(v) for name, v in samples.items()})
    return out


def sdk_paths() -> tuple[Callable[[bytes], object], Callable[[bytes], object], Any]:
    from openai._models import construct_type_unchecked
    from openai._utils import maybe_transform
    from openai.types.realtime import RealtimeClientEventParam, RealtimeServerEvent
    from openai.types.realtime.response_create_event_with_references_param import (
        ResponseCreateEventWithReferencesParam,
    )
    from pydantic import TypeAdapter

    server_type = cast(Any, RealtimeServerEvent)
    adapter: TypeAdapter[Any] = TypeAdapter(RealtimeServerEvent)
    # Exactly the type the SDK's send() transforms with.
    send_type = Union[RealtimeClientEventParam, ResponseCreateEventWithReferencesParam]  # noqa: UP007

    def sdk_recv(frame: bytes) -> bytes:
        event = construct_type_unchecked(value=json.loads(frame), type_=server_type)
        return base64.b64decode(event.delta)

    def sdk_recv_validated(frame: bytes) -> bytes:
        event = adapter.validate_json(frame)
        return base64.b64decode(event.delta)

    def sdk_send(pcm: bytes) -> bytes:
        event = {
            "type": "input_audio_buffer.append",
            "audio": base64.b64encode(pcm).decode("ascii"),
        }
        return json.dumps(maybe_transform(event, send_type)).encode("utf-8")

    return sdk_recv, sdk_recv_validated, sdk_send


def check_equivalence(pcm: bytes, frame: bytes) -> None:
    """Every contender produces the same audio / the same wire content."""
    sdk_recv, sdk_recv_validated, sdk_send = sdk_paths()
    ours = decode_server_event(frame)
    assert isinstance(ours, ResponseOutputAudioDeltaEvent) and ours.delta == pcm
    assert sdk_recv(frame) == pcm and sdk_recv_validated(frame) == pcm
    assert msgspec.json.decode(frame, type=FloorDelta).delta == pcm
    sent = encode_client_event(InputAudioBufferAppendEvent(audio=pcm))
    assert json.loads(sent) == json.loads(cast(bytes, sdk_send(pcm)))
    floor = msgspec.json.encode(FloorAppend(audio=pcm))
    assert json.loads(floor)["audio"] == json.loads(sent)["audio"]


def run(rounds: int, round_ms: float) -> list[dict[str, Any]]:
    sdk_recv, sdk_recv_validated, sdk_send = sdk_paths()
    floor_dec = msgspec.json.Decoder(FloorDelta)
    floor_enc = msgspec.json.Encoder()
    rows: list[dict[str, Any]] = []

    for ms in (100, 20):
        pcm = pcm16(ms)
        frame = delta_frame(pcm)
        check_equivalence(pcm, frame)
        res = bench(
            {
                "oairt": partial(decode_server_event, frame),
                "sdk": partial(sdk_recv, frame),
                "sdk_validated": partial(sdk_recv_validated, frame),
                "floor": partial(floor_dec.decode, frame),
            },
            rounds=rounds,
            round_ns=round_ms * 1e6,
        )
        rows.append(
            {"case": f"decode response.output_audio.delta, {ms} ms ({len(frame)} B)", **res}
        )

    pcm = pcm16(20)
    res = bench(
        {
            "oairt": lambda: encode_client_event(InputAudioBufferAppendEvent(audio=pcm)),
            "sdk": lambda: sdk_send(pcm),
            "floor": lambda: floor_enc.encode(FloorAppend(audio=pcm)),
        },
        rounds=rounds,
        round_ns=round_ms * 1e6,
    )
    rows.append({"case": f"encode input_audio_buffer.append, 20 ms ({len(pcm)} B PCM)", **res})
    return rows


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def markdown(rows: list[dict[str, Any]], rounds: int, round_ms: float) -> str:
    import openai

    out = [
        "| case | oairt ns | SDK ns | SDK (validating) ns | floor ns | SDK / oairt "
        "| oairt / floor | fastest rounds: SDK / oairt | fastest rounds: oairt / floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        validated = f"{r['sdk_validated']:,.0f}" if "sdk_validated" in r else "n/a"
        out.append(
            f"| {r['case']} | {r['oairt']:,.0f} | {r['sdk']:,.0f} | {validated} "
            f"| {r['floor']:,.0f} | {r['sdk'] / r['oairt']:.1f}x | {r['oairt'] / r['floor']:.2f}x "
            f"| {r['sdk_min'] / r['oairt_min']:.1f}x | {r['oairt_min'] / r['floor_min']:.2f}x |"
        )
    out.append("")
    out.append(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"CPU: {cpu_model()}, msgspec {msgspec.__version__}, openai {openai.__version__}; "
        f"median ns per call over {rounds} interleaved rounds of ~{round_ms:g} ms each."
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=101)
    parser.add_argument("--round-ms", type=float, default=3.0, help="length of one round")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    rows = run(args.rounds, args.round_ms)
    if args.markdown:
        print(markdown(rows, args.rounds, args.round_ms))
        return
    for r in rows:
        print(r["case"])
        for key in ("oairt", "sdk", "sdk_validated", "floor"):
            if key in r:
                print(f"  {key:14s} {r[key]:10,.0f} ns")
        print(
            f"  SDK/oairt {r['sdk'] / r['oairt']:.1f}x   oairt/floor {r['oairt'] / r['floor']:.2f}x"
            f"   (fastest rounds: {r['oairt_min'] / r['floor_min']:.2f}x)"
        )


if __name__ == "__main__":
    main()
