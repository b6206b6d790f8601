"""Each frame's time and size beside its stored detections, read in frame order a row group at a time: what the
stages that go through a video's detections sequentially (tracking, export) read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.schema import FRAMES_TABLE
from maskassets.storage.sharded_tables import iter_table_batches

_GEOMETRY = [schema.FRAME_INDEX, schema.PTS_SECONDS, schema.WIDTH, schema.HEIGHT]
_DETECTIONS = [schema.FRAME_INDEX, schema.BOXES, schema.LABELS, schema.SCORES]


@dataclass(frozen=True)
class FrameDetections:
    frame_index: int
    pts_seconds: float
    width: int
    height: int
    #: x1, y1, x2, y2 per detection, with its class id and score.
    boxes: list[list[float]]
    labels: list[int]
    scores: list[float]
    #: Per detection its track id (-1: untracked), when read from the face_tracks table.
    track_ids: list[int] | None = None


def frames_with_detections(
    store: ArtifactStore, frames: Manifest, detections: Manifest, table: str
) -> Iterator[FrameDetections]:
    """The frames of ``frames`` with their detections from ``table`` of ``detections`` (frame_predictions'
    table, or face_tracks', which adds track ids), in frame order."""
    tracked = table == schema.TRACKS_TABLE
    geometry = _rows(store, frames, FRAMES_TABLE, _GEOMETRY)
    found_rows = _rows(store, detections, table, _DETECTIONS + ([schema.TRACK_IDS] if tracked else []))
    for frame, found in zip(geometry, found_rows, strict=True):
        if frame[schema.FRAME_INDEX] != found[schema.FRAME_INDEX]:
            raise ValueError(
                f"frame {frame[schema.FRAME_INDEX]} of '{frames.partition}' meets the detections of frame "
                f"{found[schema.FRAME_INDEX]} in {detections.stage}: rebuild {detections.stage}"
            )
        yield FrameDetections(
            frame_index=frame[schema.FRAME_INDEX],
            pts_seconds=frame[schema.PTS_SECONDS],
            width=frame[schema.WIDTH],
            height=frame[schema.HEIGHT],
            boxes=found[schema.BOXES],
            labels=found[schema.LABELS],
            scores=found[schema.SCORES],
            track_ids=found[schema.TRACK_IDS] if tracked else None,
        )


def _rows(store: ArtifactStore, manifest: Manifest, table: str, columns: list[str]) -> Iterator[dict]:
    for batch in iter_table_batches(store, manifest, table, columns=columns):
        yield from batch.to_pylist()
