"""The tracker on synthetic paths whose truth is known: ids kept through crossings, misses and weak detections,
new ids for new faces, the same ids on every run."""

from __future__ import annotations

import numpy as np
import pytest

from maskassets.detection.tracking import UNTRACKED, FrameInput, Tracker, TrackerSettings

FPS = 12
SIDE = 40


def _box(x: float, y: float) -> list[float]:
    return [x, y, x + SIDE, y + SIDE]


def _frames(paths: dict[str, dict[int, tuple[float, float, float]]], frame_count: int) -> list[FrameInput]:
    """Per frame, the detections of every path present in it (x, y, score), in the order of ``paths``."""
    frames = []
    for index in range(frame_count):
        present = [path[index] for path in paths.values() if index in path]
        frames.append(
            FrameInput(
                frame_index=index,
                seconds=index / FPS,
                boxes=np.array([_box(x, y) for x, y, _ in present], dtype=np.float64).reshape(-1, 4),
                scores=np.array([score for _, _, score in present], dtype=np.float64),
            )
        )
    return frames


def _ids_by_path(paths, frame_count: int, settings: TrackerSettings | None = None) -> dict[str, list[int]]:
    """Per path, the track id its detection got in each frame it is present in."""
    tracked = list(Tracker(settings or TrackerSettings()).track(_frames(paths, frame_count)))
    assert [frame.frame_index for frame in tracked] == list(range(frame_count))
    ids: dict[str, list[int]] = {name: [] for name in paths}
    for frame in tracked:
        present = [name for name, path in paths.items() if frame.frame_index in path]
        for name, track_id in zip(present, frame.track_ids, strict=True):
            ids[name].append(track_id)
    return ids


def test_two_faces_crossing_paths_keep_their_ids():
    frames = 40
    paths = {
        "down_right": {i: (10 + 6 * i, 10 + 4 * i, 0.9) for i in range(frames)},
        "up_right": {i: (10 + 6 * i, 166 - 4 * i, 0.9) for i in range(frames)},
    }
    ids = _ids_by_path(paths, frames)
    # Each is numbered once confirmed, on its second frame; the first frame already carries that id.
    assert set(ids["down_right"]) == {1} and set(ids["up_right"]) == {2}


def test_a_face_missed_for_five_frames_keeps_its_id():
    path = {i: (10 + 5 * i, 50, 0.9) for i in range(30) if not 10 <= i < 15}
    assert set(_ids_by_path({"face": path}, 30)["face"]) == {1}


def test_a_face_detected_weakly_for_a_while_keeps_its_id():
    path = {i: (10 + 5 * i, 50, 0.3 if 10 <= i < 16 else 0.9) for i in range(30)}
    assert set(_ids_by_path({"face": path}, 30)["face"]) == {1}


def test_a_face_leaving_and_another_entering_get_different_ids():
    leaving = {i: (200 + 8 * i, 50, 0.9) for i in range(12)}
    entering = {i: (0 + 8 * (i - 13), 120, 0.9) for i in range(13, 30)}
    ids = _ids_by_path({"leaving": leaving, "entering": entering}, 30)
    assert set(ids["leaving"]) == {1} and set(ids["entering"]) == {2}


def test_a_face_gone_longer_than_lost_seconds_comes_back_with_a_new_id():
    path = {i: (50, 50, 0.9) for i in range(40) if not 5 <= i < 5 + 2 * FPS}
    ids = _ids_by_path({"face": path}, 40, TrackerSettings(lost_seconds=1.0))["face"]
    assert ids == [1] * 5 + [2] * (40 - 5 - 2 * FPS)


def test_a_detection_seen_once_or_below_the_low_threshold_gets_no_id():
    once = {7: (100, 100, 0.9)}
    faint = {i: (10, 10, 0.05) for i in range(20)}
    ids = _ids_by_path({"once": once, "faint": faint}, 20)
    assert ids == {"once": [UNTRACKED], "faint": [UNTRACKED] * 20}


def test_ids_are_the_same_on_every_run():
    rng = np.random.default_rng(0)
    paths = {
        f"face{n}": {i: (x0 + vx * i, y0 + vy * i, 0.9) for i in range(50) if rng.random() > 0.1}
        for n, (x0, y0, vx, vy) in enumerate(rng.uniform([0, 0, -4, -4], [600, 400, 4, 4], size=(6, 4)))
    }
    first, second = _ids_by_path(paths, 50), _ids_by_path(paths, 50)
    assert first == second
    assert {track_id for ids in first.values() for track_id in ids} - {UNTRACKED} == set(range(1, 7))


@pytest.mark.parametrize("frame_count", [0, 1])
def test_a_video_of_no_frame_or_one_frame(frame_count):
    assert _ids_by_path({"face": {0: (0, 0, 0.9)}}, frame_count)["face"] == [UNTRACKED] * frame_count
