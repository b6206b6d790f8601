"""A video's tracked detections in the formats other tools read: COCO-style JSON (one image per frame, with its
time) and CSV (a row per detection, with frame_index, time and track id), streamed a row group at a time so an
hour of video never sits in memory."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from maskassets.detections import class_name
from maskassets.frame_detections import FrameDetections, frames_with_detections
from maskassets.schema import TRACKS_TABLE
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact

STAGE = "detections_export"
CODE_VERSION = "2"
ExportFormat = Literal["coco", "csv"]
FILES: dict[ExportFormat, str] = {"coco": "detections.coco.json", "csv": "detections.csv"}
CSV_COLUMNS = (
    "video",
    "frame_index",
    "time_seconds",
    "track_id",
    "class_id",
    "class_name",
    "score",
    "x1",
    "y1",
    "x2",
    "y2",
)


@dataclass(frozen=True)
class ExportCounts:
    frames: int
    detections: int


def write_export(
    frames: Iterator[FrameDetections],
    target: TextIO,
    *,
    export_format: ExportFormat,
    video: str,
    class_names: Sequence[str],
) -> ExportCounts:
    """Write ``frames``' detections to ``target`` as ``export_format``."""
    writer = _write_coco if export_format == "coco" else _write_csv
    return writer(frames, target, video=video, class_names=class_names)


def _write_csv(
    frames: Iterator[FrameDetections], target: TextIO, *, video: str, class_names: Sequence[str]
) -> ExportCounts:
    rows = csv.writer(target)
    rows.writerow(CSV_COLUMNS)
    frame_count = detections = 0
    for frame in frames:
        frame_count += 1
        for box, label, score, track_id in zip(frame.boxes, frame.labels, frame.scores, frame.track_ids, strict=True):
            rows.writerow(
                [
                    video,
                    frame.frame_index,
                    frame.pts_seconds,
                    track_id,
                    label,
                    class_name(class_names, label),
                    score,
                    *box,
                ]
            )
            detections += 1
    return ExportCounts(frame_count, detections)


def _write_coco(
    frames: Iterator[FrameDetections], target: TextIO, *, video: str, class_names: Sequence[str]
) -> ExportCounts:
    """COCO's layout (images, annotations, categories; bbox as x, y, width, height) with a score per annotation,
    as detection results carry, and each image's frame_index and time. Images are written as they come and the
    annotations gathered in a scratch file, then appended: one pass over the tables."""
    categories = [{"id": label, "name": name} for label, name in enumerate(class_names) if label > 0]
    head = {"info": {"description": f"maskassets detections of {video}", "video": video}, "categories": categories}
    target.write(json.dumps(head)[:-1] + ', "images": [')
    frame_count = detections = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as annotations:
        for frame in frames:
            image = {
                "id": frame.frame_index,
                "file_name": f"{video}#frame={frame.frame_index}",
                "width": frame.width,
                "height": frame.height,
                "frame_index": frame.frame_index,
                "time_seconds": frame.pts_seconds,
            }
            target.write(("" if frame_count == 0 else ", ") + json.dumps(image))
            frame_count += 1
            for (x1, y1, x2, y2), label, score, track_id in zip(
                frame.boxes, frame.labels, frame.scores, frame.track_ids, strict=True
            ):
                annotation = {
                    "id": detections + 1,
                    "image_id": frame.frame_index,
                    "category_id": label,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": 0,
                    "score": score,
                    "track_id": track_id,
                }
                annotations.write(("" if detections == 0 else ", ") + json.dumps(annotation))
                detections += 1
        target.write('], "annotations": [')
        annotations.seek(0)
        shutil.copyfileobj(annotations, target)
    target.write("]}")
    return ExportCounts(frame_count, detections)


def export_detections(
    store: ArtifactStore,
    *,
    frames: Manifest,
    tracks: Manifest,
    class_names: Sequence[str],
    staged: StagedArtifact,
) -> dict:
    """Write both formats into the staged folder; returns what the manifest records."""
    counts = None
    for export_format, file_name in FILES.items():
        target = staged.path(file_name)
        # Written locally, then uploaded: an S3 object is written in one piece.
        with tempfile.TemporaryDirectory(prefix="maskassets-export-") as scratch:
            local_path = Path(scratch) / file_name
            with local_path.open("w", encoding="utf-8", newline="") as output:
                counts = write_export(
                    frames_with_detections(store, frames, tracks, TRACKS_TABLE),
                    output,
                    export_format=export_format,
                    video=frames.partition,
                    class_names=class_names,
                )
            target.fs.put_file(os.fspath(local_path), target.path)
    summary = {"frame_count": counts.frames, "detections": counts.detections, "files": list(FILES.values())}
    staged.metadata.update(summary)
    return summary
