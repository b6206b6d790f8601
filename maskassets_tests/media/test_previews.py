"""The contact sheet shows evenly spaced frames of a video of any length, and long steps report progress
at a readable rate."""

from __future__ import annotations

import numpy as np
import pytest

from maskassets.batch.progress import ProgressLog, format_duration
from maskassets.media.previews import contact_sheet, contact_sheet_indices, thumbnail


@pytest.mark.parametrize("frame_count", [1, 5, 12, 13, 100, 10_000])
def test_contact_sheet_frames_spread_from_the_first_to_the_last(frame_count):
    indices = contact_sheet_indices(frame_count, count=12)

    assert len(indices) == min(frame_count, 12)
    assert indices[0] == 0 and indices[-1] == frame_count - 1 and indices == sorted(set(indices))
    if frame_count > 12:
        gaps = np.diff(indices)
        assert gaps.max() <= gaps.min() + 1
    sheet = contact_sheet({index: thumbnail(np.full((24, 48, 3), 9, np.uint8), 32) for index in indices})
    rows = -(-len(indices) // 4)
    assert sheet.shape[1] == 4 * 32 and sheet.shape[0] == rows * (16 + 16)


def test_a_frame_of_another_size_still_tiles():
    thumbnails = {0: thumbnail(np.zeros((24, 48, 3), np.uint8), 32), 1: thumbnail(np.zeros((48, 24, 3), np.uint8), 32)}
    assert contact_sheet(thumbnails, columns=2).shape == (2 * (16 + 16) // 2, 2 * 32, 3)


def test_progress_logs_the_first_batch_then_at_most_once_per_interval_and_the_end():
    now = [0.0]
    lines: list[str] = []
    progress = ProgressLog(
        task="frame_predictions", total=100, log=lines.append, interval_seconds=10, clock=lambda: now[0]
    )
    for _ in range(25):
        now[0] += 2.0
        progress.advance(4)

    assert lines[0] == "frame_predictions: 4/100 frames (4%), 2.00 frames/s, ETA 48 s"
    assert len(lines) == 1 + 4 + 1
    assert lines[-1] == "frame_predictions: 100/100 frames (100%), 2.00 frames/s, ETA 0 s"


def test_progress_without_a_known_total_reports_rate_only():
    lines: list[str] = []
    progress = ProgressLog(task="video_frames", total=None, log=lines.append, clock=lambda: 5.0)
    progress.advance(32)
    assert lines == ["video_frames: 32 frames, 0.00 frames/s"]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.4, "0 s"), (59, "59 s"), (61, "1 min 01 s"), (3 * 3600 + 125, "3 h 02 min")]
)
def test_durations_read_like_a_person_writes_them(seconds, text):
    assert format_duration(seconds) == text
