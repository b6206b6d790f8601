"""A backfill of many videos, run by the real Dagster daemon under the dagster.yaml `maskassets home`
writes: every run succeeds, and every video's tables hold each frame exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus

from maskassets import schema
from maskassets.defs.partitions import video_partitions
from maskassets.schema import ANNOTATED_TABLE, PREDICTIONS_TABLE
from maskassets.storage import ArtifactStore
from maskassets_tests.commands import run_command, start_command
from maskassets_tests.media import make_clip
from maskassets_tests.pipeline_run import stored_table

pytestmark = pytest.mark.slow
#: Twice the runs the instance lets run at once below: the daemon queues half of them.
VIDEO_COUNT = 8
MODULE = ["-m", "maskassets.definitions"]


def _wait_for_runs(instance: dg.DagsterInstance, backfill_id: str, count: int, deadline_seconds: float) -> list:
    """The backfill's runs once ``count`` of them have ended (the daemon dequeues them at its bound)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        if len(runs) == count and all(run.is_finished for run in runs):
            return runs
        time.sleep(5)
    raise AssertionError(f"the backfill's runs did not finish in {deadline_seconds} s: {[run.status for run in runs]}")


def test_a_backfill_of_more_videos_than_may_run_at_once_completes_with_every_frame_once(
    tmp_path, pipeline_env, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = Path(run_command(["maskassets", "home"], cwd=tmp_path).stdout.strip())
    # The runs of so small videos mostly wait on process and Ray start-up, not on the CPUs: allow 4 at
    # once, each with a one-CPU Ray, as README suggests for raising the bound.
    instance_yaml = home / "dagster.yaml"
    instance_yaml.write_text(instance_yaml.read_text().replace("max_concurrent_runs: 2", "max_concurrent_runs: 4"))
    monkeypatch.setenv("MASKASSETS_RAY_NUM_CPUS", "1")
    frame_counts = {f"clip-{number:02d}.mp4": 2 + number % 3 for number in range(VIDEO_COUNT)}
    for key, frames in frame_counts.items():
        make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / key, frames=frames)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, list(frame_counts))
    # Only the backfill may launch runs here: the sensors would request the same videos again.
    for sensor in ("new_videos_sensor", "keep_videos_up_to_date"):
        run_command(["dagster", "sensor", "stop", *MODULE, sensor])
    run_command(
        [
            "dagster",
            "job",
            "backfill",
            *MODULE,
            "-j",
            "video_pipeline",
            "--partitions",
            ",".join(frame_counts),
            "--noprompt",
        ]
    )

    daemon = start_command(["dagster-daemon", "run", *MODULE], log=tmp_path / "daemon.log")
    try:
        with dg.DagsterInstance.get() as instance:
            (backfill,) = instance.get_backfills()
            runs = _wait_for_runs(instance, backfill.backfill_id, VIDEO_COUNT, deadline_seconds=1200)
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    assert backfill.status == BulkActionStatus.COMPLETED
    assert sorted(run.tags["dagster/partition"] for run in runs) == sorted(frame_counts)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}

    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    for key, frames in frame_counts.items():
        for stage, file_name in (("frame_predictions", PREDICTIONS_TABLE), ("annotated_frames", ANNOTATED_TABLE)):
            indices = stored_table(store, stage, key, file_name)[schema.FRAME_INDEX].to_pylist()
            assert indices == list(range(frames)), (key, stage)
        assert store.require_manifest("output_webm", key).metadata["frame_count"] == frames
