"""Frame tables stored as parquet shards: each written by the worker that made its rows, bounded in bytes,
listed in the manifest with the frames it holds, and read back in frame order through one API.

A shard is named by the writer that made it (``<table>/<name>.parquet``), so a retried writer overwrites
its own file instead of adding a second copy. Row groups are sized by bytes rather than rows, so one read
unit is about the same size at 176x144 and at 1080p.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace

import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
from upath import UPath

from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest

#: Room left in a shard for the parquet footer: the bound holds for the whole file, footer included.
_FOOTER_BYTES = 4096
_FOOTER_BYTES_PER_ROW_GROUP = 1024


@dataclass(frozen=True)
class ShardLayout:
    """How big one shard file and one row group may get."""

    max_shard_bytes: int = 512 * 2**20
    row_group_bytes: int = 32 * 2**20

    def __post_init__(self) -> None:
        if not 0 < self.row_group_bytes <= self.max_shard_bytes:
            raise ValueError(
                f"row groups of {self.row_group_bytes} bytes do not fit shards of {self.max_shard_bytes} bytes"
            )


@dataclass(frozen=True)
class Shard:
    """One stored file of a frame table: frames ``first_frame`` .. ``first_frame + rows - 1``."""

    file: str
    first_frame: int
    rows: int
    bytes: int
    row_group_rows: list[int] = field(default_factory=list)

    @classmethod
    def from_dict(cls, record: dict) -> Shard:
        return cls(**record)

    def as_dict(self) -> dict:
        return asdict(self)


def shards_of(manifest: Manifest, table: str) -> list[Shard]:
    """The shards of ``table`` in ``manifest``, in frame order."""
    try:
        records = manifest.tables[table]
    except KeyError:
        raise FileNotFoundError(
            f"The '{manifest.stage}' artifact of '{manifest.partition}' holds no '{table}' table "
            f"(it holds {sorted(manifest.tables) or 'none'}); materialize '{manifest.stage}' again."
        ) from None
    return sorted((Shard.from_dict(record) for record in records), key=lambda shard: shard.first_frame)


def table_rows(manifest: Manifest, table: str) -> int:
    return sum(shard.rows for shard in shards_of(manifest, table))


class ShardWriter:
    """Appends rows, already in frame order, to ``<directory>/<table>/<name>-NNN.parquet`` files, starting a
    new file before one would pass ``layout.max_shard_bytes``; ``close`` returns what it wrote."""

    def __init__(
        self,
        store: ArtifactStore,
        directory: UPath,
        *,
        table: str,
        name: str,
        table_schema: pa.Schema,
        layout: ShardLayout,
    ) -> None:
        self.store = store
        self.directory = directory
        self.table = table
        self.name = name
        self.schema = table_schema
        self.layout = layout
        self.shards: list[Shard] = []
        self._pending: list[pa.Table] = []
        self._pending_bytes = 0
        self._file: _OpenShard | None = None

    def write(self, rows: pa.Table) -> None:
        for row_slice in _slices_under(rows.select(self.schema.names).cast(self.schema), self.layout.row_group_bytes):
            if self._pending_bytes + row_slice.nbytes > self.layout.row_group_bytes:
                self._flush_row_group()
            self._pending.append(row_slice)
            self._pending_bytes += row_slice.nbytes

    def close(self) -> list[Shard]:
        self._flush_row_group()
        self._close_file()
        return self.shards

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        elif self._file is not None:
            self._file.abandon()

    def _flush_row_group(self) -> None:
        if not self._pending:
            return
        group = pa.concat_tables(self._pending)
        self._pending, self._pending_bytes = [], 0
        if self._file is not None and not self._file.fits(group.nbytes, self.layout.max_shard_bytes):
            self._close_file()
        if self._file is None:
            relative = f"{self.table}/{self.name}-{len(self.shards):03d}.parquet"
            self._file = _OpenShard(self.store, self.directory, relative, self.schema)
        self._file.write(group)

    def _close_file(self) -> None:
        if self._file is not None:
            self.shards.append(self._file.close())
            self._file = None


class _OpenShard:
    def __init__(self, store: ArtifactStore, directory: UPath, relative: str, table_schema: pa.Schema) -> None:
        self.relative = relative
        path = directory / relative
        filesystem, location = store.arrow_location(path)
        filesystem.create_dir(location.rsplit("/", 1)[0], recursive=True)
        self._stream = filesystem.open_output_stream(location)
        self._writer = pq.ParquetWriter(self._stream, table_schema, compression="zstd")
        self.first_frame: int | None = None
        self.row_group_rows: list[int] = []
        self._last_group_bytes = 0

    def fits(self, group_bytes: int, max_bytes: int) -> bool:
        footer = _FOOTER_BYTES + _FOOTER_BYTES_PER_ROW_GROUP * (len(self.row_group_rows) + 1)
        # The writer may still hold the last row group's pages (it flushes them when the next group or the
        # footer starts): count them as not yet in the stream.
        return self._stream.tell() + self._last_group_bytes + group_bytes + footer <= max_bytes

    def write(self, group: pa.Table) -> None:
        if self.first_frame is None:
            self.first_frame = int(group.column(schema.FRAME_INDEX)[0].as_py())
        self._writer.write_table(group, row_group_size=group.num_rows)
        self.row_group_rows.append(group.num_rows)
        self._last_group_bytes = group.nbytes

    def close(self) -> Shard:
        self._writer.close()
        size = self._stream.tell()
        self._stream.close()
        return Shard(
            file=self.relative,
            first_frame=self.first_frame or 0,
            rows=sum(self.row_group_rows),
            bytes=size,
            row_group_rows=self.row_group_rows,
        )

    def abandon(self) -> None:
        """Close a file given up half-way (its folder is never committed) without a footer's worth of noise."""
        with suppress(OSError, ValueError):
            self._writer.close()
        self._stream.close()


