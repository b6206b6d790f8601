"""Streaming parquet reads and writes on any artifact-store path (local or S3)."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from maskassets.storage.artifact_store import ArtifactStore


class ParquetTableWriter:
    """Appends tables of one schema to a parquet file as row groups; use it as a context manager."""

    def __init__(self, store: ArtifactStore, path: UPath, schema: pa.Schema) -> None:
        filesystem, location = store.arrow_location(path)
        self.schema = schema
        self.rows_written = 0
        self._writer = pq.ParquetWriter(location, schema, filesystem=filesystem, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table.select(self.schema.names).cast(self.schema))
            self.rows_written += table.num_rows

    def __enter__(self) -> ParquetTableWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._writer.close()


def read_parquet_table(store: ArtifactStore, path: UPath, *, columns: Sequence[str] | None = None) -> pa.Table:
    filesystem, location = store.arrow_location(path)
    return pq.read_table(location, filesystem=filesystem, columns=list(columns) if columns else None)
