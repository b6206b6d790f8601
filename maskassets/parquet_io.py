"""Streaming parquet reads and writes on any artifact-store path (local or S3)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import TracebackType

import pyarrow as pa
import pyarrow.parquet as pq
from upath import UPath

from maskassets.storage import ArtifactStore


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


def iter_parquet_batches(
    store: ArtifactStore, path: UPath, *, columns: Sequence[str] | None = None, batch_size: int = 64
) -> Iterator[pa.RecordBatch]:
    """Record batches of ``path`` in file order, reading one batch at a time."""
    filesystem, location = store.arrow_location(path)
    with filesystem.open_input_file(location) as stream:
        parquet_file = pq.ParquetFile(stream)
        yield from parquet_file.iter_batches(batch_size=batch_size, columns=list(columns) if columns else None)


def read_parquet_table(store: ArtifactStore, path: UPath, *, columns: Sequence[str] | None = None) -> pa.Table:
    filesystem, location = store.arrow_location(path)
    return pq.read_table(location, filesystem=filesystem, columns=list(columns) if columns else None)
