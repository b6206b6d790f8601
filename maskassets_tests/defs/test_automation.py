"""The automation condition materializes new and missing partitions as one run of the whole chain, an
upstream rematerialization that reproduced the same data triggers nothing, and a checkpoint overwritten at
the same path rebuilds the checkpoint and every video's predictions."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from maskassets.cli.update import update_all
from maskassets.definitions import build_definitions
from maskassets.defs.jobs import STAGES
from maskassets_tests.support.media import make_clip, save_random_checkpoint
from maskassets_tests.support.pipeline_run import checkpoint_tick, sensor_tick

pytestmark = pytest.mark.slow


def _requested(result) -> dict[str, set[str | None]]:
    requested = {}
    for stage in STAGES:
        subset = result.get_requested_partitions(dg.AssetKey(stage))
        if subset:
            requested[stage] = set(subset)
    return requested


def test_missing_partitions_fire_and_identical_rematerializations_do_not_and_a_new_checkpoint_does(
    pipeline_env, dagster_home, tmp_path, monkeypatch
):
    videos = pipeline_env["MASKASSETS_VIDEOS"]
    checkpoint = Path(shutil.copyfile(pipeline_env["MASKASSETS_CHECKPOINT"], tmp_path / "model.pt"))
    monkeypatch.setenv("MASKASSETS_CHECKPOINT", str(checkpoint))
    make_clip(Path(videos) / "a.mp4", frames=3)
    with dg.DagsterInstance.get() as instance:
        seen = checkpoint_tick(instance, None)
        assert not update_all(instance).failures
        make_clip(Path(videos) / "b.mp4", frames=2)
        sensor_tick(instance, videos, None)
        defs = build_definitions()

        new_video = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert _requested(new_video) == {stage: {"b.mp4"} for stage in STAGES[1:]}

        assert not update_all(instance).failures
        after_build = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=new_video.cursor)
        assert after_build.total_requested == 0

        rerun = update_all(instance)
        assert not rerun.failures
        assert {outcome for stages in rerun.outcomes.values() for outcome in stages.values()} == {"reused"}
        after_identical = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_build.cursor)
        assert after_identical.total_requested == 0

        assert checkpoint_tick(instance, seen.cursor).asset_events == []
        save_random_checkpoint(checkpoint, seed=1)
        overwritten = checkpoint_tick(instance, seen.cursor)
        assert len(overwritten.asset_events) == 1
        new_checkpoint = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_identical.cursor)
        assert _requested(new_checkpoint) == {"model_checkpoint": {None}}

        checkpoint_job = defs.resolve_implicit_global_asset_job_def()
        rebuilt = checkpoint_job.execute_in_process(
            asset_selection=[dg.AssetKey("model_checkpoint")], instance=instance
        )
        assert not rebuilt.get_asset_materialization_events()[0].materialization.metadata["reused"].value
        new_model = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=new_checkpoint.cursor)
        requested = _requested(new_model)
        assert requested["frame_predictions"] == {"a.mp4", "b.mp4"}
        assert "video_frames" not in requested and "model_checkpoint" not in requested
