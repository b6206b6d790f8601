"""Small images for people: a contact sheet of evenly spaced frames, a poster frame, and how an image
is embedded in the markdown that the Dagster UI renders."""

from __future__ import annotations

import base64
from collections.abc import Mapping

import cv2
import numpy as np
from upath import UPath

_JPEG_QUALITY = 85
_LABEL_HEIGHT = 16
_LABEL_FONT = cv2.FONT_HERSHEY_SIMPLEX


#: Frames on a contact sheet, and the width of each thumbnail.
CONTACT_SHEET_FRAMES = 12
_THUMBNAIL_WIDTH = 160


def contact_sheet_indices(frame_count: int, count: int = CONTACT_SHEET_FRAMES) -> list[int]:
    """``count`` frame indices spread evenly from the first frame to the last (all frames when fewer)."""
    if frame_count <= count:
        return list(range(frame_count))
    return sorted({int(i) for i in np.linspace(0, frame_count - 1, count).round()})


def thumbnail(rgb: np.ndarray, width: int = _THUMBNAIL_WIDTH) -> np.ndarray:
    height = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)


def contact_sheet(thumbnails: Mapping[int, np.ndarray], *, columns: int = 4) -> np.ndarray:
    """The thumbnails in frame order in a grid, each captioned with its frame_index; all take the first's size,
    so a stream that changes size mid-way still tiles."""
    if not thumbnails:
        raise ValueError("no frame was given to the contact sheet")
    ordered = [thumbnails[index] for index in sorted(thumbnails)]
    height, width = ordered[0].shape[:2]
    tiles = [
        _captioned(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), f"frame {index}")
        for index, image in zip(sorted(thumbnails), ordered, strict=True)
    ]
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % columns)
    rows = [np.hstack(tiles[start : start + columns]) for start in range(0, len(tiles), columns)]
    return np.vstack(rows)


def save_jpeg(rgb: np.ndarray, target: UPath) -> None:
    target.write_bytes(encode_jpeg(rgb))


def encode_jpeg(rgb: np.ndarray) -> bytes:
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
