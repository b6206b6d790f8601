"""Videos that are valid but unusual go through the whole chain: odd sizes, a single frame, a
variable frame rate whose real timestamps the output keeps, and a phone's rotation tag, honoured."""

from __future__ import annotations

import subprocess
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.cli.update import update_all
from maskassets.defs.jobs import STAGES
from maskassets.media.frame_codec import decode_frame
from maskassets.media.video_writing import output_file_name
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.media import (
    ffprobe_frames,
    make_clip,
    mpeg1_claiming_25_fps,
    rotate_clip,
    theora_with_repeated_frames,
)

pytestmark = pytest.mark.slow
VFR_TIMESTAMPS = [0.0, 0.1, 0.15, 0.5, 0.55, 1.2]


def _frames(path: Path) -> list[tuple[float | None, tuple[int, int]]]:
    """Each frame FFmpeg decodes: its time from the first (MPEG-PS starts at 0.5 s; None where FFmpeg gives it
    none: the last frame of MPEG-PS) and its size."""
    frames = ffprobe_frames(path)
    return [
        (None if frame.seconds is None else round(frame.seconds - frames[0].seconds, 3), (frame.width, frame.height))
        for frame in frames
    ]


def _same_frames(output: list, source: list) -> bool:
    """The output holds the source's frames at the source's times, where the source has one."""
    return len(output) == len(source) and all(
        (time == source_time or source_time is None) and size == source_size
        for (time, size), (source_time, source_size) in zip(output, source, strict=True)
    )


def _upright_first_frame(path: Path) -> np.ndarray:
    """The first frame as FFmpeg's own command line shows it: rotated by the display matrix."""
    png = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"],
        check=True,
        capture_output=True,
    ).stdout
    return decode_frame(png)


def test_odd_sizes_single_frames_variable_rates_and_rotation_are_kept(pipeline_env, dagster_home, tmp_path):
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    sources = {
        "odd.mp4": make_clip(videos / "odd.mp4", frames=4, width=97, height=71),
        "single.mp4": make_clip(videos / "single.mp4", frames=1),
        "vfr.mkv": make_clip(videos / "vfr.mkv", timestamps=VFR_TIMESTAMPS),
        "header_says_25.mpg": mpeg1_claiming_25_fps(videos / "header_says_25.mpg"),
        "repeated_frames.ogv": theora_with_repeated_frames(videos / "repeated_frames.ogv"),
    }
    landscape = make_clip(tmp_path / "landscape.mp4", frames=3, width=128, height=96)
    portrait = rotate_clip(landscape, videos / "portrait.mp4", 90)
    with dg.DagsterInstance.get() as instance:
        report = update_all(instance)
    assert not report.failures
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    expected = {key: _frames(source) for key, source in sources.items()}
    expected["portrait.mp4"] = [(time, (96, 128)) for time, _ in _frames(landscape)]
    for key, frames in expected.items():
        assert [report.outcomes[key][stage] for stage in STAGES[1:]] == ["built"] * (len(STAGES) - 1)
        manifest = store.require_manifest("output_webm", key)
        output = Path(store.artifact_path(manifest, output_file_name("vp8")).path)
        assert _same_frames(_frames(output), frames), key
    assert [time for time, _ in _frames(sources["vfr.mkv"])] == VFR_TIMESTAMPS
    # The rate comes from the timestamps, not from the header's claim.
    for stage in ("video_frames", "output_webm"):
        assert store.require_manifest(stage, "header_says_25.mpg").metadata["frame_rate"] == "30/1"

    stored = store.require_manifest("video_frames", "portrait.mp4")
    assert stored.metadata["rotation"] == 90
    assert (stored.metadata["width"], stored.metadata["height"]) == (96, 128)
    (first_frame,) = iter_stored_frames(store, stored, end_frame=1)
    # The copied packets decode to the pixels FFmpeg shows, turned by the rotation Matroska does not keep.
    np.testing.assert_array_equal(first_frame.rgb, _upright_first_frame(portrait))
