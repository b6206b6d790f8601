"""A Ray Data datasource over one stored parquet table, read row group by row group.

Ray's own ``read_parquet`` lists files in a task that always reserves a whole CPU; with an actor pool
that fills every CPU (2 actors on 2 CPUs) that task never starts and the run hangs. Reading our own
single-file tables needs no listing, so these read tasks can ask for no CPU at all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask
from upath import UPath

from maskassets.storage import ArtifactStore


class StoredTableDatasource(Datasource):
    def __init__(self, store: ArtifactStore, path: UPath, columns: Sequence[str]) -> None:
        super().__init__()
        self.store = store
        self.path = path
        self.columns = list(columns)
        with self._open() as parquet_file:
            metadata = parquet_file.metadata
            self.row_group_rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
            self.row_group_bytes = [metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)]

    def estimate_inmemory_data_size(self) -> int:
        return sum(self.row_group_bytes)

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, **_: object) -> list[ReadTask]:
        groups = list(range(len(self.row_group_rows)))
        task_count = max(1, min(parallelism, len(groups)))
        chunks = _contiguous(groups, task_count)
        return [
            ReadTask(
                lambda chunk=chunk: self._read_row_groups(chunk),
                BlockMetadata(
                    num_rows=sum(self.row_group_rows[i] for i in chunk),
                    size_bytes=sum(self.row_group_bytes[i] for i in chunk),
                    exec_stats=None,
                    input_files=(str(self.path),),
                ),
                per_task_row_limit=per_task_row_limit,
            )
            for chunk in chunks
            if chunk
        ]

    def _read_row_groups(self, row_groups: list[int]) -> Iterator[pa.Table]:
        with self._open() as parquet_file:
            for row_group in row_groups:
                yield parquet_file.read_row_group(row_group, columns=self.columns)

    def _open(self) -> pq.ParquetFile:
        filesystem, location = self.store.arrow_location(self.path)
        return pq.ParquetFile(filesystem.open_input_file(location))


def _contiguous(items: list[int], parts: int) -> list[list[int]]:
    size, remainder = divmod(len(items), parts)
    chunks, start = [], 0
    for part in range(parts):
        end = start + size + (1 if part < remainder else 0)
        chunks.append(items[start:end])
        start = end
    return chunks
