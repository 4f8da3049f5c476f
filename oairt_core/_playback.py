"""Playback accounting: what the user has heard of each audio item, so barge-in cuts there.

The app reports what it has played (:meth:`Playback.mark_played`), or the
session assumes real-time playback from an item's first delta. What the user
heard is never more than was received. Memory is bounded: only the most recent
:data:`RECENT` items and interrupted responses are remembered.

>>> p = Playback()
>>> p.mark_played("item_1", 120.0)
>>> p.heard_ms("item_1", now=5.0)   # nothing received for that item: nothing heard
0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._config import AudioFormatName
from ._voice_audio import bytes_per_ms, decode_output
from .errors import InvalidArgument, InvalidArgumentType

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["RECENT", "AudioItem", "Playback"]

# Per-item and per-response memory is bounded: a session may run for hours.
RECENT = 64


def remember(ordered: dict[str, Any], key: str, value: Any = None) -> None:
    """Insert into an insertion-ordered dict, forgetting the oldest beyond ``RECENT``."""
    ordered[key] = value
    while len(ordered) > RECENT:
        del ordered[next(iter(ordered))]


@dataclass
class AudioItem:
    """The audio received so far for one output item."""

    item_id: str
    response_id: str
    content_index: int
    fmt: AudioFormatName
    received_bytes: int = 0
    first_at: float | None = None
    carry: bytes = b""
    truncated: bool = False

    @property
    def received_ms(self) -> float:
        return self.received_bytes / bytes_per_ms(self.fmt)


class Playback:
    """Audio received and played per item, the item playing now, and interrupted responses."""

    def __init__(self) -> None:
        self.items: dict[str, AudioItem] = {}
        self.played: dict[str, float] = {}
        self.current: str | None = None
        self.dropped: dict[str, None] = {}  # interrupted response ids (ordered set)
        self.sideband_playing = False

    def reset(self) -> None:
        """Forget everything (a new connection: nothing of the old one plays on)."""
        self.__init__()  # type: ignore[misc]

    # -- interrupted responses

    def is_dropped(self, response_id: str) -> bool:
        """Whether ``response_id`` was interrupted (its audio must not be played)."""
        return response_id in self.dropped

    def drop(self, response_id: str) -> None:
        remember(self.dropped, response_id)

    # -- audio in

    def on_delta(
        self,
        item_id: str,
        response_id: str,
        content_index: int,
        fmt: AudioFormatName,
        data: bytes,
        now: float,
    ) -> tuple[npt.NDArray[np.int16], float]:
        """Account for an audio delta; returns (PCM16 samples, start of the chunk in ms)."""
        item = self.items.get(item_id)
        if item is None:
            item = AudioItem(item_id, response_id, content_index, fmt)
            remember(self.items, item_id, item)
        self.current = item_id
        if item.first_at is None:
            item.first_at = now
        start_ms = item.received_ms
        item.received_bytes += len(data)
        pcm, item.carry = decode_output(item.fmt, item.carry, data)
        return pcm, start_ms

    def current_item(self) -> AudioItem | None:
        """The item that received audio last (the one playing), if still remembered."""
        return self.items.get(self.current) if self.current is not None else None

    # -- what was heard

    def mark_played(self, item_id: str, ms: float) -> None:
        """The app has played ``ms`` milliseconds of ``item_id``'s audio to the user.

        ``ms`` must be a finite number >= 0 (:class:`~oairt_core.errors.InvalidArgument`).
        """
        if isinstance(ms, bool) or not isinstance(ms, (int, float)):
            raise InvalidArgumentType(
                f"played milliseconds must be a number, got {type(ms).__name__}"
            )
        if not math.isfinite(ms) or ms < 0:
            raise InvalidArgument(f"played milliseconds must be finite and >= 0, got {ms!r}")
        remember(self.played, item_id, float(ms))

    def played_until(self, ms: float) -> None:
        """:meth:`mark_played` for the item currently receiving audio."""
        if self.current is not None:
            self.mark_played(self.current, ms)

    def received_ms(self, item_id: str) -> float:
        """Milliseconds of audio received so far for ``item_id``."""
        item = self.items.get(item_id)
        return item.received_ms if item else 0.0

    def heard_ms(self, item_id: str, now: float) -> float:
        """What the user has heard of ``item_id``: never more than was received.

        The app's :meth:`mark_played` report wins; without one the session
        assumes real-time playback since the item's first audio delta.
        """
        item = self.items.get(item_id)
        if item is None:
            return 0.0
        if item_id in self.played:
            heard = self.played[item_id]
        elif item.first_at is not None:
            heard = (now - item.first_at) * 1000.0
        else:
            heard = 0.0
        if not math.isfinite(heard):
            heard = 0.0  # a NaN clock must not reach audio_end_ms
        return max(0.0, min(heard, item.received_ms))
