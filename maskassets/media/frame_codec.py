"""How frames are stored: as the source's own packets by default (``source``: a copy of each segment's packets,
decoded again by the stages that read it, see packet_copy), or as JPEG or lossless PNG images in parquet.

Chosen by `python bench/frame_codec.py` (README, design notes): on 720p frames the copied packets take 44x
fewer bytes than JPEG at quality 95 and decode as fast, with every pixel of a sequential decode; JPEG is
4.2x smaller than PNG level 1 and decodes in batches on a GPU (``torchvision.io.decode_jpeg``); PNG keeps
every pixel of frames a user wants as images.
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

    def identity(self) -> dict[str, object]:
        """What decides the stored bytes: the quality only matters to JPEG."""
        return {"name": self.name, "jpeg_quality": self.jpeg_quality} if self.name == "jpeg" else {"name": self.name}

    def encode(self, rgb: np.ndarray) -> bytes:
        """One frame as a stored image."""
        if not self.stores_images:
            raise ValueError("frames kept as the source's packets are not stored as images")
        extension, params = {
            "jpeg": (".jpg", [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality]),
            "png": (".png", [cv2.IMWRITE_PNG_COMPRESSION, 1]),
        }[self.name]
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
