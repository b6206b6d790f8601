"""Small images for people: a contact sheet of evenly spaced frames, a poster frame, and how an image
is embedded in the markdown that the Dagster UI renders."""

from __future__ import annotations

import base64

import cv2
import numpy as np
from upath import UPath

_JPEG_QUALITY = 85
_LABEL_HEIGHT = 16
_LABEL_FONT = cv2.FONT_HERSHEY_SIMPLEX


class ContactSheetSampler:
    """Keeps ``count`` evenly spaced thumbnails of a frame stream whose length is not known in advance.

    Frames are kept at a stride that doubles whenever four times ``count`` are held, so memory stays at a few
    dozen thumbnails however long the video, and only frames on the stride are ever resized.
    """

    def __init__(self, *, count: int = 12, thumbnail_width: int = 160, columns: int = 4) -> None:
        self.count = count
        self.thumbnail_width = thumbnail_width
        self.columns = columns
        self._stride = 1
        self._kept: dict[int, np.ndarray] = {}
        #: Set by the first frame, so a stream that changes size mid-way still tiles.
        self._thumbnail_size: tuple[int, int] | None = None

    def offer(self, index: int, rgb: np.ndarray) -> None:
        if index % self._stride:
            return
        if self._thumbnail_size is None:
            height = max(1, round(rgb.shape[0] * self.thumbnail_width / rgb.shape[1]))
            self._thumbnail_size = (self.thumbnail_width, height)
        self._kept[index] = cv2.resize(rgb, self._thumbnail_size, interpolation=cv2.INTER_AREA)
        if len(self._kept) >= 4 * self.count:
            self._stride *= 2
            self._kept = {kept: image for kept, image in self._kept.items() if kept % self._stride == 0}

    def sampled_indices(self) -> list[int]:
        held = sorted(self._kept)
        if len(held) <= self.count:
            return held
        positions = np.linspace(0, len(held) - 1, self.count).round().astype(int)
        return [held[position] for position in positions]

    def render(self) -> np.ndarray:
        """The sampled thumbnails in a grid, each captioned with its frame_index."""
        tiles = [_captioned(self._kept[index], f"frame {index}") for index in self.sampled_indices()]
        if not tiles:
            raise ValueError("no frame was offered to the contact sheet")
        blank = np.zeros_like(tiles[0])
        tiles += [blank] * (-len(tiles) % self.columns)
        rows = [np.hstack(tiles[start : start + self.columns]) for start in range(0, len(tiles), self.columns)]
        return np.vstack(rows)


def save_jpeg(rgb: np.ndarray, target: UPath) -> None:
    target.write_bytes(jpeg_bytes(rgb))


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ValueError(f"could not JPEG-encode an image of shape {rgb.shape}")
    return encoded.tobytes()


def markdown_image(image: bytes, *, alt: str, mime_type: str = "image/jpeg") -> str:
    """Markdown that shows ``image`` inline: the UI renders it without reaching the artifact store."""
    return f"![{alt}](data:{mime_type};base64,{base64.b64encode(image).decode('ascii')})"


def _captioned(thumbnail: np.ndarray, caption: str) -> np.ndarray:
    strip = np.full((_LABEL_HEIGHT, thumbnail.shape[1], 3), 24, dtype=np.uint8)
    cv2.putText(strip, caption, (4, _LABEL_HEIGHT - 4), _LABEL_FONT, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    return np.vstack([thumbnail, strip])
