"""Frame times: a time for frames the container gave none, and the rate and duration the times themselves show
(a stream header's claimed rate is often wrong: MPEG-1 files that say 25 while stepping 1/30 s)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

import numpy as np

Item = TypeVar("Item")

#: Frames held back at the start of a stream while waiting for the first timestamp to count back from.
_LEADING_LOOKAHEAD = 8
#: Rates are snapped to the nearest fraction with at most this denominator: NTSC's 30000/1001 included.
_RATE_DENOMINATOR = 1001
#: Steps that differ by no more than this are one rate seen through a coarse time base (milliseconds in WebM).
_STEP_JITTER_SECONDS = 0.0011
#: The share of steps that must agree for a rate to be constant: MPEG-PS packs several frames in one packet
#: with one timestamp, and FFmpeg times the others by the header's rate, true or not.
_REGULAR_SHARE = 0.9


def fill_missing_times(items: Iterable[tuple[Item, float | None]], interval: float) -> Iterator[tuple[Item, float]]:
    """Each item with a time: its own where it has one; else one ``interval`` after the frame before it, or,
    for frames before the stream's first timestamp, counted back from it. A stream that carries no timestamp
    at all counts from 0."""
    leading: list[Item] = []
    last: float | None = None
    for item, seconds in items:
        if last is None and seconds is None and len(leading) < _LEADING_LOOKAHEAD:
            leading.append(item)
            continue
        if last is None:
            anchor = seconds if seconds is not None else len(leading) * interval
            yield from ((held, anchor - (len(leading) - position) * interval) for position, held in enumerate(leading))
            leading = []
            seconds = anchor
        elif seconds is None:
            seconds = last + interval
        last = seconds
        yield item, seconds
    yield from ((held, position * interval) for position, held in enumerate(leading))


@dataclass(frozen=True)
class Timing:
    """The rate and duration of a run of frame times."""

    #: Frames per second; exact (30000/1001) when the times step regularly, their mean rate when they do not.
    rate: Fraction
    duration_seconds: float
    #: Whether every step between frames is the same (within the time base's rounding).
    regular: bool

    @property
    def fps(self) -> float:
        return float(self.rate)

    def as_dict(self) -> dict:
        return {
            "fps": round(self.fps, 6),
            "frame_rate": f"{self.rate.numerator}/{self.rate.denominator}",
            "duration_seconds": round(self.duration_seconds, 6),
            "constant_frame_rate": self.regular,
        }


def timing_of(pts_seconds: Iterable[float], *, single_frame_rate: Fraction) -> Timing:
    """The rate and duration that ``pts_seconds`` (in presentation order) show. The duration runs from the
    first frame to the end of the last, which lasts one typical step. A few odd steps (a last frame whose
    time the demuxer made up) do not make a constant rate variable. A single frame has no step to show a
    rate: it lasts one frame of ``single_frame_rate``, the stream's own guess."""
    times = np.asarray(list(pts_seconds), dtype=np.float64)
    if len(times) < 2 or times[-1] <= times[0]:
        rate = single_frame_rate if single_frame_rate > 0 else Fraction(25)
        return Timing(rate=rate, duration_seconds=len(times) / float(rate), regular=True)
    steps = np.diff(times)
    typical_step = float(np.median(steps))
    span = float(times[-1] - times[0])
    inliers = steps[np.abs(steps - typical_step) <= _STEP_JITTER_SECONDS]
    if len(inliers) < _REGULAR_SHARE * len(steps):
        mean_rate = Fraction(len(steps) / span).limit_denominator(_RATE_DENOMINATOR)
        return Timing(rate=mean_rate, duration_seconds=span + typical_step, regular=False)
    inlier_span = float(inliers.sum())
    rate = _nominal_rate(len(inliers) / inlier_span, relative_precision=_STEP_JITTER_SECONDS / inlier_span)
    return Timing(rate=rate, duration_seconds=span + 1 / float(rate), regular=True)


def _nominal_rate(measured: float, *, relative_precision: float) -> Fraction:
    """The rate ``measured`` stands for: a whole number of frames/s or its NTSC variant (30000/1001) where the
    measurement cannot tell them apart from it, else the closest small fraction (25/2)."""
    whole = Fraction(round(measured))
    ntsc = Fraction(round(measured * 1.001) * 1000, 1001)
    nearest = min((whole, ntsc), key=lambda rate: abs(float(rate) - measured))
    if nearest > 0 and abs(float(nearest) - measured) <= measured * relative_precision + 1e-9:
        return nearest
    return Fraction(measured).limit_denominator(_RATE_DENOMINATOR)
