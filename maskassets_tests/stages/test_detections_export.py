"""A video's detections exported for other tools: COCO-style JSON that pycocotools loads and CSV that round-trips,
each equal to the stored detections and their track ids, as asset files and from `maskassets export`."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest
from pycocotools.coco import COCO

from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES
from maskassets.storage import schema
from maskassets.storage.schema import FRAMES_TABLE, PREDICTIONS_TABLE, TRACKS_TABLE
from maskassets_tests.support.commands import command_line, run_command
from maskassets_tests.support.pipeline_run import stored_table

pytestmark = pytest.mark.slow
VIDEO = "a.mp4"


def _stored_detections(published_videos) -> list[tuple[int, float, int, int, float, list[float]]]:
    """Per stored detection: frame_index, the frame's time, track id, class id, score and x1, y1, x2, y2."""
    store = published_videos.store
    times = stored_table(store, "video_frames", VIDEO, FRAMES_TABLE).column(schema.PTS_SECONDS).to_pylist()
    predictions = stored_table(store, "frame_predictions", VIDEO, PREDICTIONS_TABLE).to_pylist()
    tracks = stored_table(store, "face_tracks", VIDEO, TRACKS_TABLE).to_pylist()
    detections = []
    for row, tracked in zip(predictions, tracks, strict=True):
        assert {key: tracked[key] for key in row} == row, "the tracks table holds the stored detections"
        for box, label, score, track_id in zip(
            row[schema.BOXES], row[schema.LABELS], row[schema.SCORES], tracked[schema.TRACK_IDS], strict=True
        ):
            index = row[schema.FRAME_INDEX]
            detections.append((index, times[index], track_id, label, score, box))
    assert detections, "the random checkpoint stored no detection"
    return detections


def _export_file(published_videos, name: str) -> Path:
    store = published_videos.store
    manifest = store.require_manifest("detections_export", VIDEO)
    return Path(store.artifact_path(manifest, name).path)


def test_the_coco_export_loads_in_pycocotools_with_the_stored_boxes(published_videos):
    coco = COCO(str(_export_file(published_videos, "detections.coco.json")))
    stored = _stored_detections(published_videos)

    categories = {category["id"]: category["name"] for category in coco.loadCats(coco.getCatIds())}
    assert categories == {label: name for label, name in enumerate(DEFAULT_CLASS_NAMES) if label > 0}
    images = coco.loadImgs(sorted(coco.getImgIds()))
    frame_times = stored_table(published_videos.store, "video_frames", VIDEO, FRAMES_TABLE)[schema.PTS_SECONDS]
    assert [(image["frame_index"], image["time_seconds"]) for image in images] == list(
        enumerate(frame_times.to_pylist())
    )
    assert {(image["width"], image["height"]) for image in images} == {(160, 120)}
    annotations = coco.loadAnns(sorted(coco.getAnnIds()))
    assert len(annotations) == len(stored)
    for annotation, (frame_index, _, track_id, label, score, (x1, y1, x2, y2)) in zip(annotations, stored, strict=True):
        assert (annotation["image_id"], annotation["track_id"]) == (frame_index, track_id)
        assert (annotation["category_id"], annotation["score"]) == (label, score)
        assert annotation["bbox"] == [x1, y1, x2 - x1, y2 - y1]


def test_the_csv_export_round_trips_to_the_stored_detections(published_videos):
    with _export_file(published_videos, "detections.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))

    assert [
        (
            int(row["frame_index"]),
            float(row["time_seconds"]),
            int(row["track_id"]),
            int(row["class_id"]),
            float(row["score"]),
            [float(row[corner]) for corner in ("x1", "y1", "x2", "y2")],
        )
        for row in rows
    ] == _stored_detections(published_videos)
    assert {row["video"] for row in rows} == {VIDEO}
    assert all(row["class_name"] == DEFAULT_CLASS_NAMES[int(row["class_id"])] for row in rows)


def test_maskassets_export_writes_the_asset_files_anywhere(published_videos, tmp_path):
    chosen = tmp_path / "chosen.csv"
    printed = run_command(
        ["maskassets", "export", VIDEO, "--format", "csv", "--out", str(chosen)], **published_videos.env
    ).stdout
    run_command(["maskassets", "export", VIDEO], cwd=tmp_path, **published_videos.env)

    detections = len(_stored_detections(published_videos))
    assert printed.strip() == f"{chosen}: {detections} detections in 12 frames of {VIDEO}"
    assert chosen.read_bytes() == _export_file(published_videos, "detections.csv").read_bytes()
    default_named = tmp_path / f"{VIDEO}.coco.json"
    assert default_named.read_bytes() == _export_file(published_videos, "detections.coco.json").read_bytes()


def test_exporting_a_video_never_built_says_how_to_build_it(published_videos):
    completed = subprocess.run(
        command_line(["maskassets", "export", "never.mp4"]),
        env={**os.environ, **published_videos.env},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1
    # The last line: Dagster may warn about its beta APIs above it.
    assert completed.stderr.strip().splitlines()[-1] == (
        f"No stored detections of 'never.mp4' under {published_videos.env['MASKASSETS_ARTIFACTS']}; "
        "`maskassets update` builds them."
    )
