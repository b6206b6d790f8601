"""frame_predictions on a Ray cluster started on its own (`ray start --head`), joined by its address; an address
where no cluster answers fails each video with the fix, and one where something else answers says what to check."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg
import pytest
import ray

from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.commands import command_line, start_command, stop_command
from maskassets_tests.support.loopback import free_port
from maskassets_tests.support.media import make_clip
from maskassets_tests.support.pipeline_run import logged_messages, register_and_run

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
            f"--object-store-memory={3 * 2**29}",
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


def test_videos_run_on_a_cluster_reached_by_its_address_joined_once(ray_head, pipeline_env, dagster_home, monkeypatch):
    # Ray names the cluster by its head's IP (127.0.0.1 here), not by the name it was reached at.
    address = ray_head.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("MASKASSETS_RAY_ADDRESS", address)
    monkeypatch.delenv("MASKASSETS_RAY_NUM_CPUS")
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    make_clip(videos / "first.mp4", frames=6)
    make_clip(videos / "second.mp4", frames=4)
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        results = register_and_run(instance, ["first.mp4", "second.mp4"])
        connections = logged_messages(instance, list(results.values()), "Connected to")
    assert all(result.success for result in results.values())
    for key, frames in (("first.mp4", 6), ("second.mp4", 4)):
        predictions = next(
            event.materialization
            for event in results[key].get_asset_materialization_events()
            if event.materialization.asset_key == dg.AssetKey("frame_predictions")
        )
        assert predictions.metadata["ray_address"].value == ray_head
        assert predictions.metadata["frame_count"].value == frames
    # Every Ray stage of both videos' runs (one process, as `maskassets update`) ran in the one job it joined.
    assert connections == [
        f"Connected to the Ray cluster at {address}: 1 node(s), 2 CPU(s), 0 GPU(s), 1.5 GiB of object store."
    ]


def test_without_an_address_a_run_starts_a_ray_of_its_own_where_ray_alone_would_join_a_cluster(
    ray_head, pipeline_env, dagster_home, monkeypatch
):
    # Ray's own variable: `ray.init()` alone would join the running head, and refuse the local Ray's sizes there.
    monkeypatch.setenv("RAY_ADDRESS", ray_head)
    ray.shutdown()
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=3)
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
        result = register_and_run(instance, ["clip.mp4"])["clip.mp4"]
        connections = logged_messages(instance, [result], "Connected to")
    assert result.success
    # The head's store is 1.5 GiB; the local Ray's is MASKASSETS_RAY_OBJECT_STORE_MB's default.
    assert connections == ["Connected to a local Ray: 1 node(s), 2 CPU(s), 0 GPU(s), 2.0 GiB of object store."]


def test_update_with_an_address_where_no_cluster_answers_fails_each_video_naming_it(tmp_path, pipeline_env):
    address = f"127.0.0.1:{free_port()}"
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    make_clip(videos / "first.mp4", frames=3)
    make_clip(videos / "second.mp4", frames=3)
    environment = {"MASKASSETS_RAY_ADDRESS": address, "MASKASSETS_RAY_CONNECT_WAIT_SECONDS": "2"}
    completed = subprocess.run(
        command_line(["maskassets", "update"]),
        cwd=tmp_path,
        env={**os.environ, **pipeline_env, **environment, "MASKASSETS_RAY_NUM_CPUS": ""},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    failures = re.findall(r"^  FAILED video_frames: (.*)$", completed.stdout, flags=re.MULTILINE)
    assert len(failures) == 2, completed.stdout
    for failure, waited in zip(failures, (r"[1-9]\d*", "0"), strict=True):
        assert re.fullmatch(
            rf"No Ray cluster answers at {address} \(MASKASSETS_RAY_ADDRESS\), tried for {waited} s: .*"
            rf"`ray start --head --port={address.split(':')[1]}`.*unset MASKASSETS_RAY_ADDRESS to run a local Ray\.",
            failure,
        )
    assert "done: 0 up to date, 2 failed" in completed.stdout
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    assert [store.read_manifest("video_frames", key) for key in ("first.mp4", "second.mp4")] == [None, None]


def test_update_joining_an_address_where_something_else_answers_says_what_to_check(tmp_path, pipeline_env):
    # An HTTP server stands for what users reach by mistake: the head's dashboard, or Ray Client's port.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=3)
    environment = {
        **pipeline_env,
        "MASKASSETS_RAY_ADDRESS": f"127.0.0.1:{port}",
        "MASKASSETS_RAY_CONNECT_WAIT_SECONDS": "5",
        "MASKASSETS_RAY_NUM_CPUS": "",
    }
    try:
        update = start_command(["maskassets", "update"], cwd=tmp_path, **environment)
        try:
            lines = iter(update.stdout.readline, "")
            hint = next((line for line in lines if "still joining" in line), "")
        finally:
            # While Ray retries the process ignores SIGTERM; stop_command kills it after the timeout.
            with contextlib.suppress(subprocess.TimeoutExpired):
                stop_command(update, timeout=5)
    finally:
        server.terminate()
        server.wait()
    assert hint.startswith(
        f"clip.mp4: video_frames: still joining the Ray cluster at 127.0.0.1:{port} after 5 s; Ray retries for "
        "minutes where something other than a Ray head answers."
    ), hint
    assert "not its dashboard (8265) or Ray Client's port (10001, which takes ray://)" in hint
