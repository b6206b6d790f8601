"""The opt-in fast settings: reduced precision under autocast and a frame stride whose skipped frames
keep the boxes of the last frame the model saw. Both are part of the predictions' version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa

from maskassets import schema
from maskassets.detections import Detections, predictions_table
from maskassets.frame_codec import encode_frame
from maskassets.parquet_io import ParquetTableWriter, read_parquet_table
from maskassets.predictor import FrameDetector
from maskassets.stages.frame_predictions import PREDICTIONS_FILE, SkippedFramesFiller
from maskassets.storage import ArtifactStore
from maskassets_tests.media import TEST_SPEC, copy_carphone, decode_rgb_frames, make_clip
from maskassets_tests.pipeline_run import register_and_run, reused_by_stage


def _batch(frames: list[np.ndarray], first_index: int) -> dict[str, np.ndarray]:
    return {
        schema.FRAME_INDEX: np.arange(first_index, first_index + len(frames)),
        schema.IMAGE: np.array([encode_frame(frame) for frame in frames], dtype=object),
    }


def test_a_stride_runs_the_model_only_on_every_nth_frame(tmp_path, checkpoint_path):
    frames = decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[:4]
    every_frame = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu")
    every_second = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu", frame_stride=2)

    reference = every_frame(_batch(frames, 10)).to_pylist()
    strided = every_second(_batch(frames, 10)).to_pylist()

    assert [row[schema.DETECTED] for row in strided] == [True, False, True, False]
    for position in (0, 2):
        assert strided[position][schema.SCORES] == reference[position][schema.SCORES]
        np.testing.assert_allclose(strided[position][schema.BOXES], reference[position][schema.BOXES], atol=1e-3)
    assert strided[1][schema.BOXES] == strided[3][schema.BOXES] == []


def test_skipped_frames_keep_the_boxes_of_the_last_frame_the_model_saw(tmp_path):
    store = ArtifactStore(str(tmp_path))
    seen = Detections.from_row([[1, 2, 3, 4]], [2], [0.9])
    rows = [seen, Detections.empty(), Detections.empty(), Detections.empty()]
    target = store.root / "predictions.parquet"
    with ParquetTableWriter(store, target, schema.FRAME_PREDICTIONS_SCHEMA) as writer:
        filler = SkippedFramesFiller(writer)
        for first, detected in ((0, [True, False]), (2, [True, False])):
            batch = predictions_table([first, first + 1], rows[first : first + 2], TEST_SPEC.class_names)
            filler.write(batch.append_column(schema.DETECTED, pa.array(detected)))

    stored = read_parquet_table(store, target).to_pylist()
    assert [row[schema.FRAME_INDEX] for row in stored] == [0, 1, 2, 3]
    assert [len(row[schema.BOXES]) for row in stored] == [1, 1, 0, 0]  # frame 2 was seen, and held nothing
    assert stored[1][schema.CLASS_NAMES] == ["without_mask"]
    assert schema.DETECTED not in read_parquet_table(store, target).column_names


def test_bf16_autocast_changes_the_arithmetic_and_keeps_the_detections_valid(tmp_path, checkpoint_path):
    frames = decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[:2]
    exact = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu")(_batch(frames, 0))
    reduced = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu", precision="bf16")(
        _batch(frames, 0)
    )
    height, width = frames[0].shape[:2]
    for exact_row, reduced_row in zip(exact.to_pylist(), reduced.to_pylist(), strict=True):
        boxes = np.array(reduced_row[schema.BOXES])
        assert len(boxes) == len(exact_row[schema.BOXES]) > 0
        assert (boxes[:, [0, 1]] >= 0).all() and (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
    assert not np.allclose(
        np.array(reduced.column(schema.BOXES).to_pylist()), np.array(exact.column(schema.BOXES).to_pylist())
    )


def test_fast_settings_rebuild_the_predictions_and_fill_every_frame(pipeline_env, dagster_home, monkeypatch):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=7)
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        (exact,) = register_and_run(instance, ["clip.mp4"]).values()
        monkeypatch.setenv("MASKASSETS_FRAME_STRIDE", "3")
        monkeypatch.setenv("MASKASSETS_PRECISION", "bf16")
        (fast,) = register_and_run(instance, ["clip.mp4"]).values()

    assert exact.success and fast.success
    assert all(evaluation.passed for evaluation in fast.get_asset_check_evaluations())
    assert reused_by_stage(fast) == {
        "model_checkpoint": True,
        "video_frames": True,
        "frame_predictions": False,
        "annotated_frames": False,
        "output_webm": False,
        "mask_summary": False,
    }
    manifest = store.require_manifest("frame_predictions", "clip.mp4")
    assert (manifest.metadata["precision"], manifest.metadata["frame_stride"]) == ("bf16", 3)
    assert manifest.metadata["frames_through_the_model"] == 3
    rows = read_parquet_table(store, store.artifact_path(manifest, PREDICTIONS_FILE)).to_pylist()
    for row in rows:
        seen = rows[row[schema.FRAME_INDEX] // 3 * 3]
        assert (row[schema.BOXES], row[schema.SCORES]) == (seen[schema.BOXES], seen[schema.SCORES])
    assert len({str(row[schema.BOXES]) for row in rows}) == 3
