"""All five assets for two real videos, on a real Dagster instance and a real local Ray."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.definitions import build_definitions
from maskassets.defs.partitions import video_partitions
from maskassets.detection.box_drawing import DEFAULT_CLASS_COLORS, BoxAnnotator
from maskassets.detection.detections import class_name, detections_by_frame
from maskassets.media import yuv420
from maskassets.media.video_writing import output_file_name
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import FRAMES_TABLE, PREDICTIONS_TABLE
from maskassets_tests.support.media import (
    TEST_SPEC,
    copy_carphone,
    decode_rgb_frames,
    ffprobe,
    make_clip,
    pipeline_settings,
)
from maskassets_tests.support.pipeline_run import annotated_segments, register_and_run, reused_by_stage, stored_table

pytestmark = pytest.mark.slow
KEYS = ["made_clip.mp4", "carphone.mp4"]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, checkpoint_path: Path):
    root = tmp_path_factory.mktemp("e2e")
    videos = root / "videos"
    videos.mkdir()
    make_clip(videos / KEYS[0])
    copy_carphone(videos / KEYS[1])
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"DAGSTER_HOME": str(root / "home"), **pipeline_settings(root, checkpoint_path)}.items():
            patch.setenv(name, value)
        # The default frames (the source's packets) decode to the source's pixels exactly, so what the drawing
        # changes (and leaves alone) is checked pixel for pixel.
        (root / "home").mkdir()
        with dg.instance_for_test(temp_dir=str(root / "home")) as instance:
            results = register_and_run(instance, KEYS)
            yield {
                "videos": videos,
                "store": ArtifactStore(str(root / "artifacts")),
                "instance": instance,
                "results": results,
            }


def test_every_partition_succeeds_and_builds_every_stage(built):
    for key in KEYS:
        result = built["results"][key]
        assert result.success
        assert reused_by_stage(result) == {
            "model_checkpoint": key != KEYS[0],
            "video_frames": False,
            "source_audio": False,
            "frame_predictions": False,
            "face_tracks": False,
            "annotated_frames": False,
            "output_webm": False,
            "mask_summary": False,
            "detections_export": False,
        }


@pytest.mark.parametrize("key", KEYS)
def test_frame_counts_match_the_source_at_every_stage(built, key):
    source_frames = decode_rgb_frames(built["videos"] / key)
    store = built["store"]
    frames = stored_table(store, "video_frames", key, FRAMES_TABLE)
    predictions = stored_table(store, "frame_predictions", key, PREDICTIONS_TABLE)
    segments = store.require_manifest("annotated_frames", key).segments
    output_frames = decode_rgb_frames(_webm_path(store, key))
    expected = list(range(len(source_frames)))
    for table in (frames, predictions):
        assert table.column(schema.FRAME_INDEX).to_pylist() == expected
    assert [segment["first_frame"] for segment in segments] == [0]
    assert sum(len(decoded) for decoded in annotated_segments(store, key)) == len(source_frames)
    assert len(output_frames) == len(source_frames)
    stored_frames = iter_stored_frames(store, store.require_manifest("video_frames", key))
    for stored, source in zip(stored_frames, source_frames, strict=True):
        np.testing.assert_array_equal(stored.rgb, source)


def test_every_check_passes_and_the_copied_packets_hold_every_frame(built):
    for key in KEYS:
        checks = {check.check_name: check for check in built["results"][key].get_asset_check_evaluations()}
        assert all(check.passed for check in checks.values()), key
        frames = built["store"].require_manifest("video_frames", key)
        assert checks["frame_index_contiguous"].description.endswith(f"in {len(frames.segments)} segments")


def test_predictions_equal_those_made_from_lossless_images(built, tmp_path, checkpoint_path):
    """The frames kept as the source's packets and as PNG images are the same pixels: the same detections."""
    (tmp_path / "videos").mkdir()
    shutil.copyfile(built["videos"] / KEYS[0], tmp_path / "videos" / KEYS[0])
    (tmp_path / "home").mkdir()
    settings = {**pipeline_settings(tmp_path, checkpoint_path), "MASKASSETS_FRAME_FORMAT": "png"}
    with pytest.MonkeyPatch.context() as patch, dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        for name, value in settings.items():
            patch.setenv(name, value)
        instance.add_dynamic_partitions(video_partitions.name, [KEYS[0]])
        stages = [dg.AssetKey(stage) for stage in ("model_checkpoint", "video_frames", "frame_predictions")]
        job = build_definitions().resolve_job_def("video_pipeline")
        assert job.execute_in_process(partition_key=KEYS[0], instance=instance, asset_selection=stages).success
    lossless = ArtifactStore(str(tmp_path / "artifacts"))
    assert lossless.require_manifest("video_frames", KEYS[0]).metadata["frame_format"] == "PNG (lossless)"
    predictions = stored_table(built["store"], "frame_predictions", KEYS[0], PREDICTIONS_TABLE)
    assert sum(len(boxes) for boxes in predictions[schema.BOXES].to_pylist()) > 0
    assert predictions.equals(stored_table(lossless, "frame_predictions", KEYS[0], PREDICTIONS_TABLE))


