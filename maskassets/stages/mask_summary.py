"""Per video, how present each object class is: per frame counts over time (a table and a PNG plot) and
per class the frames, share of the video, first and last time it appears, and the distinct faces (tracks) of
the class with how long they were on screen."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from maskassets.detection.detections import detected_classes, shown
from maskassets.media.timeline_plot import timeline_png
from maskassets.stages import face_tracks
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.parquet_io import ParquetTableWriter, read_parquet_table
from maskassets.storage.schema import FRAMES_TABLE, TRACKS_TABLE
from maskassets.storage.sharded_tables import iter_table_batches, read_table

STAGE = "mask_summary"
CODE_VERSION = "2"
TIMELINE_PLOT_FILE = "timeline.png"
#: Manifest metadata (not shown as such): the summary's rows, so that showing them reads no table.
CLASS_ROWS = "_class_rows"


def summarize_video(
    store: ArtifactStore,
    *,
    frames: Manifest,
    tracks: Manifest,
    class_names: Sequence[str],
    threshold: float,
    class_colors: Mapping[str, Sequence[int]],
    staged: StagedArtifact,
) -> pa.Table:
    """Count, per frame and class, the detections scored above ``threshold`` (those the video shows)."""
    object_classes = [name for _, name in detected_classes(class_names)]
    pts_seconds = (
        read_table(store, frames, FRAMES_TABLE, columns=[schema.PTS_SECONDS]).column(schema.PTS_SECONDS).to_numpy()
    )
    counts = _counts_per_frame(store, tracks, object_classes, threshold, frame_count=len(pts_seconds))
    spans = read_parquet_table(store, store.artifact_path(tracks, schema.TRACK_SPANS_FILE))
    on_screen = seconds_on_screen(spans, frame_seconds=1 / frames.metadata["fps"])
    summary = class_summary_table(object_classes, counts, pts_seconds, on_screen)
    _write_table(store, staged, schema.MASK_SUMMARY_FILE, summary)
    _write_table(store, staged, schema.MASK_TIMELINE_FILE, _timeline_table(object_classes, counts, pts_seconds))
    staged.path(TIMELINE_PLOT_FILE).write_bytes(
        timeline_png(
            pts_seconds,
            {name: counts[:, column] for column, name in enumerate(object_classes)},
            class_colors=class_colors,
            title=f"{tracks.partition}: detections scored above {threshold:g}",
            faces_by_class={name: len(seconds) for name, seconds in on_screen.items()},
        )
    )
    staged.metadata.update({"frame_count": len(pts_seconds), "threshold": threshold, CLASS_ROWS: summary.to_pylist()})
    return summary


def stored_class_summary(manifest: Manifest) -> pa.Table:
    return pa.Table.from_pylist(manifest.metadata[CLASS_ROWS], schema=schema.MASK_SUMMARY_SCHEMA)


def class_summary_table(
    object_classes: Sequence[str], counts: np.ndarray, pts_seconds: np.ndarray, on_screen: Mapping[str, list[float]]
) -> pa.Table:
    """One row per class from the (frames, classes) matrix of per-frame counts and, per class, the seconds on
    screen of each of its tracks."""
    rows = []
    frame_count = len(pts_seconds)
    for column, name in enumerate(object_classes):
        present = np.flatnonzero(counts[:, column])
        track_seconds = on_screen.get(name, [])
        rows.append(
            {
                schema.CLASS_NAME: name,
                schema.FRAMES_WITH_CLASS: len(present),
                schema.SHARE_OF_FRAMES: len(present) / frame_count if frame_count else 0.0,
                schema.DETECTIONS: int(counts[:, column].sum()),
                schema.MAX_IN_ONE_FRAME: int(counts[:, column].max(initial=0)),
                schema.FIRST_SEEN_SECONDS: float(pts_seconds[present[0]]) if len(present) else None,
                schema.LAST_SEEN_SECONDS: float(pts_seconds[present[-1]]) if len(present) else None,
                schema.DISTINCT_TRACKS: len(track_seconds),
                schema.TRACK_SECONDS_TOTAL: float(sum(track_seconds)),
                schema.TRACK_SECONDS_MEDIAN: float(np.median(track_seconds)) if track_seconds else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=schema.MASK_SUMMARY_SCHEMA)


def seconds_on_screen(spans: pa.Table, *, frame_seconds: float) -> dict[str, list[float]]:
    """Per class, how long each track of that class was on screen: from its first frame's time to the end of
    its last frame (one frame after its time), in track order."""
    per_class: dict[str, list[float]] = {}
    for extent in face_tracks.track_extents(spans).values():
        per_class.setdefault(extent.track_class, []).append(extent.last_seconds - extent.first_seconds + frame_seconds)
    return per_class


def _counts_per_frame(
    store: ArtifactStore, tracks: Manifest, object_classes: list[str], threshold: float, *, frame_count: int
) -> np.ndarray:
    counts = np.zeros((frame_count, len(object_classes)), dtype=np.int32)
    column_of = {name: column for column, name in enumerate(object_classes)}
    columns = [schema.FRAME_INDEX, schema.SCORES, schema.CLASS_NAMES]
    for batch in iter_table_batches(store, tracks, TRACKS_TABLE, columns=columns):
        rows = batch.to_pydict()
        for index, scores, names in zip(
            rows[schema.FRAME_INDEX], rows[schema.SCORES], rows[schema.CLASS_NAMES], strict=True
        ):
            for is_shown, name in zip(shown(scores, threshold), names, strict=True):
                if is_shown and name in column_of:
                    counts[index, column_of[name]] += 1
    return counts


def _timeline_table(object_classes: list[str], counts: np.ndarray, pts_seconds: np.ndarray) -> pa.Table:
    frame_count, class_count = counts.shape
    return pa.Table.from_pydict(
        {
            schema.FRAME_INDEX: np.repeat(np.arange(frame_count), class_count),
            schema.PTS_SECONDS: np.repeat(pts_seconds, class_count),
            schema.CLASS_NAME: np.tile(np.array(object_classes, dtype=object), frame_count),
            schema.COUNT: counts.reshape(-1),
        },
        schema=schema.MASK_TIMELINE_SCHEMA,
    )


def _write_table(store: ArtifactStore, staged: StagedArtifact, name: str, table: pa.Table) -> None:
    with ParquetTableWriter(store, staged.path(name), table.schema) as writer:
        writer.write(table)
