"""Tuning a detector for inference (batch norms folded, channels-last) keeps its detections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.ops import FrozenBatchNorm2d

from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.inference_tuning import tune_for_inference
from maskassets.model.loading import build_detector
from maskassets_tests.support.media import TEST_SPEC, copy_carphone, decode_rgb_frames


def _randomise_batch_norm_statistics(model: nn.Module) -> None:
    """Fresh batch norms are identities; random statistics make a wrong fold show in the detections."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, FrozenBatchNorm2d)):
            channels = module.running_mean.shape[0]
            module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(channels, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(channels, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(channels, generator=generator) * 0.1)


@pytest.mark.parametrize("architecture", ["fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn"])
def test_tuned_detector_finds_what_the_plain_one_finds(tmp_path: Path, architecture: str):
    spec = DetectorSpec(architecture=architecture, min_size=TEST_SPEC.min_size, max_size=TEST_SPEC.max_size)
    torch.manual_seed(0)
    plain = build_detector(spec).eval()
    _randomise_batch_norm_statistics(plain)
    tuned = build_detector(spec).eval()
    tuned.load_state_dict(plain.state_dict())
    tuned = tune_for_inference(tuned, torch.device("cpu"))

    assert not [m for m in tuned.modules() if isinstance(m, (nn.BatchNorm2d, FrozenBatchNorm2d))]
    first_conv = next(m for m in tuned.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)

    frames = decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[:2]
    images = [torch.from_numpy(frame).permute(2, 0, 1).float() / 255.0 for frame in frames]
    with torch.inference_mode():
        batch = plain.transform(images)[0].tensors
        expected_features, found_features = plain.backbone(batch), tuned.backbone(batch)
        expected, found = plain(images), tuned(images)
    for level, want in expected_features.items():
        relative_error = (found_features[level] - want).abs().max() / want.abs().max()
        assert relative_error < 1e-4, level
    for want, got in zip(expected, found, strict=True):
        np.testing.assert_array_equal(got["labels"].numpy(), want["labels"].numpy())
        np.testing.assert_allclose(got["scores"].numpy(), want["scores"].numpy(), atol=5e-3)
        # Random statistics blow activations up to hundreds, which magnifies rounding in the box regression.
        np.testing.assert_allclose(got["boxes"].numpy(), want["boxes"].numpy(), atol=0.5)


def test_a_batch_norm_not_after_a_convolution_stays():
    head = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.ReLU())
    tune_for_inference(head, torch.device("cpu"))
    assert isinstance(head[0], nn.BatchNorm2d)
