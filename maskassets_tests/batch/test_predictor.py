"""The Ray map_batches class, called on a batch directly (no Ray): batching changes no prediction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from maskassets.batch.detector_actor import FrameDetector
from maskassets.detection.detections import detections_by_frame
from maskassets.media.frame_codec import FrameFormat, decode_frame
from maskassets.model.loading import load_detector, read_state_dict
from maskassets.storage import schema
from maskassets_tests.support.media import TEST_SPEC, copy_carphone, decode_rgb_frames


@pytest.mark.parametrize("frame_format", [FrameFormat("png"), FrameFormat("jpeg")], ids=["png", "jpeg"])
def test_batched_predictions_equal_per_image_predictions(tmp_path: Path, checkpoint_path: Path, frame_format):
    """JPEG frames are decoded by torchvision in one batch on the actor's device, PNG ones one by one; either
    way each frame gets the detections the model gives it alone, decoded as every other stage decodes it."""
    stored = [frame_format.encode(frame) for frame in decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[:3]]
    detector = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu")
    batch = {schema.FRAME_INDEX: np.array([10, 11, 12]), schema.IMAGE: np.array(stored, dtype=object)}
    batched = detections_by_frame(detector(batch))

    with open(checkpoint_path, "rb") as stream:
        reference = load_detector(TEST_SPEC, read_state_dict(stream, name="test"), name="test")
    for index, frame in zip([10, 11, 12], (decode_frame(image) for image in stored), strict=True):
        with torch.inference_mode():
            single = reference([torch.from_numpy(frame).permute(2, 0, 1).float() / 255.0])[0]
        assert len(batched[index]) == len(single["scores"]) > 0
        np.testing.assert_allclose(batched[index].boxes, single["boxes"].numpy(), atol=1e-3)
        np.testing.assert_array_equal(batched[index].labels, single["labels"].numpy())
        np.testing.assert_allclose(batched[index].scores, single["scores"].numpy(), atol=1e-5)


def test_predictions_name_their_classes(checkpoint_path: Path, tmp_path: Path):
    frames = decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[:1]
    detector = FrameDetector(checkpoint_uri=str(checkpoint_path), spec=TEST_SPEC, device="cpu")
    table = detector(
        {
            schema.FRAME_INDEX: np.array([0]),
            schema.IMAGE: np.array([FrameFormat("jpeg").encode(frames[0])], dtype=object),
        }
    )
    row = table.to_pylist()[0]
    assert row[schema.CLASS_NAMES] == [TEST_SPEC.class_names[label] for label in row[schema.LABELS]]
    assert table.schema.equals(schema.FRAME_PREDICTIONS_SCHEMA)
