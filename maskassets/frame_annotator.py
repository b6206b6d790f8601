"""The Ray Data ``map_batches`` class that draws a video's detections on batches of its stored frames.

It lives apart from the stage so that drawing actors import OpenCV and pyarrow only, not the detector's torch.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from upath import UPath

from maskassets import schema
from maskassets.annotate import BoxAnnotator
from maskassets.detections import Detections, detections_by_frame
from maskassets.frame_codec import decode_frame, encode_frame
from maskassets.parquet_io import read_parquet_table
from maskassets.storage import ArtifactStore


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
