"""The Ray Data ``map_batches`` class that runs the detector over batches of stored frames."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch
from upath import UPath

from maskassets import schema
from maskassets.detections import Detections, predictions_table
from maskassets.frame_codec import decode_frame
from maskassets.model import DetectorSpec, load_detector, read_state_dict


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class FrameDetector:
    """Loads the checkpoint once per worker; each call runs one batched forward over a batch of frames."""

    def __init__(self, *, checkpoint_uri: str, spec: DetectorSpec, device: str = "auto", torch_threads: int = 0):
        if torch_threads > 0:
            torch.set_num_threads(torch_threads)
        self.spec = spec
        self.device = pick_device(device)
        with UPath(checkpoint_uri).open("rb") as stream:
            state_dict = read_state_dict(stream, name=checkpoint_uri)
        self.model = load_detector(spec, state_dict, name=checkpoint_uri).to(self.device)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        images = [self._to_tensor(decode_frame(png)) for png in batch[schema.IMAGE]]
        return predictions_table(batch[schema.FRAME_INDEX], self.detect(images), self.spec.class_names)

    def detect(self, images: list[torch.Tensor]) -> list[Detections]:
        with torch.inference_mode():
            outputs = self.model(images)
        return [Detections.from_torchvision(output) for output in outputs]

    def _to_tensor(self, rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).float().div_(255.0)
