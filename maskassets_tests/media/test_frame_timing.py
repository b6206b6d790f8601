"""Files as they come from the wild: every frame FFmpeg decodes is stored, at FFmpeg's timestamps, and the
frame rate and duration come from those timestamps, not from what a stream header claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import pytest
from upath import UPath

from maskassets.media.frame_timing import fill_missing_times, timing_of
from maskassets.stages.video_frames import DecodeSettings, extract_frames
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import FRAMES_TABLE
from maskassets.storage.sharded_tables import read_table
from maskassets_tests.support.media import (
    ffmpeg_test_pattern,
    ffprobe,
    ffprobe_frames,
    mpeg1_claiming_25_fps,
    theora_with_repeated_frames,
)


@dataclass(frozen=True)
class Clip:
    make: Callable[[Path], Path]
    frames: int
    frame_rate: Fraction | None
    duration_seconds: float
    #: Whether the stream header's rate (ffprobe's r_frame_rate) is the true one.
    header_is_right: bool = True


CLIPS = {
    "repeated_frames.ogv": Clip(
        theora_with_repeated_frames,
        frames=24,
        frame_rate=None,
        duration_seconds=3.0,
    ),
    "header_says_25.mpg": Clip(
        mpeg1_claiming_25_fps,
        frames=60,
        frame_rate=Fraction(30),
        header_is_right=False,
        # FFmpeg times a frame that shares its packet's timestamp with another by the header's rate (1/25 s
        # after the frame before): the last one too.
        duration_seconds=58 / 30 + 1 / 25 + 1 / 30,
    ),
    "starts_at_1.4s.ts": Clip(
        lambda path: ffmpeg_test_pattern(path, encoder_args=["-c:v", "libx264", "-bf", "2", "-g", "25"]),
        frames=100,
        frame_rate=Fraction(25),
        duration_seconds=4.0,
    ),
    "no_timestamps.h264": Clip(
        lambda path: ffmpeg_test_pattern(path, rate="30000/1001", seconds=1, encoder_args=["-c:v", "libx264"]),
        frames=30,
        frame_rate=Fraction(30000, 1001),
        duration_seconds=30 * 1001 / 30000,
    ),
    "ntsc.mp4": Clip(
        lambda path: ffmpeg_test_pattern(
            path, rate="30000/1001", seconds=2, encoder_args=["-c:v", "libx264", "-g", "20"]
        ),
        frames=60,
        frame_rate=Fraction(30000, 1001),
        duration_seconds=60 * 1001 / 30000,
    ),
}


@pytest.mark.parametrize("name", list(CLIPS))
def test_frames_timestamps_rate_and_duration_follow_the_timestamps(name, tmp_path, local_ray):
    clip = CLIPS[name]
    source = clip.make(tmp_path / name)
    probed = ffprobe(source, stream="nb_read_frames,r_frame_rate", count_frames=True)
    counted = int(probed["nb_read_frames"])
    ffmpeg_times = [frame.seconds for frame in ffprobe_frames(source)]
    store = ArtifactStore(str(tmp_path / "artifacts"))

    with store.commit("video_frames", name, version="v1") as staged:
        summary = extract_frames(store, UPath(str(source)), staged, settings=DecodeSettings(min_segment_frames=10))
    stored = read_table(store, store.require_manifest("video_frames", name), FRAMES_TABLE)

    assert summary.frame_count == counted == clip.frames
    assert summary.packets_lost == 0
    times = stored[schema.PTS_SECONDS].to_pylist()
    if all(seconds is None for seconds in ffmpeg_times):
        assert times == pytest.approx([index / clip.frame_rate for index in range(clip.frames)], abs=1e-9)
    else:
        # FFmpeg reports no time for a frame it drains from the decoder at the end of an MPEG-PS file.
        reported = [
            (stored, seconds) for stored, seconds in zip(times, ffmpeg_times, strict=True) if seconds is not None
        ]
        assert len(reported) >= clip.frames - 1
        assert [stored for stored, _ in reported] == pytest.approx(
            [seconds - ffmpeg_times[0] for _, seconds in reported], abs=2e-6
        )
    assert summary.timing.duration_seconds == pytest.approx(clip.duration_seconds, abs=1e-6)
    if clip.frame_rate is None:
        assert not summary.timing.regular
    else:
        assert summary.timing.regular and summary.timing.rate == clip.frame_rate
        assert (Fraction(probed["r_frame_rate"]) == clip.frame_rate) == clip.header_is_right
        assert summary.as_dict()["frame_rate"] == f"{clip.frame_rate.numerator}/{clip.frame_rate.denominator}"


def test_missing_timestamps_are_filled_from_the_frames_around_them():
    given = [None, None, 1.0, None, 1.2, 1.25, None, None]
    filled = [seconds for _, seconds in fill_missing_times(enumerate(given), 0.1)]
    assert filled == pytest.approx([0.8, 0.9, 1.0, 1.1, 1.2, 1.25, 1.35, 1.45])
    assert [seconds for _, seconds in fill_missing_times(enumerate([None] * 20), 0.5)] == [
        index * 0.5 for index in range(20)
    ]


def test_timestamps_on_a_millisecond_grid_still_give_the_exact_ntsc_rate():
    milliseconds = [round(index * 1001 / 30) / 1000 for index in range(300)]
    timing = timing_of(milliseconds, single_frame_rate=Fraction(25))
    assert (timing.rate, timing.regular) == (Fraction(30000, 1001), True)
    assert timing.duration_seconds == pytest.approx(milliseconds[-1] + 1001 / 30000)
    single = timing_of([0.0], single_frame_rate=Fraction(24))
    assert (single.rate, single.duration_seconds) == (Fraction(24), pytest.approx(1 / 24))
