"""Draw the stored detections on the stored frames with Ray Data, joined by frame_index."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
from upath import UPath

from maskassets import schema
from maskassets.annotate import BoxAnnotator
from maskassets.batch_mapping import ActorPoolSettings, map_parquet_batches
from maskassets.detections import Detections, detections_by_frame
from maskassets.frame_codec import decode_frame, encode_frame
from maskassets.parquet_io import ParquetTableWriter, read_parquet_table
from maskassets.progress import ProgressLog
from maskassets.stages.frame_predictions import PREDICTIONS_FILE
from maskassets.stages.video_frames import FRAMES_FILE
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact

STAGE = "annotated_frames"
CODE_VERSION = "1"
ANNOTATED_FILE = "annotated.parquet"


class FrameAnnotatorBatch:
    """Loads a video's detections above the threshold once per worker, then draws them batch by batch."""

    def __init__(self, *, store: ArtifactStore, predictions_path: UPath, annotator: BoxAnnotator) -> None:
        predictions = read_parquet_table(
            store, predictions_path, columns=[schema.FRAME_INDEX, schema.BOXES, schema.LABELS, schema.SCORES]
        )
        self.detections = {
            index: found.above(annotator.threshold) for index, found in detections_by_frame(predictions).items()
        }
        self.annotator = annotator

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        images = []
        for index, png in zip(batch[schema.FRAME_INDEX], batch[schema.IMAGE], strict=True):
            found = self.detections.get(int(index), Detections.empty())
            frame = decode_frame(png)
            images.append(encode_frame(self.annotator.annotate(frame, found)) if len(found) else png)
        return pa.Table.from_pydict(
            {
                schema.FRAME_INDEX: batch[schema.FRAME_INDEX],
                schema.PTS_SECONDS: batch[schema.PTS_SECONDS],
                schema.WIDTH: batch[schema.WIDTH],
                schema.HEIGHT: batch[schema.HEIGHT],
                schema.IMAGE: images,
            },
            schema=schema.ANNOTATED_FRAMES_SCHEMA,
        )


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
