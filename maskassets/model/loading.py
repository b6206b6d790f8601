"""Build a torchvision detector by name and load a checkpoint into it safely."""

from __future__ import annotations

from typing import IO

import torch
import torchvision

from maskassets.model.detector_spec import DetectorSpec

_STATE_DICT_WRAPPER_KEYS = ("model", "state_dict", "model_state_dict")


class CheckpointError(ValueError):
    """The checkpoint cannot be loaded into the configured detector."""


def build_detector(spec: DetectorSpec) -> torch.nn.Module:
    """An untrained detector of ``spec``'s architecture; nothing is downloaded."""
    proposals = {} if spec.proposals is None else {"rpn_post_nms_top_n_test": spec.proposals}
    return torchvision.models.get_model(
        spec.architecture,
        weights=None,
        weights_backbone=None,
        num_classes=len(spec.class_names),
        min_size=spec.min_size,
        max_size=spec.max_size,
        box_score_thresh=spec.box_score_thresh,
        box_detections_per_img=spec.box_detections_per_img,
        **proposals,
    )


def read_state_dict(source: str | IO[bytes], *, name: str) -> dict[str, torch.Tensor]:
    """Read a state dict with ``weights_only=True``: a checkpoint that would run code is refused."""
    try:
        loaded = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{name} is not a loadable PyTorch checkpoint ({type(error).__name__}: {_first_line(error)}). "
            "Save it with torch.save(model.state_dict(), path); whole pickled models are refused because "
            "loading them can run arbitrary code."
        ) from error
    if isinstance(loaded, dict):
        for key in _STATE_DICT_WRAPPER_KEYS:
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(f"{name} holds no state dict of tensors; save it with torch.save(model.state_dict()).")
    return loaded


def load_detector(spec: DetectorSpec, state_dict: dict[str, torch.Tensor], *, name: str) -> torch.nn.Module:
    """``spec``'s detector with ``state_dict`` loaded, in eval mode; a mismatch is a CheckpointError."""
    model = build_detector(spec)
    classifier = state_dict.get("roi_heads.box_predictor.cls_score.weight")
    if classifier is not None and classifier.shape[0] != len(spec.class_names):
        raise CheckpointError(
            f"{name} was trained for {classifier.shape[0]} classes but {len(spec.class_names)} are configured "
            f"({', '.join(spec.class_names)}); set `detector.class_names` to the checkpoint's classes."
        )
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"{name} does not fit {spec.architecture} with {len(spec.class_names)} classes "
            f"({_mismatch_summary(model.state_dict(), state_dict)}); set `detector.architecture` to the one the "
            "checkpoint was trained with."
        ) from error
    return model.eval()


def _mismatch_summary(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str:
    missing = sorted(expected.keys() - found.keys())
    unexpected = sorted(found.keys() - expected.keys())
    reshaped = sorted(k for k in expected.keys() & found.keys() if expected[k].shape != found[k].shape)
    parts = [
        f"{len(keys)} {kind} keys, e.g. {keys[0]}"
        for kind, keys in (("missing", missing), ("unexpected", unexpected), ("differently shaped", reshaped))
        if keys
    ]
    return "; ".join(parts)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__
