"""Which files in the videos folder have finished arriving: a file is taken once its change marker (size and
mtime, or ETag) has stayed the same for ``settle_seconds`` across the sensor's looks, so a video still being
copied is not run half-written, and run again, every tick until the copy ends."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Look:
    """A file's change marker and when it was first seen with it."""

    marker: str
    since: float

    def settled(self, now: float, settle_seconds: float) -> bool:
        return now - self.since >= settle_seconds


def look_again(previous: dict[str, Look], markers: dict[str, str], now: float) -> dict[str, Look]:
    """This look at every file found (``markers``): a file whose marker is unchanged keeps when it was first
    seen with it; a new or changed one starts from ``now``."""
    return {
        key: previous[key] if key in previous and previous[key].marker == marker else Look(marker, now)
        for key, marker in markers.items()
    }


def looks_to_json(looks: dict[str, Look]) -> dict[str, dict]:
    return {key: asdict(look) for key, look in looks.items()}


def looks_from_json(data: dict[str, dict]) -> dict[str, Look]:
    return {key: Look(**look) for key, look in data.items()}
