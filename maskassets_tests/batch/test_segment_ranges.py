"""How annotated_frames cuts a video into the ranges its parallel tasks draw and encode."""

from __future__ import annotations

from maskassets.batch.segment_annotation import FrameRange, segment_ranges


def _spans(ranges: list[FrameRange]) -> list[tuple[int, int]]:
    return [(frame_range.first_frame, frame_range.end_frame) for frame_range in ranges]


def test_ranges_of_at_most_the_segment_size_cover_every_frame_once_in_even_lengths():
    # Three ranges of 10 would leave the last task 5 frames; even ones finish together.
    assert _spans(segment_ranges(25, 10)) == [(0, 8), (8, 17), (17, 25)]
    ranges = segment_ranges(4491, 600)
    assert {frame_range.frames for frame_range in ranges} == {561, 562} and len(ranges) == 8
    assert [frame_range.first_frame for frame_range in ranges[1:]] == [
        frame_range.end_frame for frame_range in ranges[:-1]
    ]
    assert _spans(segment_ranges(25, None)) == [(0, 25)]
    assert _spans(segment_ranges(1, 600)) == [(0, 1)]


def test_ranges_end_where_the_copied_packets_start_when_one_is_within_reach():
    # Copies start at 0, 7, 12, 30 and 33: each range ends at the last of them it reaches, and a copy longer than
    # a range (12..30) is cut at the range's size.
    ranges = segment_ranges(40, 10, cuts=[0, 7, 12, 30, 33])
    assert _spans(ranges) == [(0, 7), (7, 12), (12, 22), (22, 30), (30, 40)]
