"""Drawing on a 4:2:0 frame as it is decoded and encoded, so that the frame is never converted to RGB and back (on
a 720p frame that round trip cost twice the drawing): lines go into the Y plane at full size and into the U and V
planes at half size, in the value their RGB colour takes in each; small RGB pictures (labels) are converted alone
and pasted."""

from __future__ import annotations

from dataclasses import dataclass

import av
import cv2
import numpy as np

from maskassets.media.yuv420 import color_values, plane_arrays

RGB = tuple[int, int, int]
Point = tuple[int, int]


@dataclass(frozen=True)
class _Plane:
    pixels: np.ndarray
    #: Which of a colour's Y, U and V values this plane takes.
    component: int
    #: Fractional bits of the frame's coordinates in this plane's: 0 for Y, 1 for the half-size U and V.
    shift: int

    def value(self, color: RGB) -> int:
        return color_values(color)[self.component]

    def thickness(self, thickness: int) -> int:
        return max(1, round(thickness / 2**self.shift))


class Yuv420Canvas:
    """Draws on a 4:2:0 frame in place; points are the frame's pixels."""

    def __init__(self, frame: av.VideoFrame) -> None:
        luma, blue_difference, red_difference = plane_arrays(frame)
        self._planes = (_Plane(luma, 0, 0), _Plane(blue_difference, 1, 1), _Plane(red_difference, 2, 1))

    def outline(self, corner: Point, opposite: Point, color: RGB, thickness: int) -> None:
        """A rectangle's edges, ``thickness // 2`` pixels either side of each (as OpenCV draws them). Set as slices
        of the planes rather than drawn by OpenCV, so that U and V colour every 2x2 block the edges touch in Y
        (OpenCV's half-size line would leave some out, and those edge pixels grey)."""
        (left, top), (right, bottom), half = corner, opposite, thickness // 2
        for edge in (
            (left - half, top - half, right + half, top + half),
            (left - half, bottom - half, right + half, bottom + half),
            (left - half, top - half, left + half, bottom + half),
            (right - half, top - half, right + half, bottom + half),
        ):
            self._fill(*edge, color)

    def _fill(self, left: int, top: int, right: int, bottom: int, color: RGB) -> None:
        """Pixels ``left``..``right`` by ``top``..``bottom`` (inclusive), where they are in the frame."""
        for plane in self._planes:
            plane.pixels[_span(top, bottom, plane.shift), _span(left, right, plane.shift)] = plane.value(color)

    def polyline(self, points: np.ndarray, color: RGB, thickness: int) -> None:
        """An antialiased path in Y; in the half-size U and V an antialiased line would smear the colour over three
        of their pixels (six of the frame's), so there it is plain."""
        for plane in self._planes:
            cv2.polylines(
                plane.pixels,
                [points],
                isClosed=False,
                color=plane.value(color),
                thickness=plane.thickness(thickness),
                lineType=cv2.LINE_8 if plane.shift else cv2.LINE_AA,
                shift=plane.shift,
            )

    def paste(self, rgb: np.ndarray, corner: Point) -> None:
        """Put an RGB picture with its top-left pixel at ``corner``. A 4:2:0 frame holds a colour for each 2x2
        block, so the picture first grows by its own edge to whole blocks; what falls outside the frame is left
        out."""
        height, width = self._planes[0].pixels.shape
        x, y = corner
        left, top = x % 2, y % 2
        right, bottom = (x + rgb.shape[1]) % 2, (y + rgb.shape[0]) % 2
        blocks = _grown(rgb, top, bottom, left, right)
        x0, y0 = x - left, y - top
        # Whole blocks inside the frame (an odd side's last row or column stays as it is).
        x_from, y_from = max(x0, 0), max(y0, 0)
        x_to = min(x0 + blocks.shape[1], width - width % 2)
        y_to = min(y0 + blocks.shape[0], height - height % 2)
        if x_to <= x_from or y_to <= y_from:
            return
        inside = blocks[y_from - y0 : y_to - y0, x_from - x0 : x_to - x0]
        planar = cv2.cvtColor(np.ascontiguousarray(inside), cv2.COLOR_RGB2YUV_I420).ravel()
        rows, columns = inside.shape[:2]
        luma_size, chroma_size = rows * columns, rows * columns // 4
        self._planes[0].pixels[y_from:y_to, x_from:x_to] = planar[:luma_size].reshape(rows, columns)
        for offset, plane in zip((luma_size, luma_size + chroma_size), self._planes[1:], strict=True):
            plane.pixels[y_from // 2 : y_to // 2, x_from // 2 : x_to // 2] = planar[
                offset : offset + chroma_size
            ].reshape(rows // 2, columns // 2)


def _span(first: int, last: int, shift: int) -> slice:
    """The rows or columns of a plane ``shift`` halvings smaller that pixels ``first``..``last`` fall in."""
    return slice(max(first, 0) >> shift, (max(last, -1) >> shift) + 1)


def _grown(rgb: np.ndarray, top: int, bottom: int, left: int, right: int) -> np.ndarray:
    """The picture with its edge rows and columns repeated (0 or 1 on each side); np.pad takes ten times as long."""
    rows, columns = rgb.shape[:2]
    grown = np.empty((top + rows + bottom, left + columns + right, 3), dtype=np.uint8)
    grown[top : top + rows, left : left + columns] = rgb
    if top:
        grown[0] = grown[1]
    if bottom:
        grown[-1] = grown[-2]
    if left:
        grown[:, 0] = grown[:, 1]
    if right:
        grown[:, -1] = grown[:, -2]
    return grown
