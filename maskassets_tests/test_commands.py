"""The commands README.md shows, run as a user runs them: `maskassets update` and `dagster asset materialize`."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from maskassets.cli import STAGES
from maskassets.defs.partitions import video_partitions
from maskassets.stages.output_webm import WEBM_FILE
from maskassets.storage import ArtifactStore
from maskassets_tests.commands import REPO_ROOT, run_command
from maskassets_tests.media import make_clip

pytestmark = pytest.mark.slow


def test_maskassets_update_builds_every_video_then_reuses_everything(tmp_path, pipeline_env, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    make_clip(videos / "first.mp4", frames=5)
    make_clip(videos / "second.mp4", frames=3)

    first = run_command(["maskassets", "update"], cwd=tmp_path).stdout
    assert "2 video(s); 2 new" in first
    assert "first.mp4: model_checkpoint built, video_frames built, source_audio built, frame_predictions built" in first
    assert "second.mp4: model_checkpoint reused, video_frames built" in first
    assert "done: 2 up to date, 0 failed" in first
    assert (tmp_path / ".dagster_home").is_dir()
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    for key in ("first.mp4", "second.mp4"):
        manifest = store.require_manifest("output_webm", key)
        assert store.artifact_path(manifest, WEBM_FILE).stat().st_size > 0

    again = run_command(["maskassets", "update"], cwd=tmp_path).stdout
    assert "0 new" in again
    for key in ("first.mp4", "second.mp4"):
        assert f"{key}: " + ", ".join(f"{stage} reused" for stage in STAGES) in again


def test_dagster_cli_builds_a_whole_chain_then_rebuilds_only_the_webm(tmp_path, pipeline_env, dagster_home):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=4)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, ["clip.mp4"])
    module = ["-m", "maskassets.definitions"]

    run_command(
        ["dagster", "asset", "materialize", *module, "--select", "*output_webm", "--partition", "clip.mp4"], REPO_ROOT
    )
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    chain = STAGES[1 : STAGES.index("output_webm") + 1]
    before = {stage: store.require_manifest(stage, "clip.mp4") for stage in chain}
    assert before["output_webm"].metadata["codec"] == "vp8"

    run_command(
        ["dagster", "asset", "materialize", *module, "--select", "output_webm", "--partition", "clip.mp4"],
        REPO_ROOT,
        MASKASSETS_CODEC="vp9",
    )
    after = {stage: store.require_manifest(stage, "clip.mp4") for stage in chain}
    assert after["output_webm"].metadata["codec"] == "vp9"
    assert after["output_webm"].directory != before["output_webm"].directory
    for stage in chain[:-1]:
        assert after[stage] == before[stage]


def test_a_cli_backfill_of_many_videos_is_queued_under_the_run_bound(tmp_path, pipeline_env, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert run_command(["maskassets", "home"], cwd=tmp_path).stdout.strip() == str(tmp_path / "home")
    keys = ["a.mp4", "b.mp4", "c.mp4"]
    for key in keys:
        make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / key, frames=2)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, keys)

    run_command(
        [
            "dagster",
            "job",
            "backfill",
            "-m",
            "maskassets.definitions",
            "-j",
            "video_pipeline",
            "--partitions",
            ",".join(keys),
            "--noprompt",
        ],
        REPO_ROOT,
    )
    with dg.DagsterInstance.get() as instance:
        (backfill,) = instance.get_backfills()
        assert sorted(backfill.partition_names) == keys
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
