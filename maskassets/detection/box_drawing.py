"""Drawing detections on frames: box outlines and a "class #track score" label on a filled background."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import av
import cv2
import numpy as np

from maskassets.detection.detections import Detections, class_name
from maskassets.detection.yuv420_canvas import RGB, Yuv420Canvas

#: The tutorial's colours (PIL's "green", "red", "yellow"); classes without a colour are drawn white.
DEFAULT_CLASS_COLORS: dict[str, RGB] = {
    "with_mask": (0, 128, 0),
    "without_mask": (255, 0, 0),
    "mask_weared_incorrect": (255, 255, 0),
}
_UNKNOWN_CLASS_COLOR: RGB = (255, 255, 255)
_TEXT_COLOR: RGB = (0, 0, 0)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


class BoxAnnotator:
    """Draws the detections it is given (``Detections.above`` picks those a video shows); the best-scored box ends
    up on top."""

    def __init__(
        self,
        *,
        class_names: Sequence[str],
        class_colors: Mapping[str, RGB] | None = None,
        line_width: int = 2,
        font_scale: float = 0.4,
        show_labels: bool = True,
        trail_points: int = 0,
    ) -> None:
        self.class_names = list(class_names)
        self.class_colors = dict(DEFAULT_CLASS_COLORS if class_colors is None else class_colors)
        self.line_width = line_width
        self.font_scale = font_scale
        self.show_labels = show_labels
        self.trail_points = trail_points

    def annotate(self, frame: av.VideoFrame, detections: Detections) -> None:
        """Draw ``detections`` on the 4:2:0 ``frame``, in place."""
        canvas = Yuv420Canvas(frame)
        for position in np.argsort(detections.scores, kind="stable"):
            name = class_name(self.class_names, int(detections.labels[position]))
            color = self.class_colors.get(name, _UNKNOWN_CLASS_COLOR)
            x1, y1, x2, y2 = (int(round(float(v))) for v in detections.boxes[position])
            canvas.outline((x1, y1), (x2, y2), color, self.line_width)
            if self.trail_points and detections.trails is not None:
                self._draw_trail(canvas, detections.trails[position], color)
            if self.show_labels:
                self._draw_label(canvas, label_text(detections, position, name), (x1, y1), color)

    def _draw_trail(self, canvas: Yuv420Canvas, trail: Sequence[float], color: RGB) -> None:
        """The track's path to this box: its latest ``trail_points`` centres, joined."""
        points = np.round(np.asarray(trail, dtype=np.float64).reshape(-1, 2)[-self.trail_points :]).astype(np.int32)
        if len(points) > 1:
            canvas.polyline(points, color, self.line_width)

    def _draw_label(self, canvas: Yuv420Canvas, text: str, corner: tuple[int, int], color: RGB) -> None:
        """The text on a filled box of the class colour, above the box's corner or, where there is no room, below
        it; drawn in RGB and pasted, as text needs every pixel's colour (4:2:0 holds one per 2x2 block)."""
        (text_width, text_height), baseline = cv2.getTextSize(text, _FONT, self.font_scale, 1)
        label = np.full((text_height + baseline + 1, text_width + 1, 3), color, dtype=np.uint8)
        cv2.putText(label, text, (0, text_height), _FONT, self.font_scale, _TEXT_COLOR, 1, cv2.LINE_AA)
        x, y = corner
        top = y - text_height - baseline if y - text_height - baseline >= 0 else y
        canvas.paste(label, (x, top))


def label_text(detections: Detections, position: int, name: str) -> str:
    """ "without_mask #7 0.91": the class, the track's id when the detection has one, and the score."""
    track_id = None if detections.track_ids is None else int(detections.track_ids[position])
    track = f" #{track_id}" if track_id is not None and track_id >= 0 else ""
    return f"{name}{track} {detections.scores[position]:.2f}"
