"""A Ray Data datasource over a stored frame table's shards, read row group by row group, optionally thinned to
every Nth frame.

Ray's own ``read_parquet`` lists files in a task that always reserves a whole CPU; with an actor pool that
fills every CPU (2 actors on 2 CPUs) that task never starts and the run hangs. The manifest already lists
every shard and row group, so these read tasks need no listing and can ask for no CPU at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.sharded_tables import shards_of


@dataclass(frozen=True)
class TableRef:
    """Columns of one stored frame table."""

    manifest: Manifest
    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class _RowGroup:
    file: str
    group: int
    first_frame: int
    rows: int
    approximate_bytes: int


class FrameTableDatasource(Datasource):
    def __init__(self, store: ArtifactStore, source: TableRef, *, every_nth: int = 1) -> None:
        super().__init__()
        self.store = store
        self.source = source
        self.every_nth = every_nth
        self.row_groups = [
            _RowGroup(shard.file, group, first, rows, shard.bytes * rows // max(shard.rows, 1))
            for shard in shards_of(source.manifest, source.table)
            for group, (first, rows) in enumerate(_group_spans(shard.first_frame, shard.row_group_rows))
        ]

    def row_count(self) -> int:
        """How many rows the read tasks yield in all."""
        return sum(self._rows_read(group) for group in self.row_groups)

    def estimate_inmemory_data_size(self) -> int:
        return sum(group.approximate_bytes for group in self.row_groups)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, **_: object) -> list[ReadTask]:
        task_count = max(1, min(parallelism, len(self.row_groups)))
        return [
            ReadTask(
                lambda chunk=chunk: self._read(chunk),
                BlockMetadata(
                    num_rows=sum(self._rows_read(group) for group in chunk),
                    size_bytes=sum(group.approximate_bytes for group in chunk),
                    exec_stats=None,
                    input_files=tuple(sorted({group.file for group in chunk})),
                ),
                per_task_row_limit=per_task_row_limit,
            )
            for chunk in contiguous(self.row_groups, task_count)
            if chunk
        ]

    def _rows_read(self, group: _RowGroup) -> int:
        return -(-group.rows // self.every_nth)

    def _read(self, row_groups: list[_RowGroup]) -> Iterator[pa.Table]:
        for group in row_groups:
            path = self.store.artifact_path(self.source.manifest, group.file)
            filesystem, location = self.store.arrow_location(path)
            with filesystem.open_input_file(location) as stream:
                rows = pq.ParquetFile(stream).read_row_group(group.group, columns=list(self.source.columns))
            if self.every_nth > 1:
                rows = rows.filter(pa.array(rows[schema.FRAME_INDEX].to_numpy() % self.every_nth == 0))
            yield rows


def _group_spans(first_frame: int, row_group_rows: Sequence[int]) -> Iterator[tuple[int, int]]:
    for rows in row_group_rows:
        yield first_frame, rows
        first_frame += rows


def contiguous(items: list, parts: int) -> list[list]:
    size, remainder = divmod(len(items), parts)
    chunks, start = [], 0
    for part in range(parts):
        end = start + size + (1 if part < remainder else 0)
        chunks.append(items[start:end])
        start = end
    return chunks
