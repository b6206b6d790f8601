"""A file that is not a video is listed as skipped, with the reason. A bad file named as a video fails only
its own partition, with an error that names the file and the fix, and leaves no artifact behind; the other
videos are built as usual. A stream damaged in the middle keeps the frames that decode and counts the lost
ones, unless strict decoding is asked."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from upath import UPath

from maskassets.cli.update import update_all
from maskassets.defs.jobs import STAGES
from maskassets.media.video import VideoDecodeError
from maskassets.stages.video_frames import DecodeSettings, extract_frames
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.media import damage_packets, make_clip, write_files_that_are_not_videos

pytestmark = pytest.mark.slow


def _audio_only(path: Path) -> None:
    audio = path.with_suffix(".m4a")
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", str(audio)], check=True
    )
    audio.rename(path)


def _truncated(path: Path) -> None:
    make_clip(path, frames=8)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


BAD_FILES = {
    "empty.mp4": (
        lambda path: path.write_bytes(b""),
        r"empty\.mp4 is not a readable video \(it is empty \(0 bytes\)\)",
    ),
    "notes.mp4": (lambda path: path.write_text("not a video"), r"notes\.mp4 is not a readable video"),
    "truncated.mp4": (_truncated, r"truncated\.mp4 is not a readable video"),
    "audio.mp4": (_audio_only, r"audio\.mp4 has no video stream \(it holds audio\)"),
}


def test_each_bad_file_fails_alone_with_its_reason_and_leaves_nothing(pipeline_env, dagster_home):
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    make_clip(videos / "good.mp4", frames=3)
    for name, (write, _) in BAD_FILES.items():
        write(videos / name)
    not_videos = write_files_that_are_not_videos(videos)
    with dg.DagsterInstance.get() as instance:
        report = update_all(instance)

    assert set(report.skipped) == set(not_videos)
    for name, reason in not_videos.items():
        assert any(line.startswith(f"skipped {name}: ") and reason in line for line in report.lines()), name

    assert [report.outcomes["good.mp4"][stage] for stage in STAGES[1:]] == ["built"] * (len(STAGES) - 1)
    assert set(report.failures) == set(BAD_FILES)
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    for name, (_, message) in BAD_FILES.items():
        (failure,) = report.failures[name]
        assert failure.startswith("video_frames:")
        assert re.search(message, failure), failure
        assert "remove it from the videos folder" in failure
        assert [report.outcomes[name][stage] for stage in STAGES[1:]] == ["not run"] * (len(STAGES) - 1)
        for stage in STAGES[1:]:
            assert store.read_manifest(stage, name) is None
            stage_dir = store.stage_dir(stage, name)
            assert not stage_dir.exists() or not list(stage_dir.iterdir())


def test_damaged_packets_are_skipped_and_counted_unless_strict(pipeline_env, dagster_home, monkeypatch):
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    make_clip(videos / "good.mp4", frames=3)
    damage_packets(make_clip(videos / "damaged.mp4", frames=24), range(14, 17))
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        lenient = update_all(instance)
    assert not lenient.failures
    frames = store.require_manifest("video_frames", "damaged.mp4")
    assert (frames.metadata["packets_lost"], frames.metadata["frame_count"]) == (3, 21)
    assert store.require_manifest("output_webm", "damaged.mp4").metadata["frame_count"] == 21
    assert store.require_manifest("video_frames", "good.mp4").metadata["packets_lost"] == 0
    lenient_output = store.require_manifest("output_webm", "damaged.mp4")

    monkeypatch.setenv("MASKASSETS_STRICT_DECODING", "1")
    with dg.DagsterInstance.get() as instance:
        strict = update_all(instance)
    (failure,) = strict.failures["damaged.mp4"]
    assert re.search(r"damaged\.mp4 is damaged \(3 packets could not be decoded", failure), failure
    assert "turn off `videos.strict_decoding` (MASKASSETS_STRICT_DECODING)" in failure
    assert [strict.outcomes["good.mp4"][stage] for stage in STAGES[1:]] == ["reused"] * (len(STAGES) - 1)
    assert store.require_manifest("output_webm", "damaged.mp4") == lenient_output


def test_strict_decoding_stops_at_the_first_damaged_packet_and_keeps_nothing(tmp_path):
    source = damage_packets(make_clip(tmp_path / "damaged.mp4", frames=24), range(14, 17))
    store = ArtifactStore(str(tmp_path / "artifacts"))
    refused = pytest.raises(VideoDecodeError, match=r"damaged\.mp4 is damaged at 1\.[0-9]{2} s .* strict decoding")
    with refused, store.commit("video_frames", "damaged.mp4", version="v1") as staged:
        extract_frames(store, UPath(str(source)), staged, settings=DecodeSettings(strict=True))
    assert store.read_manifest("video_frames", "damaged.mp4") is None
    assert not list(Path(store.stage_dir("video_frames", "damaged.mp4").path).iterdir())
