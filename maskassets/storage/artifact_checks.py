"""Checks of stored artifacts against each other and against the source video: plain functions that
read the store and say, for a person, what they found."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from maskassets.media.video import stream_timing
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.sharded_tables import iter_table_batches

#: Torchvision clips boxes to the image; anything further out than this is not rounding.
_BOX_TOLERANCE_PIXELS = 0.5
_FPS_TOLERANCE = 0.01


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def frame_indices(store: ArtifactStore, manifest: Manifest, table: str) -> np.ndarray:
    """The frame_index column of a frame table as stored, shard after shard."""
    batches = [
        batch.column(schema.FRAME_INDEX).to_numpy()
        for batch in iter_table_batches(store, manifest, table, columns=[schema.FRAME_INDEX])
    ]
    return np.concatenate(batches) if batches else np.zeros(0, dtype=np.int64)


def frames_are_contiguous(indices: np.ndarray) -> CheckOutcome:
    """frame_index runs 0, 1, ..., n-1 in stored order, each once."""
    expected = np.arange(len(indices))
    mismatches = np.flatnonzero(indices != expected)
    if len(mismatches) == 0:
        return CheckOutcome(True, f"frame_index runs 0..{len(indices) - 1} in order", {"frames": len(indices)})
    first = int(mismatches[0])
    return CheckOutcome(
        False,
        f"frame_index is not 0..{len(indices) - 1} in order: row {first} holds {int(indices[first])}",
        {"frames": len(indices), "rows_out_of_place": len(mismatches)},
    )


def frames_match(indices: np.ndarray, source_indices: np.ndarray, *, source_stage: str) -> CheckOutcome:
    """The same frames, in the same order, as ``source_stage``."""
    if len(indices) != len(source_indices):
        return CheckOutcome(
            False,
            f"{len(indices)} frames here, {len(source_indices)} in {source_stage}",
            {"frames": len(indices), f"{source_stage}_frames": len(source_indices)},
        )
    mismatches = np.flatnonzero(indices != source_indices)
    if len(mismatches):
        first = int(mismatches[0])
        return CheckOutcome(
            False,
            f"row {first} holds frame {int(indices[first])}, {source_stage} frame {int(source_indices[first])}",
            {"frames": len(indices), "rows_out_of_place": len(mismatches)},
        )
    return CheckOutcome(True, f"the {len(indices)} frames of {source_stage}, in order", {"frames": len(indices)})


def segments_cover(segments: Sequence[dict], frame_count: int, *, source_stage: str) -> CheckOutcome:
    """Encoded segments, as the manifest lists them, that follow on from each other and hold every frame of
    ``source_stage`` once, in order."""
    covered = 0
    for position, segment in enumerate(segments):
        if segment["first_frame"] != covered:
            return CheckOutcome(
                False,
                f"segment {position} starts at frame {segment['first_frame']}, not {covered}",
                {"segments": len(segments)},
            )
        covered += segment["frames"]
    if covered != frame_count:
        return CheckOutcome(
            False,
            f"{covered} frames here, {frame_count} in {source_stage}",
            {"frames": covered, f"{source_stage}_frames": frame_count},
        )
    return CheckOutcome(
        True,
        f"the {frame_count} frames of {source_stage}, in order, in {len(segments)} segments",
        {"frames": frame_count, "segments": len(segments)},
    )


def detections_are_valid(
    store: ArtifactStore, predictions: Manifest, table: str, *, width: int, height: int, class_names: Sequence[str]
) -> CheckOutcome:
    """Every row's lists agree in length, labels name a known class, scores lie in [0, 1] and boxes are
    ordered corners inside the frame."""
    problems: list[str] = []
    detections = 0
    columns = [schema.FRAME_INDEX, schema.BOXES, schema.LABELS, schema.SCORES, schema.CLASS_NAMES]
    for batch in iter_table_batches(store, predictions, table, columns=columns):
        rows = batch.to_pydict()
        for index, boxes, labels, scores, names in zip(*(rows[column] for column in columns), strict=True):
            problem = _row_problem(boxes, labels, scores, names, width=width, height=height, class_names=class_names)
            detections += len(scores)
            if problem and len(problems) < 5:
                problems.append(f"frame {index}: {problem}")
    metadata = {"detections": detections, "frame_size": f"{width}x{height}"}
    if problems:
        return CheckOutcome(False, "; ".join(problems), metadata)
    return CheckOutcome(True, f"{detections} detections, all inside the {width}x{height} frame", metadata)


def _row_problem(
    boxes: list, labels: list, scores: list, names: list, *, width: int, height: int, class_names: Sequence[str]
) -> str | None:
    if not len(boxes) == len(labels) == len(scores) == len(names):
        return f"{len(boxes)} boxes, {len(labels)} labels, {len(scores)} scores, {len(names)} class names"
    if not boxes:
        return None
    corners = np.asarray(boxes, dtype=np.float64)
    score_values = np.asarray(scores, dtype=np.float64)
    if not np.isfinite(corners).all() or not np.isfinite(score_values).all():
        return "a box or score is not a finite number"
    if ((score_values < 0) | (score_values > 1)).any():
        return f"a score outside [0, 1]: {score_values.min():.3f}..{score_values.max():.3f}"
    bad_labels = [label for label in labels if not 0 < label < len(class_names)]
    if bad_labels:
        return f"label {bad_labels[0]} is not one of the {len(class_names) - 1} object classes"
    if [class_names[label] for label in labels] != list(names):
        return "class_names do not spell out labels"
    x1, y1, x2, y2 = corners.T
    tolerance = _BOX_TOLERANCE_PIXELS
    if ((x1 > x2) | (y1 > y2)).any():
        return "a box with x1 > x2 or y1 > y2"
    if (
        (x1 < -tolerance).any()
        or (y1 < -tolerance).any()
        or (x2 > width + tolerance).any()
        or (y2 > height + tolerance).any()
    ):
        return f"a box reaches outside the {width}x{height} frame"
    return None


def output_plays_like_source(
    store: ArtifactStore, output: Manifest, file_name: str, *, source_pts_seconds: np.ndarray
) -> CheckOutcome:
    """The encoded video holds as many frames as the source, over the same duration and rate (read from its
    packets: each segment was checked to open on a keyframe when it was encoded)."""
    stored = stream_timing(store.artifact_path(output, file_name))
    expected_frames = len(source_pts_seconds)
    source_fps = _mean_fps(source_pts_seconds)
    frame_seconds = 1.0 / source_fps if source_fps else 0.0
    source_duration = float(source_pts_seconds[-1] - source_pts_seconds[0]) + frame_seconds
    output_duration = stored.last_pts_seconds - stored.first_pts_seconds + frame_seconds
    output_fps = _mean_fps(np.array([stored.first_pts_seconds, stored.last_pts_seconds]), stored.frame_count)
    metadata = {
        "frames": stored.frame_count,
        "source_frames": expected_frames,
        "duration_seconds": round(output_duration, 3),
        "source_duration_seconds": round(source_duration, 3),
        "fps": round(output_fps, 3),
        "source_fps": round(source_fps, 3),
    }
    if stored.frame_count != expected_frames:
        return CheckOutcome(False, f"holds {stored.frame_count} frames, the source has {expected_frames}", metadata)
    if abs(output_duration - source_duration) > frame_seconds / 2:
        return CheckOutcome(False, f"lasts {output_duration:.3f} s, the source {source_duration:.3f} s", metadata)
    if source_fps and abs(output_fps - source_fps) > _FPS_TOLERANCE * source_fps:
        return CheckOutcome(False, f"plays at {output_fps:.3f} frames/s, the source at {source_fps:.3f}", metadata)
    return CheckOutcome(
        True, f"{stored.frame_count} frames over {output_duration:.3f} s at {output_fps:.3f} frames/s", metadata
    )


def _mean_fps(pts_seconds: np.ndarray, frame_count: int | None = None) -> float:
    """Frames per second over the span of the timestamps (first to last)."""
    count = len(pts_seconds) if frame_count is None else frame_count
    span = float(pts_seconds[-1] - pts_seconds[0]) if len(pts_seconds) else 0.0
    return (count - 1) / span if count > 1 and span > 0 else 0.0
