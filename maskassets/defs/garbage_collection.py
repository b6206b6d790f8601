"""The job and the daily schedule that collect the artifact store's unreferenced folders (garbage.py), and
which partitions a run in progress may be reading."""

import dagster as dg

from maskassets.defs.resources import ArtifactStoreResource
from maskassets.storage.artifact_store import UNPARTITIONED
from maskassets.storage.garbage import collect_garbage

#: A run in one of these may still read any commit of its partition.
_LIVE_STATUSES = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def busy_partitions(instance: dg.DagsterInstance) -> set[str]:
    """The partitions of every run in progress; UNPARTITIONED for a run of no partition (the table across
    videos)."""
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=_LIVE_STATUSES))
    return {run.tags.get("dagster/partition", UNPARTITIONED) for run in runs}


@dg.op(description="Removes the artifact folders no manifest names, once older than the grace period.")
def collect_artifact_garbage(context: dg.OpExecutionContext, artifacts: ArtifactStoreResource) -> None:
    collection = collect_garbage(
        artifacts.store(),
        grace_seconds=artifacts.gc_grace_hours * 3600,
        busy_partitions=busy_partitions(context.instance),
    )
    for line in collection.lines():
        context.log.info(line)
    context.add_output_metadata(
        {
            "freed_bytes": collection.freed_bytes,
            "removed": dg.MetadataValue.json([garbage.location for garbage in collection.removed]),
            "kept_recent": len(collection.kept_recent),
            "kept_busy": len(collection.kept_busy),
        }
    )


@dg.job(description="Collects the artifact store's garbage (`maskassets gc` does the same from a shell).")
def artifact_gc():
    collect_artifact_garbage()


artifact_gc_schedule = dg.ScheduleDefinition(
    job=artifact_gc,
    cron_schedule="17 3 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night: removes artifact folders no manifest names, older than MASKASSETS_GC_GRACE_HOURS.",
)
