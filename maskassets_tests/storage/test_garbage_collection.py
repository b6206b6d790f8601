"""No commit removes a folder a reader may still be on; `maskassets gc` and the nightly artifact_gc job remove
the folders no manifest names (replaced ones, a killed writer's, the losing one of two writers) once older
than the grace period, never those of a partition with a run in progress, and print what they freed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from dagster._core.utils import make_new_run_id

from maskassets.cli.main import main
from maskassets.definitions import build_definitions
from maskassets.storage.artifact_store import ArtifactStore, Manifest

_KILLED_WRITER = """
import os, sys
from maskassets.storage.artifact_store import ArtifactStore
with ArtifactStore(sys.argv[1]).commit("frame_predictions", "a.mp4", version="v2") as staged:
    staged.path("shard-000000.parquet").write_bytes(b"x" * 4096)
    os.kill(os.getpid(), 9)
"""


def _commit(store: ArtifactStore, partition: str, version: str, *, stage: str = "video_frames") -> Manifest:
    with store.commit(stage, partition, version=version) as staged:
        staged.path("data.txt").write_text(f"{partition} {version}")
    return store.require_manifest(stage, partition)


def _folders(root: Path, stage: str, partition: str) -> set[str]:
    return {path.name for path in (root / stage / partition).iterdir() if path.name != "manifest.json"}


def test_a_reader_two_commits_behind_still_reads_its_folder(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    being_read = _commit(store, "a.mp4", "v1")
    _commit(store, "a.mp4", "v2")
    _commit(store, "a.mp4", "v3")
    assert store.artifact_path(being_read, "data.txt").read_text() == "a.mp4 v1"


def test_gc_frees_what_replaced_killed_and_losing_writers_left_once_no_run_can_read_it(
    tmp_path: Path, dagster_home: Path, monkeypatch, capsys
):
    root = tmp_path / "artifacts"
    # `maskassets gc --artifacts` sets the variable for the process; the test gives it back afterwards.
    monkeypatch.setenv("MASKASSETS_ARTIFACTS", str(root))
    store = ArtifactStore(str(root))
    predictions = _commit(store, "a.mp4", "v1", stage="frame_predictions")
    killed = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(root)], check=False)
    assert killed.returncode == -9
    (killed_folder,) = _folders(root, "frame_predictions", "a.mp4") - {predictions.directory}
    replaced = _commit(store, "b.mp4", "v1")
    with store.commit("video_frames", "b.mp4", version="v2") as slower_writer:
        slower_writer.path("data.txt").write_text("b.mp4 v2")
        with store.commit("video_frames", "b.mp4", version="v3") as faster_writer:
            faster_writer.path("data.txt").write_text("b.mp4 v3")
    winner = store.require_manifest("video_frames", "b.mp4")
    (root / "video_frames" / "b.mp4" / ".manifest.json.0badc0de").write_text("{}")
    _commit(store, "c.mp4", "v1")
    busy = _commit(store, "c.mp4", "v2")
    with dg.DagsterInstance.get() as instance:
        run = DagsterRun(
            job_name="video_pipeline",
            run_id=make_new_run_id(),
            status=DagsterRunStatus.STARTED,
            tags={"dagster/partition": "c.mp4"},
        )
        instance.add_run(run)

    assert main(["gc", "--artifacts", str(root)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "freed 0 bytes in 0 folder(s); kept 4 changed within the grace period and 1 of partitions with a run in "
        "progress"
    )
    assert main(["gc", "--artifacts", str(root), "--grace-hours", "0", "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("would free 4.0 KiB in 4 folder(s)")
    assert len(_folders(root, "video_frames", "b.mp4")) == 4

    assert main(["gc", "--artifacts", str(root), "--grace-hours", "0"]) == 0
    printed = capsys.readouterr().out.splitlines()
    freed = {line.split()[-1] for line in printed[:-1]}
    assert freed == {
        f"frame_predictions/a.mp4/{killed_folder}",
        f"video_frames/b.mp4/{replaced.directory}",
        f"video_frames/b.mp4/{winner.replaced}",
        "video_frames/b.mp4/.manifest.json.0badc0de",
    }
    assert _folders(root, "frame_predictions", "a.mp4") == {predictions.directory}
    assert _folders(root, "video_frames", "b.mp4") == {winner.directory}
    assert store.artifact_path(winner, "data.txt").read_text() == "b.mp4 v2"
    assert len(_folders(root, "video_frames", "c.mp4")) == 2

    with dg.DagsterInstance.get() as instance:
        instance.report_run_failed(instance.get_run_by_id(run.run_id))
        monkeypatch.setenv("MASKASSETS_GC_GRACE_HOURS", "0")
        nightly = build_definitions().resolve_job_def("artifact_gc").execute_in_process(instance=instance)
    assert nightly.success
    assert _folders(root, "video_frames", "c.mp4") == {busy.directory}
    assert store.artifact_path(busy, "data.txt").read_text() == "c.mp4 v2"
