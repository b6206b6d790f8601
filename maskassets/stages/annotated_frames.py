"""Draw the stored detections on the stored frames with Ray Data, joined by frame_index."""

from __future__ import annotations

from collections.abc import Callable

from maskassets import schema
from maskassets.annotate import BoxAnnotator
from maskassets.batch_mapping import ActorPoolSettings, map_parquet_batches
from maskassets.frame_annotator import FrameAnnotatorBatch
from maskassets.parquet_io import ParquetTableWriter
from maskassets.progress import ProgressLog
from maskassets.stages.frame_predictions import PREDICTIONS_FILE
from maskassets.stages.video_frames import FRAMES_FILE
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact

STAGE = "annotated_frames"
CODE_VERSION = "1"
ANNOTATED_FILE = "annotated.parquet"


def annotate_frames(
    store: ArtifactStore,
    *,
    frames: Manifest,
    predictions: Manifest,
    annotator: BoxAnnotator,
    pool: ActorPoolSettings,
    staged: StagedArtifact,
    log: Callable[[str], None] | None = None,
) -> dict:
    progress = ProgressLog(task=STAGE, total=frames.metadata["frame_count"], log=log)
    target = staged.path(ANNOTATED_FILE)
    with ParquetTableWriter(store, target, schema.ANNOTATED_FRAMES_SCHEMA) as writer:
        map_parquet_batches(
            store=store,
            source=store.artifact_path(frames, FRAMES_FILE),
            writer=writer,
            batch_class=FrameAnnotatorBatch,
            constructor_kwargs={
                "store": store,
                "predictions_path": store.artifact_path(predictions, PREDICTIONS_FILE),
                "annotator": annotator,
            },
            pool=pool,
            columns=list(schema.VIDEO_FRAMES_SCHEMA.names),
            progress=progress,
        )
    summary = {
        "frame_count": writer.rows_written,
        "threshold": annotator.threshold,
        # The encoder needs the source's geometry and rate; carrying them here keeps it reading one stage.
        **{key: frames.metadata[key] for key in ("fps", "width", "height")},
    }
    staged.metadata.update(summary)
    return summary
