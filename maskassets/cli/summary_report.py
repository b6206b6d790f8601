"""The table across videos as text for a terminal: one line per video and class."""

from __future__ import annotations

import pyarrow as pa

from maskassets.stages import videos_mask_summary
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.parquet_io import read_parquet_table

_HEADER = ("video", "class", "faces", "frames", "share", "first seen (s)", "last seen (s)")


def stored_summary(store: ArtifactStore) -> pa.Table:
    manifest = store.require_manifest(videos_mask_summary.STAGE)
    return read_parquet_table(store, store.artifact_path(manifest, schema.VIDEOS_SUMMARY_FILE))


def summary_lines(table: pa.Table) -> list[str]:
    rows = [_HEADER] + [
        (
            row[schema.VIDEO],
            row[schema.CLASS_NAME],
            "-" if row[schema.DISTINCT_TRACKS] is None else str(row[schema.DISTINCT_TRACKS]),
            str(row[schema.FRAMES_WITH_CLASS]),
            f"{row[schema.SHARE_OF_FRAMES]:.1%}",
            _seconds(row[schema.FIRST_SEEN_SECONDS]),
            _seconds(row[schema.LAST_SEEN_SECONDS]),
        )
        for row in table.to_pylist()
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_HEADER))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
