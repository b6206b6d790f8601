"""Helpers that run the real job against a real instance and read what it stored."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa

from maskassets.definitions import build_definitions
from maskassets.defs.checkpoint_sensor import checkpoint_sensor
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import VideoFolderResource
from maskassets.defs.sensors import new_videos_sensor
from maskassets.defs.settings import Settings
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.parquet_io import read_parquet_table
from maskassets.storage.sharded_tables import read_table
from maskassets_tests.support.media import decode_rgb_frames


def register_and_run(instance: dg.DagsterInstance, partition_keys: list[str]) -> dict[str, dg.ExecuteInProcessResult]:
    """Register the partitions, then run the whole chain for each, as `maskassets update` does."""
    defs = build_definitions()
    instance.add_dynamic_partitions(video_partitions.name, partition_keys)
    job = defs.resolve_job_def("video_pipeline")
    return {key: job.execute_in_process(partition_key=key, instance=instance) for key in partition_keys}


def materialize_only(instance: dg.DagsterInstance, partition_key: str, assets: list[str]) -> dg.ExecuteInProcessResult:
    """Only ``assets`` of the video's chain materialized, as `--select` does; failures are returned."""
    return (
        build_definitions()
        .resolve_job_def("video_pipeline")
        .execute_in_process(
            partition_key=partition_key,
            instance=instance,
            asset_selection=[dg.AssetKey(asset) for asset in assets],
            raise_on_error=False,
        )
    )


def step_failure(result: dg.ExecuteInProcessResult) -> str:
    """The error of the run's one failed step."""
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    return failure.step_failure_data.error.to_string()


def logged_messages(
    instance: dg.DagsterInstance, results: list[dg.ExecuteInProcessResult], containing: str
) -> list[str]:
    """What the runs' stages logged (``context.log``), in order, that contains ``containing``."""
    return [
        record.user_message
        for result in results
        for record in instance.all_logs(result.run_id)
        if containing in record.user_message
    ]


def reused_by_stage(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        event.materialization.asset_key.to_user_string(): event.materialization.metadata["reused"].value
        for event in result.get_asset_materialization_events()
    }


def stored_table(store: ArtifactStore, stage: str, partition: str, table: str) -> pa.Table:
    """A whole frame table (all its shards, in frame order)."""
    return read_table(store, store.require_manifest(stage, partition), table)


def annotated_segments(store: ArtifactStore, partition: str) -> list[list[np.ndarray]]:
    """The decoded frames of each of annotated_frames' segments (a local store's), in order."""
    manifest = store.require_manifest("annotated_frames", partition)
    return [
        decode_rgb_frames(Path(store.artifact_path(manifest, segment["file"]).path)) for segment in manifest.segments
    ]


def stored_parquet(store: ArtifactStore, stage: str, partition: str | None, file_name: str) -> pa.Table:
    """One parquet file of an artifact (the summaries)."""
    manifest = store.require_manifest(stage, partition)
    return read_parquet_table(store, store.artifact_path(manifest, file_name))


def sensor_tick(
    instance: dg.DagsterInstance, folder: str, cursor: str | None, *, settle_seconds: float = 0.0
) -> dg.SensorResult:
    """One evaluation of the sensor, applied to the instance the way the sensor daemon applies it; files are
    taken at first sight unless ``settle_seconds`` asks them to stop changing first."""
    videos = VideoFolderResource(location=folder, settle_seconds=settle_seconds)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"videos": videos})
    result = new_videos_sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def checkpoint_tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    """One evaluation of checkpoint_sensor under the MASKASSETS_* settings, applied to the instance."""
    detector = Settings.from_environment().resolved().detector
    result = checkpoint_sensor(
        dg.build_sensor_context(instance=instance, cursor=cursor, resources={"detector": detector})
    )
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def stale_statuses(instance: dg.DagsterInstance, partition: str) -> dict[str, str]:
    """What the UI shows for the checkpoint and one partition's video stages under the settings set right now."""
    from dagster._core.asset_graph_view.asset_graph_view import AssetGraphView, TemporalContext
    from dagster._core.definitions.data_version import CachingStaleStatusResolver
    from dagster._time import get_current_datetime

    graph = build_definitions().resolve_asset_graph()
    view = AssetGraphView(
        temporal_context=TemporalContext(effective_dt=get_current_datetime(), last_event_id=None),
        instance=instance,
        asset_graph=graph,
    )
    resolver = CachingStaleStatusResolver(instance=instance, asset_graph=graph, loading_context=view)
    return {"model_checkpoint": resolver.get_status(dg.AssetKey("model_checkpoint")).name} | {
        stage: resolver.get_status(dg.AssetKey(stage), partition).name
        for stage in ("video_frames", "frame_predictions", "annotated_frames")
    }