def _slices_under(rows: pa.Table, max_bytes: int) -> Iterator[pa.Table]:
    """``rows`` cut into runs of consecutive rows of at most ``max_bytes`` each (a single larger row alone)."""
    start, size = 0, 0
    row_bytes = [rows.slice(i, 1).nbytes for i in range(rows.num_rows)] if rows.nbytes > max_bytes else None
    if row_bytes is None:
        if rows.num_rows:
            yield rows
        return
    for i, nbytes in enumerate(row_bytes):
        if size and size + nbytes > max_bytes:
            yield rows.slice(start, i - start)
            start, size = i, 0
        size += nbytes
    if start < rows.num_rows:
        yield rows.slice(start)


def check_contiguous(shards: Sequence[Shard], *, table: str) -> int:
    """The frame count of ``shards`` if they cover 0..n-1 without a gap or an overlap, else a ValueError."""
    expected = 0
    for shard in sorted(shards, key=lambda shard: shard.first_frame):
        if shard.first_frame != expected:
            raise ValueError(
                f"the shards of '{table}' do not line up: {shard.file} starts at frame {shard.first_frame}, "
                f"frame {expected} was expected"
            )
        expected += shard.rows
    return expected


def iter_table_batches(
    store: ArtifactStore,
    manifest: Manifest,
    table: str,
    *,
    columns: Sequence[str] | None = None,
    first_frame: int = 0,
    end_frame: int | None = None,
) -> Iterator[pa.Table]:
    """The rows of ``table`` in frame order, a row group at a time; with ``first_frame``/``end_frame`` only
    the row groups that hold frames in that range are read (and the rows outside it dropped)."""
    for shard in shards_of(manifest, table):
        shard_end = shard.first_frame + shard.rows
        if shard_end <= first_frame or (end_frame is not None and shard.first_frame >= end_frame):
            continue
        path = store.artifact_path(manifest, shard.file)
        filesystem, location = store.arrow_location(path)
        with filesystem.open_input_file(location) as stream:
            parquet_file = pq.ParquetFile(stream)
            group_first = shard.first_frame
            for group, rows in enumerate(shard.row_group_rows):
                group_end = group_first + rows
                if group_end > first_frame and (end_frame is None or group_first < end_frame):
                    batch = parquet_file.read_row_group(group, columns=list(columns) if columns else None)
                    yield _within(batch, group_first, first_frame, end_frame)
                group_first = group_end


def read_table(
    store: ArtifactStore, manifest: Manifest, table: str, *, columns: Sequence[str] | None = None
) -> pa.Table:
    """A whole frame table; for small columns (frame_index, pts_seconds, detections), never images of a video."""
    batches = list(iter_table_batches(store, manifest, table, columns=columns))
    if not batches:
        raise ValueError(f"the '{table}' table of '{manifest.partition}' holds no rows")
    return pa.concat_tables(batches)


def _within(batch: pa.Table, group_first: int, first_frame: int, end_frame: int | None) -> pa.Table:
    start = max(0, first_frame - group_first)
    stop = batch.num_rows if end_frame is None else min(batch.num_rows, end_frame - group_first)
    return batch if (start, stop) == (0, batch.num_rows) else batch.slice(start, stop - start)


def renumber(store: ArtifactStore, directory: UPath, shard: Shard, shift: int) -> Shard:
    """Rewrite ``shard`` in place with every frame_index moved by ``shift`` (a staged shard, not yet committed)."""
    filesystem, location = store.arrow_location(directory / shard.file)
    with filesystem.open_input_file(location) as stream:
        parquet_file = pq.ParquetFile(stream)
        groups = [parquet_file.read_row_group(group) for group in range(parquet_file.metadata.num_row_groups)]
    with filesystem.open_output_stream(location) as stream:
        writer = pq.ParquetWriter(stream, groups[0].schema, compression="zstd")
        for group in groups:
            position = group.schema.get_field_index(schema.FRAME_INDEX)
            moved = pyarrow.compute.add(group.column(position), shift)
            renumbered = group.set_column(position, group.schema.field(position), moved)
            writer.write_table(renumbered, row_group_size=group.num_rows)
        writer.close()
        size = stream.tell()
    return replace(shard, first_frame=shard.first_frame + shift, bytes=size)
