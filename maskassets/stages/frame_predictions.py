"""Run the detector over a video's stored frames with Ray Data and store every detection it returns."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pyarrow as pa
import ray
from upath import UPath

from maskassets import schema
from maskassets.batch_mapping import ActorPoolSettings, TableSink, map_parquet_batches
from maskassets.detector_spec import DetectorSpec, Precision
from maskassets.parquet_io import ParquetTableWriter, iter_parquet_batches
from maskassets.progress import ProgressLog
from maskassets.stages.model_checkpoint import CHECKPOINT_FILE
from maskassets.stages.video_frames import FRAMES_FILE
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact

STAGE = "frame_predictions"
CODE_VERSION = "1"
PREDICTIONS_FILE = "predictions.parquet"


def predict_frames(
    store: ArtifactStore,
    *,
    frames: Manifest,
    checkpoint: Manifest,
    spec: DetectorSpec,
    pool: ActorPoolSettings,
    device: str,
    staged: StagedArtifact,
    precision: Precision = "fp32",
    frame_stride: int = 1,
    log: Callable[[str], None] | None = None,
) -> dict:
    # torch loads here, in runs that infer, rather than with the definitions (UI, sensors, reruns that reuse).
    from maskassets.predictor import FrameDetector

    started = time.perf_counter()
    progress = ProgressLog(task=STAGE, total=frames.metadata["frame_count"], log=log)
    target = staged.path(PREDICTIONS_FILE)
    with ParquetTableWriter(store, target, schema.FRAME_PREDICTIONS_SCHEMA) as writer:
        map_parquet_batches(
            store=store,
            source=store.artifact_path(frames, FRAMES_FILE),
            writer=writer if frame_stride == 1 else SkippedFramesFiller(writer),
            batch_class=FrameDetector,
            constructor_kwargs={
                "checkpoint_uri": str(store.artifact_path(checkpoint, CHECKPOINT_FILE)),
                "spec": spec,
                "device": device,
                "torch_threads": max(1, int(pool.cpus_per_actor)),
                "precision": precision,
                "frame_stride": frame_stride,
            },
            pool=pool,
            columns=[schema.FRAME_INDEX, schema.IMAGE],
            progress=progress,
        )
    elapsed = time.perf_counter() - started
    summary = {
        "frame_count": writer.rows_written,
        "seconds": round(elapsed, 3),
        "frames_per_second": round(writer.rows_written / elapsed, 3) if elapsed else None,
        "ray_address": ray.get_runtime_context().gcs_address,
        "actors": pool.resolved_pool_size(),
        "device": device if device != "auto" else ("cuda" if pool.resolved_gpus_per_actor() > 0 else "cpu"),
        "precision": precision,
        "frame_stride": frame_stride,
        "frames_through_the_model": -(-writer.rows_written // frame_stride),
    }
    summary.update(class_summary(store, target))
    staged.metadata.update(summary)
    return summary


class SkippedFramesFiller:
    """Writes the detector's rows in frame order, giving each frame the stride skipped the detections of
    the last frame the model saw, so the video keeps its boxes between detected frames."""

    _CARRIED = (schema.BOXES, schema.LABELS, schema.SCORES, schema.CLASS_NAMES)

    def __init__(self, writer: TableSink) -> None:
        self.writer = writer
        self._carried: dict | None = None

    @property
    def rows_written(self) -> int:
        return self.writer.rows_written

    def write(self, table: pa.Table) -> None:
        rows = table.to_pylist()
        for row in rows:
            if row[schema.DETECTED]:
                self._carried = {column: row[column] for column in self._CARRIED}
            elif self._carried is not None:
                row.update(self._carried)
        self.writer.write(pa.Table.from_pylist(rows, schema=table.schema))


def class_summary(store: ArtifactStore, predictions_path: UPath) -> dict:
    """Per class: the stored detections and the frames with at least one."""
    detections: Counter[str] = Counter()
    frames_with: Counter[str] = Counter()
    for batch in iter_parquet_batches(store, predictions_path, columns=[schema.CLASS_NAMES]):
        for names in batch.column(0).to_pylist():
            detections.update(names)
            frames_with.update(set(names))
    return {
        "detections": sum(detections.values()),
        "detections_per_class": dict(sorted(detections.items())),
        "frames_with_class": dict(sorted(frames_with.items())),
    }
