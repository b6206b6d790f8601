"""The opt-in fast settings: reduced precision (the convolutions under autocast, box decoding and NMS in fp32,
refused where the device would emulate it) and a frame stride whose skipped frames keep the boxes of the last
frame the model saw. Both are part of the predictions' version."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import torch

from maskassets.batch.datasource import FrameTableDatasource, TableRef
from maskassets.batch.detector_actor import FrameDetector
from maskassets.batch.segment_decoding import frames_table
from maskassets.definitions import build_definitions
from maskassets.detection.detections import Detections, predictions_table
from maskassets.media.frame_codec import FrameFormat
from maskassets.media.video import DecodedFrame
from maskassets.model.precision import native_precision_problem
from maskassets.stages.frame_predictions import StrideFiller
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import PREDICTIONS_TABLE
from maskassets.storage.sharded_tables import ShardLayout, ShardWriter, read_table
from maskassets_tests.support.media import TEST_SPEC, copy_carphone, decode_rgb_frames, make_clip, moving_square
from maskassets_tests.support.pipeline_run import register_and_run, reused_by_stage


def _batch(frames: list[np.ndarray], first_index: int) -> dict[str, np.ndarray]:
    return {
        schema.FRAME_INDEX: np.arange(first_index, first_index + len(frames)),
        schema.IMAGE: np.array([FrameFormat("jpeg").encode(frame) for frame in frames], dtype=object),
    }


def test_a_stride_reads_only_every_nth_frame_for_the_model(tmp_path):
    store = ArtifactStore(str(tmp_path))
    frames = [moving_square(index, 32, 24) for index in range(7)]
    with store.commit("video_frames", "clip.mp4", version="v1") as staged:
        with ShardWriter(
            store,
            staged.directory,
            table="frames",
            name="all",
            table_schema=schema.VIDEO_FRAMES_SCHEMA,
            layout=ShardLayout(max_shard_bytes=2**20, row_group_bytes=2**20),
        ) as writer:
            decoded = [DecodedFrame(i, i / 12, rgb) for i, rgb in enumerate(frames)]
            writer.write(frames_table(decoded, FrameFormat("jpeg")))
        staged.add_table("frames", [shard.as_dict() for shard in writer.shards])
    source = TableRef(store.require_manifest("video_frames", "clip.mp4"), "frames", (schema.FRAME_INDEX,))

    read = [
        index
        for task in FrameTableDatasource(store, source, every_nth=3).get_read_tasks(2)
        for block in task()
        for index in block[schema.FRAME_INDEX].to_pylist()
    ]
    assert read == [0, 3, 6]


def test_skipped_frames_keep_the_boxes_of_the_last_frame_the_model_saw():
    seen = Detections.from_row([[1, 2, 3, 4]], [2], [0.9])
    detected = predictions_table([0, 3, 6], [seen, Detections.empty(), seen], TEST_SPEC.class_names)

    rows = StrideFiller(frame_stride=3, frame_count=8)(detected.slice(1)).to_pylist()
    rows = StrideFiller(frame_stride=3, frame_count=8)(detected.slice(0, 1)).to_pylist() + rows

    assert [row[schema.FRAME_INDEX] for row in rows] == list(range(8))
    assert [len(row[schema.BOXES]) for row in rows] == [1, 1, 1, 0, 0, 0, 1, 1]  # frame 3 was seen, and held nothing
    assert rows[1][schema.CLASS_NAMES] == ["without_mask"]


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


def test_bf16_runs_the_convolutions_only_and_leaves_box_decoding_and_nms_in_fp32(tmp_path, checkpoint_path):
    frames = decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[:2]
    reduced = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu", precision="bf16")
    coordinates = np.concatenate(
        [np.array(row[schema.BOXES]).ravel() for row in reduced(_batch(frames, 0)).to_pylist()]
    )
    inside = coordinates[(coordinates > 1) & (coordinates < 143)]
    as_bf16 = torch.from_numpy(inside).to(torch.bfloat16).double().numpy()
    # Decoded in bf16, every coordinate would lie on bf16's grid (0.25 to 0.5 px here); decoded in fp32, hardly any.
    assert len(inside) >= 8 and np.mean(inside == as_bf16) < 0.25


def test_a_precision_the_device_would_emulate_is_named_with_the_reason():
    cpu = torch.device("cpu")
    assert native_precision_problem("fp32", cpu, frozenset()) is None
    assert native_precision_problem("bf16", cpu, frozenset({"avx512_bf16", "avx2"})) is None
    assert native_precision_problem("bf16", cpu, frozenset({"amx_bf16"})) is None
    assert "neither AVX-512 BF16 nor AMX" in native_precision_problem("bf16", cpu, frozenset({"avx2", "fma"}))
    assert "emulation" in native_precision_problem("fp16", cpu, frozenset({"avx512_bf16"}))


def test_fast_settings_rebuild_the_predictions_and_fill_every_frame(pipeline_env, dagster_home, monkeypatch):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=7)
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        (exact,) = register_and_run(instance, ["clip.mp4"]).values()
        monkeypatch.setenv("MASKASSETS_FRAME_STRIDE", "3")
        (fast,) = register_and_run(instance, ["clip.mp4"]).values()
        strided = store.require_manifest("frame_predictions", "clip.mp4")
        # fp16 on CPU actors is emulated in every case: refused before any frame is read, nothing committed.
        monkeypatch.setenv("MASKASSETS_PRECISION", "fp16")
        job = build_definitions().resolve_job_def("video_pipeline")
        emulated = job.execute_in_process(partition_key="clip.mp4", instance=instance, raise_on_error=False)

    assert exact.success and fast.success
    assert all(evaluation.passed for evaluation in fast.get_asset_check_evaluations())
    assert reused_by_stage(fast) == {
        "model_checkpoint": True,
        "video_frames": True,
        "source_audio": True,
        "frame_predictions": False,
        "face_tracks": False,
        "annotated_frames": False,
        "output_webm": False,
        "mask_summary": False,
        "detections_export": False,
    }
    manifest = store.require_manifest("frame_predictions", "clip.mp4")
    assert (manifest.metadata["precision"], manifest.metadata["frame_stride"]) == ("fp32", 3)
    assert manifest.metadata["frames_through_the_model"] == 3
    rows = read_table(store, manifest, PREDICTIONS_TABLE).to_pylist()
    for row in rows:
        seen = rows[row[schema.FRAME_INDEX] // 3 * 3]
        assert (row[schema.BOXES], row[schema.SCORES]) == (seen[schema.BOXES], seen[schema.SCORES])
    assert len({str(row[schema.BOXES]) for row in rows}) == 3

    assert not emulated.success
    (failure,) = emulated.get_step_failure_events()
    assert failure.step_key == "frame_predictions"
    message = str(failure.step_failure_data.error)
    assert "The detector actors do not run fp16 natively" in message
    assert "set `detector.precision` (MASKASSETS_PRECISION) to fp32" in message
    assert store.require_manifest("frame_predictions", "clip.mp4") == strided
