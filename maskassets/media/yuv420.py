"""4:2:0 YUV pictures, the form decoders give and encoders take: RGB converted into it, a colour's value in each
plane, and a frame's planes as arrays to draw on."""

from __future__ import annotations

from functools import cache

import av
import cv2
import numpy as np

FORMAT = "yuv420p"


def from_rgb(rgb: np.ndarray) -> av.VideoFrame:
    """An RGB picture as a 4:2:0 frame (BT.601, limited range, as FFmpeg's own conversion)."""
    if rgb.shape[0] % 2 or rgb.shape[1] % 2:
        # OpenCV converts even sides only.
        return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=FORMAT)
    # OpenCV's conversion costs a fifth to a third of FFmpeg's CPU (bench/output_encoding.py).
    return av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format=FORMAT)


@cache
def color_values(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The Y, U and V values of an RGB colour, as ``from_rgb`` converts a picture of it."""
    planar = cv2.cvtColor(np.full((2, 2, 3), rgb, dtype=np.uint8), cv2.COLOR_RGB2YUV_I420)
    # Two rows of Y, then one row holding U and V.
    return int(planar[0, 0]), int(planar[2, 0]), int(planar[2, 1])


def plane_arrays(frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Writable views of a 4:2:0 frame's Y, U and V planes (U and V half as wide and high, rounded up)."""
    if frame.format.name != FORMAT:
        raise ValueError(f"expected a {FORMAT} frame, got {frame.format.name}")
    return tuple(
        np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        for plane in frame.planes
    )


def padded_to_even(frame: av.VideoFrame) -> av.VideoFrame:
    """The frame with its last row or column repeated where a side is odd (H.264's 4:2:0 needs even sides)."""
    if not (frame.width % 2 or frame.height % 2):
        return frame
    padded = av.VideoFrame(frame.width + frame.width % 2, frame.height + frame.height % 2, FORMAT)
    for target, source in zip(plane_arrays(padded), plane_arrays(frame), strict=True):
        rows, columns = target.shape[0] - source.shape[0], target.shape[1] - source.shape[1]
        target[...] = np.pad(source, ((0, rows), (0, columns)), mode="edge")
    return padded
