"""Drawing detections on frames: box outlines and a "class #track score" label on a filled background."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np

from maskassets.detection.detections import Detections, class_name

RGB = tuple[int, int, int]
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

    def annotate(self, scene: np.ndarray, detections: Detections) -> np.ndarray:
        """A copy of the RGB ``scene`` with ``detections`` drawn on it."""
        canvas = np.ascontiguousarray(scene).copy()
        for position in np.argsort(detections.scores, kind="stable"):
            name = class_name(self.class_names, int(detections.labels[position]))
            color = self.class_colors.get(name, _UNKNOWN_CLASS_COLOR)
            x1, y1, x2, y2 = (int(round(float(v))) for v in detections.boxes[position])
            cv2.rectangle(canvas, (x1, y1), (x2, y2), color, self.line_width)
            if self.trail_points and detections.trails is not None:
                self._draw_trail(canvas, detections.trails[position], color)
            if self.show_labels:
                self._draw_label(canvas, label_text(detections, position, name), (x1, y1), color)
        return canvas

    def _draw_trail(self, canvas: np.ndarray, trail: Sequence[float], color: RGB) -> None:
        """The track's path to this box: its latest ``trail_points`` centres, joined."""
        points = np.round(np.asarray(trail, dtype=np.float64).reshape(-1, 2)[-self.trail_points :]).astype(np.int32)
        if len(points) > 1:
            cv2.polylines(
                canvas, [points], isClosed=False, color=color, thickness=self.line_width, lineType=cv2.LINE_AA
            )

    def _draw_label(self, canvas: np.ndarray, text: str, corner: tuple[int, int], color: RGB) -> None:
        (text_width, text_height), baseline = cv2.getTextSize(text, _FONT, self.font_scale, 1)
        x, y = corner
        top = y - text_height - baseline if y - text_height - baseline >= 0 else y
        cv2.rectangle(canvas, (x, top), (x + text_width, top + text_height + baseline), color, cv2.FILLED)
        cv2.putText(canvas, text, (x, top + text_height), _FONT, self.font_scale, _TEXT_COLOR, 1, cv2.LINE_AA)


def label_text(detections: Detections, position: int, name: str) -> str:
    """ "without_mask #7 0.91": the class, the track's id when the detection has one, and the score."""
    track_id = None if detections.track_ids is None else int(detections.track_ids[position])
    track = f" #{track_id}" if track_id is not None and track_id >= 0 else ""
    return f"{name}{track} {detections.scores[position]:.2f}"
