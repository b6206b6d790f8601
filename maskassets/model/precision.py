"""Reduced precision where it pays and the hardware runs it: the backbone and heads (the convolutions, nearly all
the arithmetic) under autocast, while box decoding and NMS stay fp32, since batched NMS offsets each class's
boxes by thousands of pixels, which bf16 rounds to a 4-32 px grid. A precision the device would only emulate
is refused: emulated bf16 ran 0.80x the speed of fp32 on an AVX2 CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from maskassets.model.detector_spec import Precision

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}
#: The parts of torchvision's detectors that hold the convolutions (two-stage: Faster R-CNN; one-stage: RetinaNet,
#: FCOS, SSD); what runs between them (anchors, box decoding, NMS) stays fp32.
_REDUCED_PARTS = ("backbone", "rpn.head", "roi_heads.box_head", "roi_heads.box_predictor", "head")
#: CPU flags (Linux /proc/cpuinfo) of native bf16 arithmetic: AVX-512 BF16, AMX, and Arm's BF16 extension.
_NATIVE_BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
_CPU_INFO = Path("/proc/cpuinfo")


class PrecisionError(ValueError):
    """The precision setting asks for arithmetic the detector actors' device does not run natively."""


def with_reduced_precision(model: nn.Module, device: torch.device, precision: Precision) -> nn.Module:
    """``model`` with its backbone and heads run under autocast to ``precision`` (fp32: unchanged)."""
    if precision == "fp32":
        return model
    for path in _REDUCED_PARTS:
        parent_path, _, name = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        if isinstance(getattr(parent, name, None), nn.Module):
            setattr(parent, name, _Autocast(getattr(parent, name), device.type, _AUTOCAST_DTYPES[precision]))
    return model


class _Autocast(nn.Module):
    """Runs ``inner`` under autocast and hands fp32 tensors on, so what follows computes in fp32."""

    def __init__(self, inner: nn.Module, device_type: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.inner = inner
        self.device_type = device_type
        self.dtype = dtype

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        with torch.autocast(device_type=self.device_type, dtype=self.dtype):
            return _to_fp32(self.inner(*args, **kwargs))


def _to_fp32(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, dict):
        return type(value)((key, _to_fp32(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return type(value)(_to_fp32(item) for item in value)
    return value


def native_precision_problem(precision: Precision, device: torch.device, cpu_flags: frozenset[str]) -> str | None:
    """Why ``device`` would only emulate ``precision`` (None: it runs it natively)."""
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if precision == "bf16" and not torch.cuda.is_bf16_supported(including_emulation=False):
            return f"{torch.cuda.get_device_name(device)} has no bf16 arithmetic (it arrived with Ampere)"
        return None
    if precision == "fp16":
        return "torch runs fp16 on CPUs by emulation"
    if not cpu_flags & _NATIVE_BF16_CPU_FLAGS:
        return "this CPU has neither AVX-512 BF16 nor AMX, so bf16 is emulated"
    return None


def cpu_flags() -> frozenset[str]:
    """This machine's CPU flags, as Linux lists them (empty elsewhere)."""
    if not _CPU_INFO.exists():
        return frozenset()
    for line in _CPU_INFO.read_text().splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()
