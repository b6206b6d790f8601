"""Every video's per-class summary in one table, for comparing videos and for queries across them."""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.parquet_io import ParquetTableWriter, read_parquet_table

STAGE = "videos_mask_summary"
CODE_VERSION = "2"


def combine_summaries(
    store: ArtifactStore, *, summaries: Mapping[str, Manifest | None], staged: StagedArtifact
) -> pa.Table:
    """One row per video and class from each video's mask_summary manifest; videos without one yet are
    listed in the metadata as ``videos_without_summary``."""
    tables, without_summary = [], []
    for video, manifest in sorted(summaries.items()):
        if manifest is None:
            without_summary.append(video)
            continue
        summary = read_parquet_table(store, store.artifact_path(manifest, schema.MASK_SUMMARY_FILE))
        # A summary made before a column existed gets it empty.
        rows = [{schema.VIDEO: video, **row} for row in summary.to_pylist()]
        tables.append(pa.Table.from_pylist(rows, schema=schema.VIDEOS_MASK_SUMMARY_SCHEMA))
    combined = pa.concat_tables(tables) if tables else (schema.VIDEOS_MASK_SUMMARY_SCHEMA.empty_table())
    with ParquetTableWriter(
        store, staged.path(schema.VIDEOS_SUMMARY_FILE), schema.VIDEOS_MASK_SUMMARY_SCHEMA
    ) as writer:
        writer.write(combined)
    staged.metadata.update({"videos": len(tables), "videos_without_summary": without_summary})
    return combined
