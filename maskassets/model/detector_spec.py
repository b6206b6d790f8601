"""What decides what a detector computes; importable without torch, so the Dagster definitions load fast."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

DEFAULT_ARCHITECTURE = "fasterrcnn_resnet50_fpn"
DEFAULT_CLASS_NAMES = ("background", "with_mask", "without_mask", "mask_weared_incorrect")
#: fp32 is exact; bf16 (CPUs with AVX-512 BF16 or AMX, and GPUs) and fp16 (GPUs) run under autocast.
Precision = Literal["fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class DetectorSpec:
    """Everything that decides what a detector computes from a checkpoint."""

    architecture: str = DEFAULT_ARCHITECTURE
    class_names: tuple[str, ...] = DEFAULT_CLASS_NAMES
    min_size: int = 800
    max_size: int = 1333
    box_score_thresh: float = 0.05
    box_detections_per_img: int = 100
    #: Region proposals the RPN hands the box head per image; None: the architecture's (1000 for Faster R-CNN).
    proposals: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Its fields, less those left to the architecture, so a field added later keeps the versions of the
        predictions made before it."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    def has_region_proposals(self) -> bool:
        """Whether the architecture proposes regions for a box head (torchvision's R-CNNs; not RetinaNet, FCOS or
        SSD, which score their anchors directly)."""
        return "rcnn" in self.architecture
