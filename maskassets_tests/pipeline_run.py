"""Helpers that run the real job against a real instance and read what it stored."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from maskassets.definitions import build_definitions
from maskassets.defs.partitions import video_partitions
from maskassets.parquet_io import read_parquet_table
from maskassets.storage import ArtifactStore


def register_and_run(instance: dg.DagsterInstance, partition_keys: list[str]) -> dict[str, dg.ExecuteInProcessResult]:
    """Register the partitions, then run the whole chain for each, as `maskassets update` does."""
    defs = build_definitions()
    instance.add_dynamic_partitions(video_partitions.name, partition_keys)
    job = defs.resolve_job_def("video_pipeline")
    return {key: job.execute_in_process(partition_key=key, instance=instance) for key in partition_keys}


def reused_by_stage(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {
        event.materialization.asset_key.to_user_string(): event.materialization.metadata["reused"].value
        for event in result.get_asset_materialization_events()
    }


def stored_table(store: ArtifactStore, stage: str, partition: str, file_name: str) -> pa.Table:
    manifest = store.require_manifest(stage, partition)
    return read_parquet_table(store, store.artifact_path(manifest, file_name))
