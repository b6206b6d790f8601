"""The Ray Data ``map_batches`` class that runs the detector over batches of stored frames."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch
import torchvision
from torchvision.io import ImageReadMode
from upath import UPath

from maskassets.batch.copied_frames_datasource import DECODED_RGB
from maskassets.detection.detections import Detections, predictions_table
from maskassets.media.frame_codec import decode_frame, is_jpeg
from maskassets.model.detector_spec import DetectorSpec, Precision
from maskassets.model.inference_tuning import tune_for_inference
from maskassets.model.loading import load_detector, read_state_dict
from maskassets.model.precision import with_reduced_precision
from maskassets.storage import schema


def pick_device(requested: str = "auto") -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class FrameDetector:
    """Loads the checkpoint once per worker; each call decodes a batch of stored frames (JPEG on the actor's
    device, so a GPU actor is not held back by one CPU; frames stored as the source's packets come decoded by
    the read tasks) and runs one batched forward over it."""

    def __init__(
        self,
        *,
        checkpoint_uri: str,
        spec: DetectorSpec,
        device: str = "auto",
        torch_threads: int = 0,
        precision: Precision = "fp32",
    ):
        if torch_threads > 0:
            torch.set_num_threads(torch_threads)
        self.spec = spec
        self.device = pick_device(device)
        with UPath(checkpoint_uri).open("rb") as stream:
            state_dict = read_state_dict(stream, name=checkpoint_uri)
        loaded = load_detector(spec, state_dict, name=checkpoint_uri).to(self.device)
        self.model = with_reduced_precision(tune_for_inference(loaded, self.device), self.device, precision)

    def __call__(self, batch: dict[str, np.ndarray]) -> pa.Table:
        indices = [int(index) for index in batch[schema.FRAME_INDEX]]
        if DECODED_RGB in batch:
            # One copy: Ray hands the batch read-only, and torch wants tensors it may write to.
            pixels = list(torch.from_numpy(np.array(batch[DECODED_RGB])).permute(0, 3, 1, 2))
        else:
            pixels = self._decode(list(batch[schema.IMAGE]))
        detections = self.detect([image.to(self.device).float().div_(255.0) for image in pixels])
        return predictions_table(indices, detections, self.spec.class_names)

    def detect(self, images: list[torch.Tensor]) -> list[Detections]:
        with torch.inference_mode():
            outputs = self.model(images)
        return [Detections.from_torchvision(output) for output in outputs]

    def _decode(self, images: list[bytes]) -> list[torch.Tensor]:
        """Stored images as uint8 CHW tensors; JPEG frames are decoded on the actor's device in one batch."""
        if all(is_jpeg(image) for image in images):
            encoded = [torch.frombuffer(bytearray(image), dtype=torch.uint8) for image in images]
            return torchvision.io.decode_jpeg(encoded, mode=ImageReadMode.RGB, device=self.device)
        return [torch.from_numpy(decode_frame(image)).permute(2, 0, 1) for image in images]
