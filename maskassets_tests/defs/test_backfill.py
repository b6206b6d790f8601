"""A backfill of many videos, run by the real Dagster daemon under the dagster.yaml `maskassets home`
writes, with the instance on PostgreSQL as in production: every run succeeds, and every video's tables hold
each frame exactly once."""

from __future__ import annotations

import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._core.execution.backfill import BulkActionStatus
from dagster_postgres import PostgresRunStorage

from maskassets.defs.partitions import video_partitions
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import PREDICTIONS_TABLE
from maskassets_tests.support.commands import run_command, start_command, stop_command
from maskassets_tests.support.media import make_clip
from maskassets_tests.support.pipeline_run import stored_table

pytestmark = pytest.mark.slow
#: Twice the runs the instance lets run at once (dagster.yaml as `maskassets home` writes it): the daemon queues
#: half of them.
VIDEO_COUNT = 4
MODULE = ["-m", "maskassets.definitions"]
#: README's production instance: runs, events and schedules in PostgreSQL, through psycopg2 (SQLAlchemy 2.1 takes
#: a plain postgresql:// URL for psycopg 3, which dagster-postgres does not install).
POSTGRES_STORAGE = """
storage:
  postgres:
    postgres_url: "{url}"
"""


def _wait_for_runs(instance: dg.DagsterInstance, backfill_id: str, count: int, deadline_seconds: float) -> list:
    """The backfill's runs once ``count`` of them have ended (the daemon dequeues them at its bound)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
        if len(runs) == count and all(run.is_finished for run in runs):
            return runs
        time.sleep(5)
    raise AssertionError(f"the backfill's runs did not finish in {deadline_seconds} s: {[run.status for run in runs]}")


def _failures(runs: list) -> list[str]:
    """Each failed step's error, to read in the assertion."""
    with dg.DagsterInstance.get() as instance:
        return [
            f"{run.tags['dagster/partition']} {event.step_key}: {event.event_specific_data.error.message.strip()}"
            for run in runs
            if run.status != dg.DagsterRunStatus.SUCCESS
            for event in (
                record.event_log_entry.dagster_event
                for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
            )
        ]


def test_a_backfill_of_more_videos_than_may_run_at_once_completes_with_every_frame_once(
    tmp_path, pipeline_env, monkeypatch, postgres_url
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    home = Path(run_command(["maskassets", "home"], cwd=tmp_path).stdout.strip())
    dagster_url = postgres_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    with (home / "dagster.yaml").open("a") as instance_yaml:
        instance_yaml.write(POSTGRES_STORAGE.format(url=dagster_url))
    # Each of the runs at once starts a Ray of its own on this machine's two cores.
    monkeypatch.setenv("MASKASSETS_RAY_NUM_CPUS", "1")
    frame_counts = {f"clip-{number:02d}.mp4": 2 + number % 3 for number in range(VIDEO_COUNT)}
    for key, frames in frame_counts.items():
        make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / key, frames=frames)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
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
        stop_command(daemon)
    assert backfill.status == BulkActionStatus.COMPLETED
    assert sorted(run.tags["dagster/partition"] for run in runs) == sorted(frame_counts)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}, _failures(runs)
    with psycopg2.connect(postgres_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cursor.fetchone() == (VIDEO_COUNT,), "the runs are recorded in PostgreSQL"

    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    for key, frames in frame_counts.items():
        indices = stored_table(store, "frame_predictions", key, PREDICTIONS_TABLE)[schema.FRAME_INDEX].to_pylist()
        assert indices == list(range(frames)), key
        assert store.require_manifest("annotated_frames", key).metadata["frame_count"] == frames
        assert store.require_manifest("output_webm", key).metadata["frame_count"] == frames
