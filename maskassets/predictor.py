"""The Ray Data ``map_batches`` class that runs the detector over batches of stored frames."""

from __future__ import annotations

import contextlib

import numpy as np
import pyarrow as pa
import torch
from upath import UPath

from maskassets import schema
from maskassets.detections import Detections, predictions_table
from maskassets.detector_spec import DetectorSpec, Precision
from maskassets.frame_codec import decode_frame
from maskassets.inference_tuning import tune_for_inference
from maskassets.model import load_detector, read_state_dict

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class FrameDetector:
    """Loads the checkpoint once per worker; each call runs one batched forward over a batch of frames.

    With ``frame_stride`` N only frames whose frame_index is a multiple of N go through the model; the
    others come back empty and flagged in the ``detected`` column, for the stage to fill in.
    """

    def __init__(
        self,
        *,
        checkpoint_uri: str,
        spec: DetectorSpec,
        device: str = "auto",
        torch_threads: int = 0,
        precision: Precision = "fp32",
        frame_stride: int = 1,
    ):
        if torch_threads > 0:
            torch.set_num_threads(torch_threads)
        self.spec = spec
        self.device = pick_device(device)
        self.precision = precision
        self.frame_stride = frame_stride
        with UPath(checkpoint_uri).open("rb") as stream:
            state_dict = read_state_dict(stream, name=checkpoint_uri)
        loaded = load_detector(spec, state_dict, name=checkpoint_uri).to(self.device)
        self.model = tune_for_inference(loaded, self.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        indices = [int(index) for index in batch[schema.FRAME_INDEX]]
        detected = [index % self.frame_stride == 0 for index in indices]
        images = [
            self._to_tensor(decode_frame(png)) for png, run in zip(batch[schema.IMAGE], detected, strict=True) if run
        ]
        found = iter(self.detect(images) if images else [])
        detections = [next(found) if run else Detections.empty() for run in detected]
        table = predictions_table(indices, detections, self.spec.class_names)
        return table.append_column(schema.DETECTED, pa.array(detected, pa.bool_()))

    def detect(self, images: list[torch.Tensor]) -> list[Detections]:
        with torch.inference_mode(), self._autocast():
            outputs = self.model(images)
        return [Detections.from_torchvision(output) for output in outputs]

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=_AUTOCAST_DTYPES[self.precision])

    def _to_tensor(self, rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).float().div_(255.0)
