"""A video's tracked detections in the formats other tools read: COCO-style JSON (one image per frame, with its
time) and CSV (a row per detection, with frame_index, time and track id), streamed a row group at a time so an
hour of video never sits in memory."""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from maskassets.detection.detections import class_name, detected_classes
from maskassets.detection.frame_detections import FrameDetections, frames_with_detections
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.schema import TRACKS_TABLE

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


class _Exporter(ABC):
    """Writes one format to ``target``, a frame at a time."""

    def __init__(self, target: TextIO, *, video: str, class_names: Sequence[str]) -> None:
        self.target, self.video, self.class_names = target, video, list(class_names)
        self.frames = self.detections = 0

    @abstractmethod
    def add(self, frame: FrameDetections) -> None: ...

    def finish(self) -> ExportCounts:
        return ExportCounts(self.frames, self.detections)


class _CsvExporter(_Exporter):
    def __init__(self, target: TextIO, *, video: str, class_names: Sequence[str]) -> None:
        super().__init__(target, video=video, class_names=class_names)
        self.rows = csv.writer(target)
        self.rows.writerow(CSV_COLUMNS)

    def add(self, frame: FrameDetections) -> None:
        self.frames += 1
        for box, label, score, track_id in zip(frame.boxes, frame.labels, frame.scores, frame.track_ids, strict=True):
            name = class_name(self.class_names, label)
            self.rows.writerow([self.video, frame.frame_index, frame.pts_seconds, track_id, label, name, score, *box])
            self.detections += 1


class _CocoExporter(_Exporter):
    """COCO's layout (images, annotations, categories; bbox as x, y, width, height) with a score per annotation,
    as detection results carry, and each image's frame_index and time. Images are written as they come and the
    annotations gathered in a scratch file, appended at the end."""

    def __init__(self, target: TextIO, *, video: str, class_names: Sequence[str]) -> None:
        super().__init__(target, video=video, class_names=class_names)
        categories = [{"id": label, "name": name} for label, name in detected_classes(class_names)]
        head = {"info": {"description": f"maskassets detections of {video}", "video": video}, "categories": categories}
        target.write(json.dumps(head)[:-1] + ', "images": [')
        # Closed by finish(); an unnamed temporary file, so an export cut short leaves nothing on disk.
        self.annotations = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115

    def add(self, frame: FrameDetections) -> None:
        image = {
            "id": frame.frame_index,
            "file_name": f"{self.video}#frame={frame.frame_index}",
            "width": frame.width,
            "height": frame.height,
            "frame_index": frame.frame_index,
            "time_seconds": frame.pts_seconds,
        }
        self.target.write(("" if self.frames == 0 else ", ") + json.dumps(image))
        self.frames += 1
        for (x1, y1, x2, y2), label, score, track_id in zip(
            frame.boxes, frame.labels, frame.scores, frame.track_ids, strict=True
        ):
            annotation = {
                "id": self.detections + 1,
                "image_id": frame.frame_index,
                "category_id": label,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": 0,
                "score": score,
                "track_id": track_id,
            }
            self.annotations.write(("" if self.detections == 0 else ", ") + json.dumps(annotation))
            self.detections += 1

    def finish(self) -> ExportCounts:
        with self.annotations:
            self.target.write('], "annotations": [')
            self.annotations.seek(0)
            shutil.copyfileobj(self.annotations, self.target)
        self.target.write("]}")
        return super().finish()


_EXPORTERS: dict[ExportFormat, type[_Exporter]] = {"coco": _CocoExporter, "csv": _CsvExporter}


def write_exports(
    frames: Iterator[FrameDetections], targets: dict[ExportFormat, TextIO], *, video: str, class_names: Sequence[str]
) -> ExportCounts:
    """Write ``frames``' detections to each target in its format, in one pass over them."""
    exporters = [
        _EXPORTERS[export_format](target, video=video, class_names=class_names)
        for export_format, target in targets.items()
    ]
    for frame in frames:
        for exporter in exporters:
            exporter.add(frame)
    # Every format holds the same frames and detections.
    (counts,) = {exporter.finish() for exporter in exporters}
    return counts


def export_detections(
    store: ArtifactStore,
    *,
    frames: Manifest,
    tracks: Manifest,
    class_names: Sequence[str],
    staged: StagedArtifact,
) -> dict:
    """Write both formats into the staged folder, reading the tables once; returns what the manifest records."""
    # Written locally, then uploaded: an S3 object is written in one piece.
    with tempfile.TemporaryDirectory(prefix="maskassets-export-") as scratch, ExitStack() as files:
        local_paths = {export_format: Path(scratch) / file_name for export_format, file_name in FILES.items()}
        targets = {
            export_format: files.enter_context(path.open("w", encoding="utf-8", newline=""))
            for export_format, path in local_paths.items()
        }
        counts = write_exports(
            frames_with_detections(store, frames, tracks, TRACKS_TABLE),
            targets,
            video=frames.partition,
            class_names=class_names,
        )
        files.close()
        for export_format, path in local_paths.items():
            target = staged.path(FILES[export_format])
            target.fs.put_file(os.fspath(path), target.path)
    summary = {"frame_count": counts.frames, "detections": counts.detections, "files": list(FILES.values())}
    staged.metadata.update(summary)
    return summary
