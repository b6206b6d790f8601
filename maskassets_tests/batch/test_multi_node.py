"""A Ray cluster of two nodes on loopback (`ray start --head`, then `ray start --address` with its own
temp dir), videos and artifacts on a real S3-compatible server: every parallel stage runs on both nodes, and
a local artifact root, which the other node cannot read, is refused before any work."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import ray

from maskassets.cli.update import update_all
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.loopback import free_port
from maskassets_tests.support.media import OPEN_GOP_H264, ffmpeg_test_pattern, with_beep
from maskassets_tests.support.s3_server import FAKE_CREDENTIALS, admin_client

pytestmark = pytest.mark.slow
PARALLEL_STAGES = ("video_frames", "source_audio", "frame_predictions", "annotated_frames")


def _ray(*arguments: str) -> None:
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable))
    # conftest keeps a local Ray on loopback with this set to 0, which also refuses a second node; both nodes
    # here are bound to loopback by --node-ip-address instead.
    environment = os.environ | {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "1"}
    completed = subprocess.run([ray_cli, *arguments], capture_output=True, text=True, env=environment, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture
def two_node_cluster(s3_endpoint, pipeline_env, monkeypatch) -> Iterator[str]:
    """Both nodes start with the S3 settings in their environment, as workers read S3 with them."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    ray.shutdown()
    address = f"127.0.0.1:{free_port()}"
    common = ["--num-cpus=1", "--disable-usage-stats", "--node-ip-address=127.0.0.1"]
    # Ray's socket paths must stay under ~107 bytes, which pytest's tmp_path can exceed.
    temp_dirs = [tempfile.mkdtemp(prefix=f"ray-{role}-", dir="/tmp") for role in ("head", "node")]
    _ray(
        "start",
        "--head",
        f"--port={address.split(':')[1]}",
        "--include-dashboard=false",
        f"--temp-dir={temp_dirs[0]}",
        *common,
    )
    try:
        _ray("start", f"--address={address}", f"--temp-dir={temp_dirs[1]}", *common)
        monkeypatch.setenv("MASKASSETS_RAY_ADDRESS", address)
        monkeypatch.delenv("MASKASSETS_RAY_NUM_CPUS", raising=False)
        yield address
    finally:
        ray.shutdown()
        _ray("stop", "--force")
        # Ray Data logs into the session folder of the cluster this process was on when it first logged, and
        # reopens that file if anything closes it: closed here, it opens the next session's file instead.
        for handler in logging.getLogger("ray.data").handlers:
            handler.close()
        for temp_dir in temp_dirs:
            shutil.rmtree(temp_dir, ignore_errors=True)


def test_every_parallel_stage_runs_on_both_nodes_with_s3_artifacts(
    two_node_cluster, s3_endpoint, pipeline_env, dagster_home, monkeypatch
):
    client = admin_client(s3_endpoint)
    client.create_bucket(Bucket="media")
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    picture = ffmpeg_test_pattern(videos / "picture.mp4", encoder_args=OPEN_GOP_H264)
    clip = with_beep(picture, videos / "clip.mp4", seconds=4, beep_at=1, audio_args=["-c:a", "aac"])
    client.upload_file(str(clip), "media", "incoming/clip.mp4")
    monkeypatch.setenv("MASKASSETS_VIDEOS", "s3://media/incoming")
    monkeypatch.setenv("MASKASSETS_ARTIFACTS", "s3://media/artifacts")
    monkeypatch.setenv("MASKASSETS_SEGMENT_FRAMES", "12")
    monkeypatch.setenv("MASKASSETS_ENCODE_SEGMENT_FRAMES", "25")
    monkeypatch.setenv("MASKASSETS_SOUND_PART_SECONDS", "0.5")

    with dg.DagsterInstance.get() as instance:
        report = update_all(instance)

    assert not report.failures, report.failures
    store = ArtifactStore("s3://media/artifacts")
    nodes = {node["NodeID"] for node in ray.nodes() if node["Alive"]}
    assert len(nodes) == 2
    for stage in PARALLEL_STAGES:
        manifest = store.require_manifest(stage, "clip.mp4")
        assert set(manifest.metadata["ray_nodes"]) == nodes, stage
    assert len(store.require_manifest("source_audio", "clip.mp4").metadata["parts"]) == 8
    published = store.require_manifest("output_webm", "clip.mp4").metadata
    assert (published["frame_count"], published["audio"]) == (100, True)


def test_a_local_artifact_root_on_two_nodes_is_refused_with_the_fix(two_node_cluster, pipeline_env, dagster_home):
    ffmpeg_test_pattern(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", encoder_args=OPEN_GOP_H264, seconds=1)

    with dg.DagsterInstance.get() as instance:
        report = update_all(instance)

    (failure,) = report.failures["clip.mp4"]
    assert failure.startswith("video_frames: The Ray cluster has 2 nodes, but the artifact root ")
    assert "s3://" in failure and "turn on `artifacts.shared_by_all_nodes` (MASKASSETS_SHARED_ARTIFACTS)" in failure
    assert ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"]).read_manifest("video_frames", "clip.mp4") is None
