"""Give every detection of a video the id of the face it belongs to, frame after frame (tracking.py), and sum up
each track: per track and class, how often and when it was seen."""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

import numpy as np
import pyarrow as pa

from maskassets.detection.detections import class_name
from maskassets.detection.frame_detections import FrameDetections, frames_with_detections
from maskassets.detection.tracking import UNTRACKED, FrameInput, FrameTracks, Tracker, TrackerSettings
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.parquet_io import ParquetTableWriter
from maskassets.storage.schema import PREDICTIONS_TABLE, TRACKS_TABLE
from maskassets.storage.sharded_tables import ShardLayout, ShardWriter, check_contiguous

STAGE = "face_tracks"
CODE_VERSION = "1"
#: The most box centres a detection's trail holds: what the drawing can show behind a face.
TRAIL_POINTS = 16
_FRAMES_PER_WRITE = 256


def track_faces(
    store: ArtifactStore,
    *,
    frames: Manifest,
    predictions: Manifest,
    settings: TrackerSettings,
    class_names: Sequence[str],
    layout: ShardLayout,
    staged: StagedArtifact,
) -> dict:
    """Write the tracks table (each frame's detections with their track ids) and the track spans."""
    waiting: dict[int, FrameDetections] = {}

    def tracker_input() -> Iterator[FrameInput]:
        for frame in frames_with_detections(store, frames, predictions, PREDICTIONS_TABLE):
            waiting[frame.frame_index] = frame
            yield FrameInput(
                frame.frame_index,
                frame.pts_seconds,
                np.asarray(frame.boxes, dtype=np.float64).reshape(-1, 4),
                np.asarray(frame.scores, dtype=np.float64),
            )

    spans = TrackSpans(class_names)
    trails = Trails(TRAIL_POINTS)
    with ShardWriter(
        store, staged.directory, table=TRACKS_TABLE, name="part", table_schema=schema.FACE_TRACKS_SCHEMA, layout=layout
    ) as writer:
        tracks = Tracker(settings).track(tracker_input())
        while chunk := list(islice(tracks, _FRAMES_PER_WRITE)):
            tracked = [(waiting.pop(frame.frame_index), frame) for frame in chunk]
            writer.write(tracks_table(tracked, [trails.add(frame, ids) for frame, ids in tracked], class_names))
            spans.add(tracked)
    staged.add_table(TRACKS_TABLE, [shard.as_dict() for shard in writer.shards])
    table = spans.table()
    with ParquetTableWriter(store, staged.path(schema.TRACK_SPANS_FILE), schema.TRACK_SPANS_SCHEMA) as spans_writer:
        spans_writer.write(table)
    per_class = _tracks_per_class(table)
    summary = {
        "frame_count": check_contiguous(writer.shards, table=TRACKS_TABLE),
        "tracks": sum(per_class.values()),
        "tracks_per_class": per_class,
        "threshold": settings.threshold,
    }
    staged.metadata.update(summary)
    return summary


def tracks_table(
    tracked: Sequence[tuple[FrameDetections, FrameTracks]],
    trails: Sequence[list[list[float]]],
    class_names: Sequence[str],
) -> pa.Table:
    return pa.Table.from_pydict(
        {
            schema.FRAME_INDEX: [frame.frame_index for frame, _ in tracked],
            schema.BOXES: [frame.boxes for frame, _ in tracked],
            schema.LABELS: [frame.labels for frame, _ in tracked],
            schema.SCORES: [frame.scores for frame, _ in tracked],
            schema.CLASS_NAMES: [[class_name(class_names, label) for label in frame.labels] for frame, _ in tracked],
            schema.TRACK_IDS: [ids.track_ids for _, ids in tracked],
            schema.TRAILS: list(trails),
        },
        schema=schema.FACE_TRACKS_SCHEMA,
    )


class Trails:
    """The latest box centres of every track, fed frame after frame."""

    def __init__(self, points: int) -> None:
        self._centres: dict[int, deque[tuple[float, float]]] = defaultdict(lambda: deque(maxlen=points))

    def add(self, frame: FrameDetections, ids: FrameTracks) -> list[list[float]]:
        """Per detection of ``frame``, its track's trail up to it (empty when untracked)."""
        trails = []
        for (x1, y1, x2, y2), track_id in zip(frame.boxes, ids.track_ids, strict=True):
            if track_id == UNTRACKED:
                trails.append([])
                continue
            centres = self._centres[track_id]
            centres.append(((x1 + x2) / 2, (y1 + y2) / 2))
            trails.append([coordinate for centre in centres for coordinate in centre])
        return trails


@dataclass
class _Span:
    detections: int
    first_frame: int
    last_frame: int
    first_seconds: float
    last_seconds: float


class TrackSpans:
    """Per track and class: detections, first and last frame and time; memory grows with the tracks, not the
    frames."""

    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = list(class_names)
        self._spans: dict[tuple[int, int], _Span] = {}

    def add(self, tracked: Iterable[tuple[FrameDetections, FrameTracks]]) -> None:
        for frame, ids in tracked:
            for label, track_id in zip(frame.labels, ids.track_ids, strict=True):
                if track_id == UNTRACKED:
                    continue
                span = self._spans.get((track_id, label))
                if span is None:
                    self._spans[track_id, label] = _Span(
                        1, frame.frame_index, frame.frame_index, frame.pts_seconds, frame.pts_seconds
                    )
                else:
                    span.detections += 1
                    span.last_frame, span.last_seconds = frame.frame_index, frame.pts_seconds

    def table(self) -> pa.Table:
        """A row per track and class, by track id then class id; each track's class is that of most of its
        detections (among equals, the class listed first)."""
        rows = []
        for track_id in sorted({track_id for track_id, _ in self._spans}):
            labels = sorted(label for known, label in self._spans if known == track_id)
            majority = max(labels, key=lambda label: (self._spans[track_id, label].detections, -label))
            for label in labels:
                span = self._spans[track_id, label]
                rows.append(
                    {
                        schema.TRACK_ID: track_id,
                        schema.TRACK_CLASS: class_name(self.class_names, majority),
                        schema.CLASS_NAME: class_name(self.class_names, label),
                        schema.DETECTIONS: span.detections,
                        schema.FIRST_FRAME: span.first_frame,
                        schema.LAST_FRAME: span.last_frame,
                        schema.FIRST_SEEN_SECONDS: span.first_seconds,
                        schema.LAST_SEEN_SECONDS: span.last_seconds,
                    }
                )
        return pa.Table.from_pylist(rows, schema=schema.TRACK_SPANS_SCHEMA)


@dataclass(frozen=True)
class TrackExtent:
    track_class: str
    first_seconds: float
    last_seconds: float


def track_extents(spans: pa.Table) -> dict[int, TrackExtent]:
    """Per track id, in order: its class and the times of its first and last detection, whatever their class."""
    extents: dict[int, TrackExtent] = {}
    for row in spans.to_pylist():
        first, last = row[schema.FIRST_SEEN_SECONDS], row[schema.LAST_SEEN_SECONDS]
        if (known := extents.get(row[schema.TRACK_ID])) is not None:
            first, last = min(first, known.first_seconds), max(last, known.last_seconds)
        extents[row[schema.TRACK_ID]] = TrackExtent(row[schema.TRACK_CLASS], first, last)
    return dict(sorted(extents.items()))


def _tracks_per_class(spans: pa.Table) -> dict[str, int]:
    return dict(sorted(Counter(extent.track_class for extent in track_extents(spans).values()).items()))
