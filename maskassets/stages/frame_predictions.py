"""Run the detector over a video's stored frames with Ray Data and store every detection it returns."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import ray

from maskassets.batch.copied_frames_datasource import CopiedFramesDatasource
from maskassets.batch.datasource import FrameTableDatasource, TableRef
from maskassets.batch.progress import ProgressLog
from maskassets.batch.runner import ActorPoolSettings, ShardTarget, map_frame_table
from maskassets.model.detector_spec import DetectorSpec, Precision
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.schema import FRAMES_TABLE
from maskassets.storage.sharded_tables import ShardLayout, check_contiguous, iter_table_batches, table_rows

STAGE = "frame_predictions"
CODE_VERSION = "2"
#: Detections are small (100 boxes are about 2.5 KB): a few thousand frames make a shard of a few MB.
_ROWS_PER_SHARD = 4096


def predict_frames(
    store: ArtifactStore,
    *,
    frames: Manifest,
    checkpoint: Manifest,
    spec: DetectorSpec,
    pool: ActorPoolSettings,
    device: str,
    staged: StagedArtifact,
    layout: ShardLayout,
    precision: Precision = "fp32",
    frame_stride: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict:
    # torch loads here, in runs that infer, rather than with the definitions (UI, sensors, reruns that reuse).
    from maskassets.batch.detector_actor import FrameDetector

    refuse_emulated_precision(precision, device, pool)
    started = time.perf_counter()
    frame_count = table_rows(frames, FRAMES_TABLE)
    progress = ProgressLog(task=STAGE, total=frame_count, log=log)
    mapped = map_frame_table(
        store=store,
        source=frames_datasource(store, frames, every_nth=frame_stride),
        target=ShardTarget(
            store=store,
            directory=staged.directory,
            table=schema.PREDICTIONS_TABLE,
            table_schema=schema.FRAME_PREDICTIONS_SCHEMA,
            layout=layout,
            rows_per_shard=max(1, _ROWS_PER_SHARD // frame_stride),
            expand=StrideFiller(frame_stride, frame_count) if frame_stride > 1 else None,
        ),
        batch_class=FrameDetector,
        constructor_kwargs={
            "checkpoint_uri": str(store.artifact_path(checkpoint, schema.CHECKPOINT_FILE)),
            "spec": spec,
            "device": device,
            "torch_threads": max(1, int(pool.cpus_per_actor)),
            "precision": precision,
        },
        pool=pool,
        progress=progress,
    )
    staged.add_table(schema.PREDICTIONS_TABLE, [shard.as_dict() for shard in mapped.shards])
    written = check_contiguous(mapped.shards, table=schema.PREDICTIONS_TABLE)
    elapsed = time.perf_counter() - started
    summary = {
        "frame_count": written,
        "seconds": round(elapsed, 3),
        "frames_per_second": round(written / elapsed, 3) if elapsed else None,
        "ray_address": ray.get_runtime_context().gcs_address,
        "ray_nodes": sorted(mapped.nodes),
        "actors": mapped.actors,
        "read_tasks": mapped.read_tasks,
        "device": device if device != "auto" else ("cuda" if pool.resolved_gpus_per_actor() > 0 else "cpu"),
        "precision": precision,
        "frame_stride": frame_stride,
        "frames_through_the_model": -(-written // frame_stride),
    }
    summary.update(class_summary(store, staged.draft()))
    staged.metadata.update(summary)
    return summary


def frames_datasource(
    store: ArtifactStore, frames: Manifest, *, every_nth: int
) -> FrameTableDatasource | CopiedFramesDatasource:
    """The detector's input: the stored images, or the frames decoded from the source's copied packets."""
    if frames.segments:
        return CopiedFramesDatasource(store, frames, every_nth=every_nth)
    return FrameTableDatasource(
        store, TableRef(frames, FRAMES_TABLE, (schema.FRAME_INDEX, schema.IMAGE)), every_nth=every_nth
    )


def refuse_emulated_precision(precision: Precision, device: str, pool: ActorPoolSettings) -> None:
    """Before any frame is read: a reduced precision the detector actors' device would only emulate (slower than
    fp32) is refused, as found by a Ray task of the actors' shape on the cluster itself."""
    if precision == "fp32":
        return
    from maskassets.model.precision import PrecisionError

    probe = _precision_problem_on_worker.options(
        num_cpus=pool.cpus_per_actor, num_gpus=pool.resolved_gpus_per_actor()
    ).remote(precision, device)
    if problem := ray.get(probe):
        raise PrecisionError(
            f"The detector actors do not run {precision} natively: {problem}. Emulated, it runs slower than fp32; "
            "set `detector.precision` to fp32, or run the actors where it is native: bf16 on GPUs from Ampere on "
            "and CPUs with AVX-512 BF16 or AMX, fp16 on GPUs."
        )


@ray.remote(max_retries=0)
def _precision_problem_on_worker(precision: Precision, device: str) -> str | None:
    """Why the device a detector actor would get on this worker only emulates ``precision`` (None: native)."""
    from maskassets.batch.detector_actor import pick_device
    from maskassets.model.precision import cpu_flags, native_precision_problem

    resolved = pick_device(device)
    problem = native_precision_problem(precision, resolved, cpu_flags())
    return f"{problem} ({resolved.type} on node {ray.get_runtime_context().get_node_id()[:8]})" if problem else None


class StrideFiller:
    """Expands the detector's rows for every Nth frame into a row for every frame: each frame the stride skipped
    keeps the detections of the last frame the model saw, so the video keeps its boxes between them. Every
    batch expands on its own (a skipped frame's source is the row before it), so workers can write in parallel."""

    def __init__(self, frame_stride: int, frame_count: int) -> None:
        self.frame_stride = frame_stride
        self.frame_count = frame_count

    def __call__(self, detected: pa.Table) -> pa.Table:
        first_frames = detected[schema.FRAME_INDEX].to_numpy()
        repeats = np.minimum(self.frame_stride, self.frame_count - first_frames)
        expanded = detected.take(np.repeat(np.arange(detected.num_rows), repeats))
        frame_index = np.concatenate(
            [np.arange(first, first + count) for first, count in zip(first_frames, repeats, strict=True)]
        )
        return expanded.set_column(
            expanded.schema.get_field_index(schema.FRAME_INDEX), schema.FRAME_INDEX, pa.array(frame_index, pa.int64())
        )


def class_summary(store: ArtifactStore, predictions: Manifest) -> dict:
    """Per class: the stored detections and the frames with at least one."""
    detections: Counter[str] = Counter()
    frames_with: Counter[str] = Counter()
    for batch in iter_table_batches(store, predictions, schema.PREDICTIONS_TABLE, columns=[schema.CLASS_NAMES]):
        for names in batch.column(0).to_pylist():
            detections.update(names)
            frames_with.update(set(names))
    return {
        "detections": sum(detections.values()),
        "detections_per_class": dict(sorted(detections.items())),
        "frames_with_class": dict(sorted(frames_with.items())),
    }
