"""MASKASSETS_PROPOSALS caps the region proposals an R-CNN's box head scores; unset, the architecture's default
stands and the predictions keep the version they had before the setting existed."""

from __future__ import annotations

from dataclasses import asdict, replace

import torch

from maskassets.defs.resources import DetectorResource
from maskassets.model.loading import build_detector
from maskassets.storage.versions import fingerprint
from maskassets_tests.support.media import TEST_SPEC


def _proposals_scored(proposals: int | None) -> int:
    detector = build_detector(replace(TEST_SPEC, proposals=proposals)).eval()
    scored = []
    detector.roi_heads.box_roi_pool.register_forward_hook(lambda _, __, pooled: scored.append(pooled.shape[0]))
    with torch.inference_mode():
        detector([torch.rand(3, 96, 128, generator=torch.Generator().manual_seed(0))])
    (count,) = scored
    return count


def test_the_box_head_scores_only_the_proposals_asked_for():
    assert _proposals_scored(7) == 7
    assert _proposals_scored(None) > 7


def test_unset_proposals_keep_the_predictions_version_and_a_cap_changes_it():
    unset = DetectorResource()
    fields_before_the_setting = {name: value for name, value in asdict(unset.spec()).items() if name != "proposals"}
    assert unset.results_fingerprint() == fingerprint(fields_before_the_setting)
    assert DetectorResource(proposals=300).results_fingerprint() != unset.results_fingerprint()
