"""When automation materializes a stage: missing partitions (new videos included), changed code or
settings, and inputs whose data version changed. An upstream rematerialization that reproduced the same
data triggers nothing, and a partition whose last run failed waits for a person."""

import dagster as dg

from maskassets.defs.assets.checkpoint_file import checkpoint_file
from maskassets.defs.assets.source_videos import source_video

_input_changed = dg.AutomationCondition.any_deps_match(
    # will_be_requested lets one tick request a whole chain in one run instead of a hop per tick.
    dg.AutomationCondition.data_version_changed() | dg.AutomationCondition.will_be_requested()
)
_needs_build = (dg.AutomationCondition.missing() & ~dg.AutomationCondition.execution_failed()) | (
    dg.AutomationCondition.code_version_changed() | _input_changed
).since_last_handled()

keep_up_to_date = (
    _needs_build
    # Source videos and the checkpoint file are observed, never materialized: Dagster would count them as
    # missing forever.
    & ~dg.AutomationCondition.any_deps_missing().ignore(dg.AssetSelection.assets(source_video.key, checkpoint_file.key))
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("keep_up_to_date")

#: The cross-video table: rebuilt once the videos' summaries change and none is still being built, so a
#: backfill of many videos ends in one rebuild instead of one per video. Videos that failed (their summary
#: missing) do not hold it back.
refresh_after_videos_change = (
    (dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("refresh_after_videos_change")

#: Dagster's own automation sensor starts stopped; this one runs as soon as `dagster dev` starts.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "keep_videos_up_to_date",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes new, missing and stale partitions of every stage (see keep_up_to_date).",
)
