"""Faces counted once: on a video whose detections are known (moving faces of known classes, one that changes
class for a frame), face_tracks gives each face one id and mask_summary counts the distinct faces per class with
their seconds on screen."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from maskassets.definitions import build_definitions
from maskassets.detection.detections import Detections, predictions_table
from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES
from maskassets.stages.face_tracks import TRAIL_POINTS
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import MASK_SUMMARY_FILE, PREDICTIONS_TABLE, TRACK_SPANS_FILE, TRACKS_TABLE
from maskassets.storage.sharded_tables import ShardLayout, ShardWriter
from maskassets_tests.support.media import make_clip, pipeline_settings
from maskassets_tests.support.pipeline_run import register_and_run, stored_parquet, stored_table

pytestmark = pytest.mark.slow
FPS, FRAMES, SIDE = 12, 24, 20
WITH, WITHOUT, INCORRECT = (DEFAULT_CLASS_NAMES.index(name) for name in DEFAULT_CLASS_NAMES[1:])
#: Per face: its class, the frames it is on screen, where it starts (x, y) and its step per frame in x.
FACES = {
    "a": (WITHOUT, range(0, 24), (0, 5), 2),
    "b": (WITHOUT, range(4, 16), (30, 45), 3),
    "c": (WITH, range(0, 18), (0, 85), 2),
    # Detected once as without_mask: its track is still mask_weared_incorrect, by most of its detections.
    "d": (INCORRECT, range(6, 24), (140, 85), -2),
}
FLICKER = ("d", 12, WITHOUT)


def _known_detections(frame_index: int) -> Detections:
    rows = []
    for name, (label, frames, (x0, y0), step) in FACES.items():
        if frame_index in frames:
            x = x0 + step * (frame_index - frames.start)
            shown = FLICKER[2] if (name, frame_index) == FLICKER[:2] else label
            rows.append(((x, y0, x + SIDE, y0 + SIDE), shown, 0.9))
    return Detections.from_row([row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows])


def _commit_known_predictions(store: ArtifactStore, key: str) -> None:
    """frame_predictions replaced by the known detections, as a committed artifact of its own version."""
    with store.commit("frame_predictions", key, version="known-detections") as staged:
        table = predictions_table(range(FRAMES), [_known_detections(i) for i in range(FRAMES)], DEFAULT_CLASS_NAMES)
        with ShardWriter(
            store,
            staged.directory,
            table=PREDICTIONS_TABLE,
            name="part",
            table_schema=schema.FRAME_PREDICTIONS_SCHEMA,
            layout=ShardLayout(),
        ) as writer:
            writer.write(table)
        staged.add_table(PREDICTIONS_TABLE, [shard.as_dict() for shard in writer.shards])
        staged.metadata["frame_count"] = FRAMES


@pytest.fixture(scope="module")
def tracked(tmp_path_factory: pytest.TempPathFactory, checkpoint_path: Path) -> ArtifactStore:
    root = tmp_path_factory.mktemp("tracks")
    (root / "videos").mkdir()
    make_clip(root / "videos" / "faces.mp4", frames=FRAMES, fps=FPS, width=160, height=120)
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in {"DAGSTER_HOME": str(root), **pipeline_settings(root, checkpoint_path)}.items():
            patch.setenv(variable, value)
        store = ArtifactStore(str(root / "artifacts"))
        with dg.DagsterInstance.get() as instance:
            register_and_run(instance, ["faces.mp4"])
            _commit_known_predictions(store, "faces.mp4")
            rerun = (
                build_definitions()
                .resolve_job_def("video_pipeline")
                .execute_in_process(
                    partition_key="faces.mp4",
                    instance=instance,
                    asset_selection=[dg.AssetKey("face_tracks"), dg.AssetKey("mask_summary")],
                )
            )
    assert rerun.success
    return store


def test_each_face_keeps_one_id_through_the_video(tracked):
    tracks = stored_table(tracked, "face_tracks", "faces.mp4", TRACKS_TABLE).to_pylist()
    ids: dict[str, set[int]] = {name: set() for name in FACES}
    for row in tracks:
        present = [name for name, (_, frames, _, _) in FACES.items() if row[schema.FRAME_INDEX] in frames]
        for name, track_id in zip(present, row[schema.TRACK_IDS], strict=True):
            ids[name].add(track_id)
    assert all(len(found) == 1 for found in ids.values()), ids
    assert sorted(next(iter(found)) for found in ids.values()) == [1, 2, 3, 4]


def test_a_face_detected_once_as_another_class_has_a_span_of_each_and_its_majority_class(tracked):
    spans = stored_parquet(tracked, "face_tracks", "faces.mp4", TRACK_SPANS_FILE).to_pylist()
    flickering = [span for span in spans if span[schema.TRACK_CLASS] == "mask_weared_incorrect"]
    assert sorted((span[schema.CLASS_NAME], span[schema.DETECTIONS]) for span in flickering) == [
        ("mask_weared_incorrect", 17),
        ("without_mask", 1),
    ]
    (other_class,) = [span for span in flickering if span[schema.CLASS_NAME] == "without_mask"]
    assert other_class[schema.FIRST_SEEN_SECONDS] == pytest.approx(12 / FPS)


def test_mask_summary_counts_distinct_faces_and_their_seconds_on_screen(tracked):
    summary = {
        row[schema.CLASS_NAME]: row
        for row in stored_parquet(tracked, "mask_summary", "faces.mp4", MASK_SUMMARY_FILE).to_pylist()
    }
    for label, name in enumerate(DEFAULT_CLASS_NAMES):
        if label == 0:
            continue
        seconds = [len(frames) / FPS for face_label, frames, _, _ in FACES.values() if face_label == label]
        row = summary[name]
        assert row[schema.DISTINCT_TRACKS] == len(seconds)
        assert row[schema.TRACK_SECONDS_TOTAL] == pytest.approx(sum(seconds), abs=1 / FPS)
        assert row[schema.TRACK_SECONDS_MEDIAN] == pytest.approx(float(np.median(seconds)), abs=1 / FPS)


def test_each_tracked_detection_stores_the_latest_centres_of_its_track(tracked):
    tracks = stored_table(tracked, "face_tracks", "faces.mp4", TRACKS_TABLE).to_pylist()
    label, frames, (x0, y0), step = FACES["a"]
    row = tracks[20]  # face "a" is the first detection of every frame
    centres = [(x0 + step * i + SIDE / 2, y0 + SIDE / 2) for i in range(20 - TRAIL_POINTS + 1, 21)]
    assert row[schema.TRAILS][0] == pytest.approx([coordinate for centre in centres for coordinate in centre])
