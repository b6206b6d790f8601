"""The Ray Data ``map_batches`` class that draws detections on batches of stored frames.

Each batch arrives with the detections of its own frames joined in by the read task, so no actor holds more
than its batch of a video's predictions. It lives apart from the stage so that drawing actors import OpenCV
and pyarrow only, not the detector's torch.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from maskassets.detection.box_drawing import BoxAnnotator
from maskassets.detection.detections import Detections
from maskassets.media.frame_codec import FrameFormat, decode_frame
from maskassets.storage import schema


class FrameAnnotatorBatch:
    def __init__(self, *, annotator: BoxAnnotator, threshold: float, frame_format: FrameFormat) -> None:
        self.annotator = annotator
        self.threshold = threshold
        self.frame_format = frame_format

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        images = []
        for image, boxes, labels, scores, track_ids, trails in zip(
            batch[schema.IMAGE],
            batch[schema.BOXES],
            batch[schema.LABELS],
            batch[schema.SCORES],
            batch[schema.TRACK_IDS],
            batch[schema.TRAILS],
            strict=True,
        ):
            detections = Detections.from_row(_stacked(boxes), labels, scores, track_ids=track_ids, trails=trails)
            shown = detections.above(self.threshold)
            images.append(
                self.frame_format.encode(self.annotator.annotate(decode_frame(image), shown)) if len(shown) else image
            )
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


def _stacked(boxes: np.ndarray) -> np.ndarray:
    """Ray hands a list-of-lists column over as an array of arrays; an empty one as an empty array."""
    return np.stack(boxes) if len(boxes) else np.zeros((0, 4), dtype=np.float32)
