"""The automation condition materializes new and missing partitions as one run of the whole chain,
and an upstream rematerialization that reproduced the same data triggers nothing."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from maskassets.cli import STAGES, update_all
from maskassets.definitions import build_definitions
from maskassets_tests.media import make_clip
from maskassets_tests.pipeline_run import sensor_tick

pytestmark = pytest.mark.slow


def _requested(result) -> dict[str, set[str | None]]:
    requested = {}
    for stage in STAGES:
        subset = result.get_requested_partitions(dg.AssetKey(stage))
        if subset:
            requested[stage] = set(subset)
    return requested


def test_missing_partitions_fire_and_identical_rematerializations_do_not(pipeline_env, dagster_home):
    videos = pipeline_env["MASKASSETS_VIDEOS"]
    make_clip(Path(videos) / "a.mp4", frames=3)
    with dg.DagsterInstance.get() as instance:
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
