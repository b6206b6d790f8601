"""How frames are stored: as JPEG images in parquet by default, as lossless PNG, or as the source's own packets
(``source``: a copy of each segment's packets, decoded again by the stages that read it, see packet_copy).

Chosen by `python bench/frame_codec.py` (README, design notes): on 720p frames JPEG at quality 95 is 4.2x
smaller than PNG level 1, 14x cheaper to encode and 3.9x cheaper to decode, its worst frame 41.7 dB PSNR
from the decoded source (39-48 dB over the three clips measured), and it decodes in batches on a GPU
(``torchvision.io.decode_jpeg``). PNG keeps every pixel, for users who need the frames bit-exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

FrameFormatName = Literal["jpeg", "png", "source"]


@dataclass(frozen=True)
class FrameFormat:
    """The image encoding of stored frames; part of the version of every table that stores images."""

    name: FrameFormatName = "source"
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        if self.name not in ("jpeg", "png", "source"):
            raise ValueError(f"frame format {self.name!r} is none of 'jpeg', 'png' and 'source'")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"JPEG quality {self.jpeg_quality} is outside 1-100")

    @property
    def stores_images(self) -> bool:
        """Whether each frame is an image in the frames table (else the source's packets are copied)."""
        return self.name != "source"

    def encode(self, rgb: np.ndarray) -> bytes:
        extension, params = (
            (".jpg", [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if self.name == "jpeg"
            else (".png", [cv2.IMWRITE_PNG_COMPRESSION, 1])
        )
        ok, encoded = cv2.imencode(extension, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
        if not ok:
            raise ValueError(f"could not {self.name}-encode a frame of shape {rgb.shape}")
        return encoded.tobytes()

    def describe(self) -> str:
        return {
            "jpeg": f"JPEG quality {self.jpeg_quality}",
            "png": "PNG (lossless)",
            "source": "the source's packets (copied per segment)",
        }[self.name]


def decode_frame(image: bytes) -> np.ndarray:
    """A stored frame (JPEG or PNG: the bytes say which) as RGB."""
    bgr = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("a stored frame is not a decodable JPEG or PNG image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def is_jpeg(image: bytes) -> bool:
    return image[:3] == b"\xff\xd8\xff"
