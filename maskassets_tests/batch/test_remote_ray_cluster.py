"""frame_predictions on a Ray cluster started on its own (`ray start --head`), joined by its address."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pytest
import ray

from maskassets_tests.support.loopback import free_port
from maskassets_tests.support.media import make_clip
from maskassets_tests.support.pipeline_run import register_and_run

pytestmark = pytest.mark.slow


@pytest.fixture
def ray_head():
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable))
    address = f"127.0.0.1:{free_port()}"
    subprocess.run(
        [
            ray_cli,
            "start",
            "--head",
            f"--port={address.split(':')[1]}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
            # Ray's socket paths must stay under ~107 bytes, which pytest's tmp_path can exceed.
            f"--temp-dir={tempfile.mkdtemp(prefix='ray-', dir='/tmp')}",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield address
    finally:
        ray.shutdown()
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True)


def test_predictions_run_on_a_cluster_reached_by_its_address(ray_head, pipeline_env, dagster_home, monkeypatch):
    monkeypatch.setenv("MASKASSETS_RAY_ADDRESS", ray_head)
    monkeypatch.delenv("MASKASSETS_RAY_NUM_CPUS")
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=6)
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        result = register_and_run(instance, ["clip.mp4"])["clip.mp4"]
    assert result.success
    predictions = next(
        event.materialization
        for event in result.get_asset_materialization_events()
        if event.materialization.asset_key == dg.AssetKey("frame_predictions")
    )
    assert predictions.metadata["ray_address"].value == ray_head
    assert predictions.metadata["frame_count"].value == 6