@pytest.mark.parametrize("key", KEYS)
def test_output_keeps_the_source_fps_and_duration(built, key):
    entries = {"stream": "codec_name,avg_frame_rate", "container": "duration"}
    source, output = ffprobe(built["videos"] / key, **entries), ffprobe(_webm_path(built["store"], key), **entries)
    assert output["codec_name"] == "vp8"
    assert output["avg_frame_rate"] == source["avg_frame_rate"]
    assert float(output["duration"]) == pytest.approx(float(source["duration"]), abs=0.002)


def test_predictions_hold_boxes_inside_the_frame_in_original_pixels(built):
    store = built["store"]
    predictions = stored_table(store, "frame_predictions", KEYS[1], PREDICTIONS_TABLE)
    boxes = np.concatenate([d.boxes for d in detections_by_frame(predictions).values()])
    assert len(boxes) > 0
    assert boxes[:, 0].min() >= 0 and boxes[:, 1].min() >= 0
    assert boxes[:, 2].max() <= 176 and boxes[:, 3].max() <= 144
    # The model saw 96-px-high inputs; boxes are scaled back beyond that to the 144-px frame.
    assert boxes[:, 3].max() > 96


@pytest.mark.parametrize("key", KEYS)
def test_drawn_box_edges_have_the_class_colour_and_the_rest_is_untouched(built, key):
    store = built["store"]
    frames = [frame.rgb for frame in iter_stored_frames(store, store.require_manifest("video_frames", key))]
    predictions = detections_by_frame(stored_table(store, "frame_predictions", key, PREDICTIONS_TABLE))
    annotated = [frame for segment in annotated_segments(store, key) for frame in segment]
    output_frames = decode_rgb_frames(_webm_path(store, key))
    annotator = BoxAnnotator(class_names=TEST_SPEC.class_names)
    checked_edges = 0
    for index in range(0, len(frames), 3):
        # The published video holds the annotated segments' packets as they are: the same pictures.
        np.testing.assert_array_equal(output_frames[index], annotated[index])
        detections = predictions[index].above(0.5)
        if not len(detections):
            continue
        source = frames[index]
        top = int(np.argsort(detections.scores, kind="stable")[-1])
        x1, y1, x2, y2 = (int(round(float(v))) for v in detections.boxes[top])
        expected = np.array(DEFAULT_CLASS_COLORS[class_name(TEST_SPEC.class_names, int(detections.labels[top]))])
        edge = (min(y2, source.shape[0] - 1), (x1 + x2) // 2)
        assert np.abs(annotated[index][edge].astype(int) - expected).max() <= 80
        far = _far_from_boxes(source.shape[:2], detections.boxes, margin=12)
        assert far.mean() > 0.1, "the test needs pixels far from every box"
        assert np.abs(annotated[index][far].astype(int) - source[far].astype(int)).mean() < 6
        # What was encoded is these detections drawn on this frame, not another frame's or none.
        drawn = yuv420.from_rgb(source)
        annotator.annotate(drawn, detections)
        assert _psnr(annotated[index], drawn.to_ndarray(format="rgb24")) > _psnr(annotated[index], source) + 3
        checked_edges += 1
    assert checked_edges > 0


def _psnr(decoded: np.ndarray, reference: np.ndarray) -> float:
    error = np.mean((decoded.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / max(error, 1e-9)))


def _far_from_boxes(shape: tuple[int, int], boxes: np.ndarray, *, margin: int) -> np.ndarray:
    covered = np.zeros(shape, dtype=bool)
    for x1, y1, x2, y2 in boxes.astype(int):
        # Labels sit above the box's top-left corner, up to ~16 px high and ~120 px wide.
        covered[max(0, y1 - 16 - margin) : y2 + margin, max(0, x1 - margin) : max(x2, x1 + 120) + margin] = True
    return ~covered


def _webm_path(store: ArtifactStore, key: str):
    manifest = store.require_manifest("output_webm", key)
    return Path(store.artifact_path(manifest, output_file_name("vp8")).path)
