"""Detections of one frame as parallel arrays, and their conversion to and from table rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from maskassets.storage import schema


@dataclass(frozen=True)
class Detections:
    """``boxes`` (N, 4) as x1, y1, x2, y2 in frame pixels; ``labels`` (N,) class ids; ``scores`` (N,); once
    tracked, ``track_ids`` (N,) (-1: untracked) and ``trails``, per detection its track's latest box centres
    (x, y, x, y, ..., oldest first)."""

    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray | None = None
    trails: tuple[Sequence[float], ...] | None = None

    def __post_init__(self) -> None:
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"boxes must have shape (N, 4), got {self.boxes.shape}")
        if not len(self.boxes) == len(self.labels) == len(self.scores):
            raise ValueError(
                f"boxes, labels and scores differ in length: {len(self.boxes)}, {len(self.labels)}, {len(self.scores)}"
            )
        if self.track_ids is not None and len(self.track_ids) != len(self.scores):
            raise ValueError(f"{len(self.track_ids)} track ids for {len(self.scores)} detections")

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def empty(cls) -> Detections:
        return cls(
            boxes=np.zeros((0, 4), dtype=np.float32),
            labels=np.zeros(0, dtype=np.int32),
            scores=np.zeros(0, dtype=np.float32),
        )

    @classmethod
    def from_torchvision(cls, output: Mapping[str, Any]) -> Detections:
        """From one element of a torchvision detection model's output list."""
        return cls(
            boxes=output["boxes"].detach().float().cpu().numpy().reshape(-1, 4),
            labels=output["labels"].detach().cpu().numpy().astype(np.int32),
            scores=output["scores"].detach().float().cpu().numpy(),
        )

    @classmethod
    def from_row(
        cls,
        boxes: Sequence[Sequence[float]],
        labels: Sequence[int],
        scores: Sequence[float],
        *,
        track_ids: Sequence[int] | None = None,
        trails: Sequence[Sequence[float]] | None = None,
    ) -> Detections:
        return cls(
            boxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4),
            labels=np.asarray(labels, dtype=np.int32),
            scores=np.asarray(scores, dtype=np.float32),
            track_ids=None if track_ids is None else np.asarray(track_ids, dtype=np.int64),
            trails=None if trails is None else tuple(trails),
        )

    def above(self, threshold: float) -> Detections:
        """The detections a video shows at ``threshold`` (drawn and counted)."""
        keep = shown(self.scores, threshold)
        return Detections(
            boxes=self.boxes[keep],
            labels=self.labels[keep],
            scores=self.scores[keep],
            track_ids=None if self.track_ids is None else self.track_ids[keep],
            trails=None
            if self.trails is None
            else tuple(trail for trail, kept in zip(self.trails, keep, strict=True) if kept),
        )


def predictions_table(
    frame_indices: Sequence[int], detections: Sequence[Detections], class_names: Sequence[str]
) -> pa.Table:
    """Rows of the frame_predictions table, one per frame, in the order given."""
    names = list(class_names)
    return pa.Table.from_pydict(
        {
            schema.FRAME_INDEX: [int(index) for index in frame_indices],
            schema.BOXES: [d.boxes.tolist() for d in detections],
            schema.LABELS: [d.labels.tolist() for d in detections],
            schema.SCORES: [d.scores.tolist() for d in detections],
            schema.CLASS_NAMES: [[class_name(names, label) for label in d.labels] for d in detections],
        },
        schema=schema.FRAME_PREDICTIONS_SCHEMA,
    )


def detections_by_frame(table: pa.Table) -> dict[int, Detections]:
    """The detections of each frame of a frame_predictions table, keyed by frame_index."""
    columns = table.select([schema.FRAME_INDEX, schema.BOXES, schema.LABELS, schema.SCORES]).to_pydict()
    return {
        index: Detections.from_row(boxes, labels, scores)
        for index, boxes, labels, scores in zip(
            columns[schema.FRAME_INDEX],
            columns[schema.BOXES],
            columns[schema.LABELS],
            columns[schema.SCORES],
            strict=True,
        )
    }


def shown(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Which of ``scores`` a video shows at ``threshold``: those strictly above it. The one rule the drawing, the
    summaries and the exports follow."""
    return np.asarray(scores) > threshold


def detected_classes(class_names: Sequence[str]) -> list[tuple[int, str]]:
    """The (label, name) of every class a detector can return: torchvision's detectors reserve label 0 for the
    background, which is never detected."""
    return list(enumerate(class_names))[1:]


def class_name(class_names: Sequence[str], label: int) -> str:
    return class_names[label] if 0 <= label < len(class_names) else f"class_{label}"
