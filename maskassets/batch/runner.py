"""Runs a Ray Data ``map_batches`` class over a stored frame table and has Ray workers write its output, in
frame order, as the shards of another: memory stays bounded by a few batches whatever the video's length,
and no frame passes through the driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import ray
import ray.data
from upath import UPath

from maskassets.batch.copied_frames_datasource import CopiedFramesDatasource
from maskassets.batch.datasource import FrameTableDatasource
from maskassets.batch.progress import ProgressLog
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import FRAME_INDEX
from maskassets.storage.sharded_tables import Shard, ShardLayout, ShardWriter

#: Reading and writing shards is light next to the model or drawing; asking no CPU for those tasks keeps an
#: actor pool that fills every CPU from starving them, which is how a pool of 2 on 2 CPUs deadlocks.
_LIGHT_TASK_CPUS = 0.0
#: Rows read ahead of each actor, in batches, so that an actor never waits on a read.
_READ_AHEAD_BATCHES_PER_ACTOR = 4
#: Read tasks running at once for each actor, at least: one feeding it while the next reads ahead. As they ask for
#: no CPU, Ray Data would otherwise start one per segment at once, each in a worker process of its own, and the
#: running ones read on past the read-ahead (nine minutes of 720p: 60 processes alive against 22, 11 GiB spilled).
READ_TASKS_PER_ACTOR = 2
#: The most bytes of rows Ray Data puts in one block of what a read task yields (its default, 128 MiB, is 46 frames
#: of 720p): a running read task holds two blocks ahead of what the actors took, so the blocks stay a few frames.
_READ_BLOCK_BYTES = 32 * 2**20
#: The read-ahead's floor, whatever the video's length: at 256 MiB two CPU actors waited on Ray Data's
#: scheduling (frame_predictions 1.3x slower in bench/scale.py's 720p run), at 1 GiB as fast as unbounded.
MIN_READ_AHEAD_BYTES = 2**30
#: The share of Ray's object store the mapping's dataset may hold (Ray Data's own default with its per-operator
#: reservations), set on the dataset so that the store a read-ahead needs is known: the read-ahead over this share.
STORE_SHARE = 0.5


@dataclass(frozen=True)
class ActorPoolSettings:
    """How many actors run the batch class, what each reserves, and how many rows each call gets."""

    #: Rows per call; unset: 8 on GPU actors (bench/gpu_detector.py, an H200: 1.5-2x the frames/s of batch 1 at
    #: fp32, 2.1x at fp16, and 16 adds under 10 %), 1 on CPU ones (Faster R-CNN gains nothing from batching on a
    #: CPU, and single frames keep every actor busy to the end of a video).
    batch_size: int | None = None
    pool_size: int = 0
    cpus_per_actor: float = 1.0
    gpus_per_actor: float | None = None
    #: With ``pool_size`` unset, an actor starts only for at least this many batches: starting one (a Python
    #: process, its imports, the model's weights) costs seconds that a short video's few batches do not repay.
    min_batches_per_actor: int = 1

    def resolved_gpus_per_actor(self) -> float:
        """``gpus_per_actor``, or when unset one GPU per actor if the cluster has any, else none."""
        if self.gpus_per_actor is not None:
            return self.gpus_per_actor
        return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0

    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 8 if self.resolved_gpus_per_actor() > 0 else 1

    def resolved_pool_size(self, rows: int) -> int:
        """``pool_size``, or when 0 as many actors as the cluster's CPUs (or GPUs, when actors use GPUs) hold,
        but no more than give each ``min_batches_per_actor`` of the ``rows``' batches."""
        if self.pool_size > 0:
            return self.pool_size
        resources = ray.cluster_resources()
        gpus_per_actor = self.resolved_gpus_per_actor()
        if gpus_per_actor > 0:
            capacity = int(resources.get("GPU", 0) // gpus_per_actor)
        else:
            capacity = int(resources.get("CPU", 1) // self.cpus_per_actor)
        batches = -(-rows // self.resolved_batch_size())
        return max(1, min(capacity, batches // self.min_batches_per_actor))

    def resolved_read_tasks(self, actors: int) -> int:
        """How many read tasks feed ``actors`` at once: ``READ_TASKS_PER_ACTOR`` each, or as many as the cluster's
        CPUs the actors leave, when more (GPU actors leave most, and one read task decodes about 110 frames/s of
        1080p on one CPU, under what one GPU detects)."""
        spare = int(ray.cluster_resources().get("CPU", 0) - actors * self.cpus_per_actor)
        return max(READ_TASKS_PER_ACTOR * actors, spare)


@dataclass(frozen=True)
class ShardTarget:
    """Where the mapped rows go: a frame table of the staged folder, written by Ray workers in shards of about
    ``rows_per_shard`` rows; ``expand`` (optional, picklable) turns each written batch into the rows stored."""

    store: ArtifactStore
    directory: UPath
    table: str
    table_schema: pa.Schema
    layout: ShardLayout
    rows_per_shard: int
    expand: Callable[[pa.Table], pa.Table] | None = None


def map_frame_table(
    *,
    store: ArtifactStore,
    source: FrameTableDatasource | CopiedFramesDatasource,
    target: ShardTarget,
    batch_class: type,
    constructor_kwargs: dict[str, Any],
    pool: ActorPoolSettings,
    progress: ProgressLog,
) -> MappedTable:
    """Feed the rows of ``source`` through ``batch_class`` on an actor pool and have workers write its output,
    in frame order, as the shards of ``target``; the driver only sees each shard's record.

    An actor that dies (OOM killer, a lost node, kill -9) is restarted and its unfinished batches are
    retried on it: Ray Data's defaults for actor pools (``max_restarts=-1``, ``max_task_retries=-1``).
    """
    actors = pool.resolved_pool_size(source.row_count())
    read_tasks = pool.resolved_read_tasks(actors)
    rows = ray.data.read_datasource(source, num_cpus=_LIGHT_TASK_CPUS, concurrency=read_tasks)
    # This dataset (and only it: it holds its own copy of the DataContext) keeps the source's order, as
    # shards are numbered as they come back, and bounds its object store use: read tasks that ask for no CPU
    # otherwise decode far ahead of the actors, up to Ray Data's share of the object store.
    options = rows.context.execution_options
    options.preserve_order = True
    read_ahead = read_ahead_bytes(source, pool, actors)
    options.resource_limits = ray.data.ExecutionResources(object_store_memory=read_ahead)
    rows.context.target_max_block_size = _READ_BLOCK_BYTES
    rows.context.override_object_store_memory_limit_fraction = STORE_SHARE
    if shortfall := store_shortfall(read_ahead, actors):
        progress.note(shortfall)
    mapped = rows.map_batches(
        node_tagged(batch_class),
        fn_constructor_kwargs=constructor_kwargs,
        batch_size=pool.resolved_batch_size(),
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=pool.cpus_per_actor,
        num_gpus=pool.resolved_gpus_per_actor(),
    )
    written = mapped.map_batches(
        write_shards,
        fn_kwargs={"target": target},
        batch_size=target.rows_per_shard,
        batch_format="pyarrow",
        num_cpus=_LIGHT_TASK_CPUS,
    )
    result = MappedTable(actors=actors, read_tasks=read_tasks)
    for records in written.iter_batches(batch_size=None, batch_format="pyarrow"):
        for record in records.to_pylist():
            result.nodes.update(record.pop(_NODES))
            result.shards.append(Shard.from_dict(record))
            progress.advance(record["rows"])
    return result


def read_ahead_bytes(
    source: FrameTableDatasource | CopiedFramesDatasource, pool: ActorPoolSettings, actors: int
) -> int:
    """The object store the mapping may hold: ``_READ_AHEAD_BATCHES_PER_ACTOR`` batches of rows per actor."""
    row_bytes = source.estimate_inmemory_data_size() / max(1, source.row_count())
    rows = _READ_AHEAD_BATCHES_PER_ACTOR * pool.resolved_batch_size() * actors
    return max(MIN_READ_AHEAD_BYTES, int(rows * row_bytes))


def store_shortfall(read_ahead: int, actors: int) -> str | None:
    """What to tell the user when the cluster's object store is too small for ``read_ahead``: Ray Data would cut it
    to the store's share, and the actors would wait on reads."""
    store = ray.cluster_resources().get("object_store_memory", 0)
    if read_ahead <= STORE_SHARE * store:
        return None
    return (
        f"{actors} actor(s) read {read_ahead / 2**30:.1f} GiB of frames ahead, more than the "
        f"{STORE_SHARE * store / 2**30:.1f} GiB ({STORE_SHARE:.0%}) of Ray's object store a dataset may hold, so they "
        f"will wait on reads: give Ray a store of {read_ahead / STORE_SHARE / 2**30:.1f} GiB or more "
        "(MASKASSETS_RAY_OBJECT_STORE_MB for a local Ray, `ray start --object-store-memory` on a cluster's nodes)."
    )


def node_tagged(batch_class: type) -> type:
    """``batch_class`` under its own name (the one Ray gives its actors), with its output rows tagged with the
    Ray node that ran it, for the stage's metadata."""
    return type(batch_class.__name__, (_NodeTagging, batch_class), {})


class _NodeTagging:
    def __call__(self, batch: dict[str, Any]) -> pa.Table:
        rows = super().__call__(batch)
        node_id = ray.get_runtime_context().get_node_id()
        return rows.append_column(_NODES, pa.array([node_id] * rows.num_rows, pa.string()))


@dataclass
class MappedTable:
    actors: int
    #: The most read tasks allowed to run at once.
    read_tasks: int
    shards: list[Shard] = field(default_factory=list)
    #: The Ray nodes whose workers mapped the rows or wrote the shards.
    nodes: set[str] = field(default_factory=set)


_NODES = "ray_nodes"


def write_shards(batch: pa.Table, *, target: ShardTarget) -> pa.Table:
    """Runs on a Ray worker: writes one batch of mapped rows as shards and returns their records."""
    rows = target.expand(batch) if target.expand is not None else batch
    first_frame = int(rows[FRAME_INDEX][0].as_py())
    with ShardWriter(
        target.store,
        target.directory,
        table=target.table,
        name=f"part-{first_frame:012d}",
        table_schema=target.table_schema,
        layout=target.layout,
    ) as writer:
        writer.write(rows)
    nodes = sorted({*batch[_NODES].to_pylist(), ray.get_runtime_context().get_node_id()})
    return pa.Table.from_pylist([{**shard.as_dict(), _NODES: nodes} for shard in writer.shards])
