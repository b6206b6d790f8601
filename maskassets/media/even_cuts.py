"""Where to cut a run of frames into pieces that parallel tasks share: as even as the places it may be cut allow,
so that the pieces finish together instead of the last being a runt that leaves one CPU waiting alone."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence


def even_cuts(candidates: Sequence[int], total: int, pieces: int) -> list[int]:
    """Up to ``pieces - 1`` of the ascending ``candidates`` (frame positions where a piece may begin, within 1 ..
    ``total - 1``), each the one nearest its even share of ``total`` (``total * i / pieces``) after the cut before
    it. Fewer when the candidates run out (two shares nearest the same keyframe)."""
    cuts: list[int] = []
    for share in range(1, pieces):
        target = total * share / pieces
        after = bisect_right(candidates, cuts[-1]) if cuts else 0
        if after == len(candidates):
            break
        above = max(bisect_right(candidates, target), after)
        around = [position for position in (above - 1, above) if after <= position < len(candidates)]
        cuts.append(candidates[min(around, key=lambda position: abs(candidates[position] - target))])
    return cuts
