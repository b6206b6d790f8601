"""Asset checks find what is wrong with a stored artifact, say where, and a failed blocking check stops
the stages that would build on it."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from maskassets.definitions import build_definitions
from maskassets.detection.detections import Detections, predictions_table
from maskassets.media import yuv420
from maskassets.media.video_writing import VideoWriter
from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES
from maskassets.storage import schema
from maskassets.storage.artifact_checks import detections_are_valid, output_plays_like_source
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.schema import PREDICTIONS_TABLE
from maskassets.storage.sharded_tables import ShardLayout, ShardWriter
from maskassets_tests.support.media import make_clip, moving_square
from maskassets_tests.support.pipeline_run import register_and_run

GOOD_ROW = {"boxes": [[1.0, 2.0, 30.0, 40.0]], "labels": [1], "scores": [0.9]}


def _stored(store: ArtifactStore, name: str, table: pa.Table) -> Manifest:
    with store.commit("frame_predictions", "clip.mp4", version="v1") as staged:
        with ShardWriter(
            store, staged.directory, table=name, name="all", table_schema=table.schema, layout=ShardLayout()
        ) as writer:
            writer.write(table)
        staged.add_table(name, [shard.as_dict() for shard in writer.shards])
    return store.require_manifest("frame_predictions", "clip.mp4")


@pytest.mark.parametrize(
    ("row", "found"),
    [
        ({"boxes": [[1.0, 2.0, 130.0, 40.0]]}, "frame 0: a box reaches outside the 128x96 frame"),
        ({"boxes": [[30.0, 2.0, 1.0, 40.0]]}, "frame 0: a box with x1 > x2 or y1 > y2"),
        ({"boxes": [[-3.0, 2.0, 30.0, 40.0]]}, "frame 0: a box reaches outside the 128x96 frame"),
        ({"scores": [1.5]}, r"frame 0: a score outside \[0, 1\]"),
        ({"scores": [float("nan")]}, "frame 0: a box or score is not a finite number"),
        ({"labels": [7]}, "frame 0: label 7 is not one of the 3 object classes"),
        ({"labels": [0]}, "frame 0: label 0 is not one of the 3 object classes"),
        ({"labels": [1, 2]}, "frame 0: 1 boxes, 2 labels, 1 scores, 1 class names"),
    ],
)
def test_detection_rows_that_break_the_schema_are_named(tmp_path, row, found):
    values = GOOD_ROW | row
    names = [[DEFAULT_CLASS_NAMES[1]] * len(values["boxes"])]
    table = {
        "frame_index": [0],
        "boxes": [values["boxes"]],
        "labels": [values["labels"]],
        "scores": [values["scores"]],
        "class_names": names,
    }
    store = ArtifactStore(str(tmp_path))
    manifest = _stored(store, PREDICTIONS_TABLE, pa.Table.from_pydict(table, schema=schema.FRAME_PREDICTIONS_SCHEMA))
    outcome = detections_are_valid(
        store, manifest, PREDICTIONS_TABLE, width=128, height=96, class_names=DEFAULT_CLASS_NAMES
    )
    assert not outcome.passed
    assert re.match(found, outcome.description), outcome.description


def test_valid_detections_pass(tmp_path):
    store = ArtifactStore(str(tmp_path))
    detections = [Detections.from_row(**GOOD_ROW), Detections.empty()]
    manifest = _stored(store, PREDICTIONS_TABLE, predictions_table([0, 1], detections, DEFAULT_CLASS_NAMES))
    outcome = detections_are_valid(
        store, manifest, PREDICTIONS_TABLE, width=128, height=96, class_names=DEFAULT_CLASS_NAMES
    )
    assert outcome.passed, outcome.description
    assert outcome.metadata["detections"] == 1


@pytest.mark.parametrize(
    ("source_pts", "found"),
    [
        (np.arange(6) / 12, None),
        (np.arange(7) / 12, r"holds 6 frames, the source has 7$"),
        # As many frames as the source, at half its rate: the duration gives it away.
        (np.arange(6) / 24, r"lasts 0\.45\d s, the source 0\.250 s$"),
    ],
)
def test_the_output_must_play_like_its_source(tmp_path, source_pts, found):
    store = ArtifactStore(str(tmp_path))
    with (
        store.commit("output_webm", "clip.mp4", version="v1") as staged,
        VideoWriter(staged.path("annotated.webm").path, width=64, height=48, rate=Fraction(12)) as writer,
    ):
        for index in range(6):
            writer.write(yuv420.from_rgb(moving_square(index, 64, 48)), index / 12)
    manifest = store.require_manifest("output_webm", "clip.mp4")
    outcome = output_plays_like_source(store, manifest, "annotated.webm", source_pts_seconds=source_pts)
    assert outcome.metadata["frames"] == 6
    if found is None:
        assert outcome.passed, outcome.description
        assert outcome.metadata["fps"] == pytest.approx(12, rel=0.01)
    else:
        assert not outcome.passed
        assert re.match(found, outcome.description), outcome.description


def test_a_tampered_artifact_fails_its_check_and_blocks_the_stages_after_it(pipeline_env, dagster_home):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=4)
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        (first,) = register_and_run(instance, ["clip.mp4"]).values()
        assert first.success
        assert all(evaluation.passed for evaluation in first.get_asset_check_evaluations())

        manifest = store.require_manifest("frame_predictions", "clip.mp4")
        (shard,) = manifest.tables[PREDICTIONS_TABLE]
        stored_file = store.artifact_path(manifest, shard["file"]).path
        pq.write_table(pq.read_table(stored_file).slice(0, 3), stored_file)  # a frame goes missing
        rerun = (
            build_definitions()
            .resolve_job_def("video_pipeline")
            .execute_in_process(partition_key="clip.mp4", instance=instance, raise_on_error=False)
        )

    assert not rerun.success
    failed = {e.check_name: e for e in rerun.get_asset_check_evaluations() if not e.passed}
    assert set(failed) == {"frames_match_video_frames"}
    assert failed["frames_match_video_frames"].asset_key == dg.AssetKey("frame_predictions")
    assert failed["frames_match_video_frames"].description == "3 frames here, 4 in video_frames"
    materialized = {event.asset_key.to_user_string() for event in rerun.get_asset_materialization_events()}
    assert materialized == {"model_checkpoint", "video_frames", "source_audio", "frame_predictions"}
