"""Detections drawn on the 4:2:0 frames the annotated video is encoded from, seen as a player converts them to
RGB."""

from __future__ import annotations

import av
import numpy as np
import pytest

from maskassets.detection.box_drawing import DEFAULT_CLASS_COLORS, BoxAnnotator, label_text
from maskassets.detection.detections import Detections
from maskassets.media import yuv420
from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES

#: How far a drawn colour may come back from 4:2:0 and 8-bit rounding.
_TOLERANCE = 6


def _grey_frame(width: int, height: int) -> av.VideoFrame:
    return yuv420.from_rgb(np.full((height, width, 3), 90, dtype=np.uint8))


def _scene(width: int = 160, height: int = 120) -> np.ndarray:
    """The undrawn frame as it comes back."""
    return _grey_frame(width, height).to_ndarray(format="rgb24")


def _drawn(annotator: BoxAnnotator, detections: Detections, *, width: int = 160, height: int = 120) -> np.ndarray:
    frame = _grey_frame(width, height)
    annotator.annotate(frame, detections)
    return frame.to_ndarray(format="rgb24")


def _near(pixel: np.ndarray, color: tuple[int, int, int]) -> bool:
    return bool(np.abs(pixel.astype(int) - color).max() <= _TOLERANCE)


def _detections(*rows: tuple[tuple[float, float, float, float], int, float]) -> Detections:
    return Detections.from_row([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def test_box_edges_take_the_class_colour_and_nothing_else_changes():
    annotator = BoxAnnotator(class_names=DEFAULT_CLASS_NAMES, show_labels=False)
    drawn = _drawn(annotator, _detections(((40, 50, 100, 90), 1, 0.9)))
    assert _near(drawn[90, 70], DEFAULT_CLASS_COLORS["with_mask"])
    assert _near(drawn[70, 40], DEFAULT_CLASS_COLORS["with_mask"])
    changed = np.any(drawn != _scene(), axis=-1)
    assert not changed[:45].any() and not changed[95:].any() and not changed[:, :35].any()
    assert not changed[60:80, 50:90].any(), "the inside of a box stays untouched"


def test_only_detections_scored_above_the_threshold_are_shown():
    detections = _detections(((10, 10, 50, 50), 2, 0.5), ((60, 60, 90, 90), 2, 0.49), ((20, 60, 50, 90), 1, 0.51))
    shown = detections.above(0.5)
    assert shown.scores.tolist() == [np.float32(0.51)]
    drawn = _drawn(BoxAnnotator(class_names=DEFAULT_CLASS_NAMES, show_labels=False), shown)
    changed = np.any(drawn != _scene(), axis=-1)
    assert changed[60:91, 20:51].any(), "the box scored 0.51 is drawn"
    assert not changed[:55, :55].any() and not changed[55:, 55:].any(), "the boxes at 0.5 and 0.49 are not"


def test_the_label_shows_class_and_score_on_the_class_colour_and_the_best_box_is_on_top():
    annotator = BoxAnnotator(class_names=DEFAULT_CLASS_NAMES)
    drawn = _drawn(annotator, _detections(((30, 40, 120, 100), 3, 0.95), ((30, 40, 120, 100), 2, 0.6)))
    assert _near(drawn[100, 75], DEFAULT_CLASS_COLORS["mask_weared_incorrect"])
    label_area = drawn[26:40, 30:130].reshape(-1, 3)
    assert any(_near(pixel, DEFAULT_CLASS_COLORS["mask_weared_incorrect"]) for pixel in label_area)
    assert any(pixel.max() < 64 for pixel in label_area), "the text is black"


def test_the_label_carries_the_track_id_of_a_tracked_detection():
    tracked = Detections.from_row([(30, 40, 120, 100), (10, 10, 20, 20)], [2, 1], [0.91, 0.7], track_ids=[7, -1])
    assert label_text(tracked, 0, "without_mask") == "without_mask #7 0.91"
    assert label_text(tracked, 1, "with_mask") == "with_mask 0.70"
    annotator = BoxAnnotator(class_names=DEFAULT_CLASS_NAMES)
    untracked = _detections(((30, 40, 120, 100), 2, 0.91))
    with_id = _drawn(annotator, tracked.above(0.8))
    without_id = _drawn(annotator, untracked)
    # The longer label ("#7" inserted) covers more of the row above the box.
    label_width = [np.any(image[26:40] != _scene()[26:40], axis=(0, 2)).sum() for image in (with_id, without_id)]
    assert label_width[0] > label_width[1]


def test_a_trail_joins_the_latest_centres_of_the_track_in_its_colour_when_asked():
    # The face moved right along y = 30: its last four centres, then older ones that fall outside the trail.
    trail = [10.0, 30.0, 20.0, 30.0, 60.0, 30.0, 80.0, 30.0, 100.0, 30.0, 120.0, 30.0]
    tracked = Detections.from_row([(110, 20, 130, 40)], [2], [0.9], track_ids=[3], trails=[trail])
    plain = BoxAnnotator(class_names=DEFAULT_CLASS_NAMES, show_labels=False)
    with_trail = BoxAnnotator(class_names=DEFAULT_CLASS_NAMES, show_labels=False, trail_points=4)

    np.testing.assert_array_equal(_drawn(plain, tracked)[30, :100], _scene()[30, :100])
    drawn = _drawn(with_trail, tracked)
    assert _near(drawn[30, 70], DEFAULT_CLASS_COLORS["without_mask"])
    np.testing.assert_array_equal(
        drawn[30, 30], _scene()[30, 30], "older centres than the trail's length are not drawn"
    )


@pytest.mark.parametrize(("width", "height"), [(160, 120), (161, 121)])
def test_a_label_running_past_the_frame_is_cut_at_its_edge(width, height):
    # A box at the top-right corner: no room above it, so its label goes below its corner and past the right edge.
    detections = _detections(((width - 40, 1, width - 2, 40), 2, 0.9))
    drawn = _drawn(BoxAnnotator(class_names=DEFAULT_CLASS_NAMES), detections, width=width, height=height)
    assert drawn.shape == (height, width, 3)
    label_area = drawn[4:14, width - 38 : width - 4].reshape(-1, 3)
    assert any(_near(pixel, DEFAULT_CLASS_COLORS["without_mask"]) for pixel in label_area)
    assert any(pixel.max() < 64 for pixel in label_area), "the text is black"
    changed = np.any(drawn != _scene(width, height), axis=-1)
    assert not changed[45:].any() and not changed[:, : width - 45].any()
