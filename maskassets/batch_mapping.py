"""Runs a Ray Data ``map_batches`` class over a stored parquet table and streams its output, in input
order, into another parquet table: memory stays bounded by a few batches whatever the video's length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import pyarrow as pa
import ray
import ray.data
from upath import UPath

from maskassets.parquet_datasource import StoredTableDatasource
from maskassets.progress import ProgressLog
from maskassets.storage import ArtifactStore

#: Read tasks are light; asking no CPU for them keeps an actor pool that fills every CPU from starving
#: the reads, which is how a pool of 2 on 2 CPUs deadlocks.
_READ_TASK_CPUS = 0.0


class TableSink(Protocol):
    rows_written: int

    def write(self, table: pa.Table) -> None: ...


@dataclass(frozen=True)
class ActorPoolSettings:
    """How many actors run the batch class, what each reserves, and how many rows each call gets."""

    #: Rows per call; unset: 4 on GPU actors, 1 on CPU ones (Faster R-CNN gains nothing from batching on a
    #: CPU, and single frames keep every actor busy to the end of a video).
    batch_size: int | None = None
    pool_size: int = 0
    cpus_per_actor: float = 1.0
    gpus_per_actor: float | None = None

    def resolved_gpus_per_actor(self) -> float:
        """``gpus_per_actor``, or when unset one GPU per actor if the cluster has any, else none."""
        if self.gpus_per_actor is not None:
            return self.gpus_per_actor
        return 1.0 if ray.cluster_resources().get("GPU", 0) >= 1 else 0.0

    def resolved_batch_size(self) -> int:
        if self.batch_size is not None:
            return self.batch_size
        return 4 if self.resolved_gpus_per_actor() > 0 else 1

    def resolved_pool_size(self) -> int:
        """``pool_size``, or when 0 as many actors as the cluster's CPUs (or GPUs, when actors use GPUs) hold."""
        if self.pool_size > 0:
            return self.pool_size
        resources = ray.cluster_resources()
        gpus_per_actor = self.resolved_gpus_per_actor()
        if gpus_per_actor > 0:
            return max(1, int(resources.get("GPU", 0) // gpus_per_actor))
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_actor))


def map_parquet_batches(
    *,
    store: ArtifactStore,
    source: UPath,
    writer: TableSink,
    batch_class: type,
    constructor_kwargs: dict[str, Any],
    pool: ActorPoolSettings,
    columns: list[str],
    progress: ProgressLog,
) -> int:
    """Feed the parquet rows at ``source`` through ``batch_class`` on an actor pool; returns rows written.

    An actor that dies (OOM killer, a lost node, kill -9) is restarted and its unfinished batches are
    retried on it: Ray Data's defaults for actor pools (``max_restarts=-1``, ``max_task_retries=-1``).
    """
    data_context = ray.data.DataContext.get_current()
    data_context.execution_options.preserve_order = True
    dataset = ray.data.read_datasource(StoredTableDatasource(store, source, columns), num_cpus=_READ_TASK_CPUS)
    mapped = dataset.map_batches(
        batch_class,
        fn_constructor_kwargs=constructor_kwargs,
        batch_size=pool.resolved_batch_size(),
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=pool.resolved_pool_size()),
        num_cpus=pool.cpus_per_actor,
        num_gpus=pool.resolved_gpus_per_actor(),
    )
    for table in mapped.iter_batches(batch_size=None, batch_format="pyarrow"):
        writer.write(table)
        progress.advance(table.num_rows)
    return writer.rows_written
