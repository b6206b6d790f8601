"""Follow each object from frame to frame, ByteTrack's way (Zhang et al., 2022): a constant-velocity Kalman filter
predicts every track's box, confident detections are matched to all tracks by IoU first, then the weaker ones to
the tracks still unmatched, so a face that is briefly detected with a low score keeps its track. A track is
confirmed (and numbered) on its second matched frame, and forgotten once unseen for ``lost_seconds``.

Streaming and deterministic: frames go in one at a time, in order; each frame's track ids come out one frame
later (when it is known whether a track born in it was confirmed), and ids are numbered in the order tracks
are confirmed. Matching ignores the class, as one face may put a mask on midway."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import count

import numpy as np
from scipy.optimize import linear_sum_assignment

#: The id of a detection no confirmed track holds (too weak, or a track that never confirmed).
UNTRACKED = -1


@dataclass(frozen=True)
class TrackerSettings:
    #: Detections at least this confident are matched first and may start tracks.
    threshold: float = 0.5
    #: Weaker detections down to this score only extend tracks already followed.
    low_threshold: float = 0.1
    #: The least overlap of a predicted box and a detection for them to match (first, confident round).
    match_iou: float = 0.2
    #: How long a track unseen waits to be found again before it ends.
    lost_seconds: float = 1.0


@dataclass(frozen=True)
class FrameInput:
    frame_index: int
    seconds: float
    #: x1, y1, x2, y2 per detection.
    boxes: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class FrameTracks:
    frame_index: int
    #: Per detection of the frame, in its order: the track id, or UNTRACKED.
    track_ids: list[int]


# ByteTrack's noise model: position and velocity uncertainty proportional to the box's size.
_POSITION_NOISE, _VELOCITY_NOISE = 1 / 20, 1 / 160
_TRANSITION = np.eye(8) + np.eye(8, k=4)
_OBSERVATION = np.eye(4, 8)


@dataclass(eq=False)
class _Track:
    mean: np.ndarray
    covariance: np.ndarray
    last_seen_seconds: float
    public_id: int | None = None

    @classmethod
    def start(cls, box: np.ndarray, seconds: float) -> _Track:
        state = _center_size(box)
        scale = np.array([state[2], state[3], state[2], state[3]])
        deviations = np.concatenate([2 * _POSITION_NOISE * scale, 10 * _VELOCITY_NOISE * scale])
        return cls(np.concatenate([state, np.zeros(4)]), np.diag(deviations**2), seconds)

    def predict(self) -> None:
        scale = np.array([self.mean[2], self.mean[3], self.mean[2], self.mean[3]])
        noise = np.diag(np.concatenate([_POSITION_NOISE * scale, _VELOCITY_NOISE * scale]) ** 2)
        self.mean = _TRANSITION @ self.mean
        self.covariance = _TRANSITION @ self.covariance @ _TRANSITION.T + noise

    def update(self, box: np.ndarray, seconds: float) -> None:
        scale = np.array([self.mean[2], self.mean[3], self.mean[2], self.mean[3]])
        innovation_covariance = _OBSERVATION @ self.covariance @ _OBSERVATION.T + np.diag(
            (_POSITION_NOISE * scale) ** 2
        )
        gain = np.linalg.solve(innovation_covariance, _OBSERVATION @ self.covariance).T
        self.mean = self.mean + gain @ (_center_size(box) - _OBSERVATION @ self.mean)
        self.covariance = self.covariance - gain @ innovation_covariance @ gain.T
        self.last_seen_seconds = seconds

    @property
    def predicted_box(self) -> np.ndarray:
        cx, cy, width, height = self.mean[:4]
        return np.array([cx - width / 2, cy - height / 2, cx + width / 2, cy + height / 2])


class Tracker:
    """One video's tracker; feed it every frame, in order, through ``track``."""

    def __init__(self, settings: TrackerSettings = TrackerSettings()) -> None:
        self.settings = settings
        self._tracks: list[_Track] = []
        self._public_ids = count(1)
        self._previous_seconds = float("-inf")

    def track(self, frames: Iterable[FrameInput]) -> Iterator[FrameTracks]:
        """Every frame's track ids, in order: each frame's once the next has gone in (the last's at the end),
        when it is known whether the tracks born in it were confirmed."""
        pending: tuple[int, list[_Track | None]] | None = None
        for frame in frames:
            holders = self._step(frame)
            if pending is not None:
                yield _resolved(*pending)
            pending = (frame.frame_index, holders)
        if pending is not None:
            yield _resolved(*pending)

    def _step(self, frame: FrameInput) -> list[_Track | None]:
        """Match the frame's detections to the tracks; returns, per detection, the track that holds it."""
        settings, now = self.settings, frame.seconds
        for track in self._tracks:
            track.predict()
        holders: list[_Track | None] = [None] * len(frame.scores)
        confident = [i for i, score in enumerate(frame.scores) if score >= settings.threshold]
        weak = [i for i, score in enumerate(frame.scores) if settings.low_threshold <= score < settings.threshold]
        confirmed = [track for track in self._tracks if track.public_id is not None]
        tentative = [track for track in self._tracks if track.public_id is None]

        unmatched_tracks, confident = _match(confirmed, confident, frame, holders, settings.match_iou)
        # Weak detections only carry on a track that was seen on the frame before.
        followed = [track for track in unmatched_tracks if track.last_seen_seconds == self._previous_seconds]
        _match(followed, weak, frame, holders, _WEAK_MATCH_IOU)
        _, confident = _match(tentative, confident, frame, holders, _TENTATIVE_MATCH_IOU)
        for track in tentative:
            if track.last_seen_seconds == now:
                track.public_id = next(self._public_ids)
        self._tracks = [
            track
            for track in self._tracks
            if now - track.last_seen_seconds <= settings.lost_seconds
            and (track.public_id is not None or track.last_seen_seconds == now)
        ]
        for detection in confident:
            track = _Track.start(frame.boxes[detection], now)
            self._tracks.append(track)
            holders[detection] = track
        self._previous_seconds = now
        return holders


#: ByteTrack's looser matches: weak detections to followed tracks, and tentative tracks to what is left.
_WEAK_MATCH_IOU, _TENTATIVE_MATCH_IOU = 0.5, 0.3


def _resolved(frame_index: int, holders: list[_Track | None]) -> FrameTracks:
    return FrameTracks(
        frame_index,
        [holder.public_id if holder is not None and holder.public_id is not None else UNTRACKED for holder in holders],
    )


def _match(
    tracks: list[_Track], detections: list[int], frame: FrameInput, holders: list[_Track | None], min_iou: float
) -> tuple[list[_Track], list[int]]:
    """Match ``tracks`` and ``detections`` one to one for the most overlap (Hungarian), each pair overlapping at
    least ``min_iou``; updates the matched tracks and returns the tracks and detections left unmatched."""
    if not tracks or not detections:
        return tracks, detections
    overlap = iou(np.stack([track.predicted_box for track in tracks]), frame.boxes[detections])
    rows, columns = linear_sum_assignment(-overlap)
    pairs = [(row, column) for row, column in zip(rows, columns, strict=True) if overlap[row, column] >= min_iou]
    for row, column in pairs:
        tracks[row].update(frame.boxes[detections[column]], frame.seconds)
        holders[detections[column]] = tracks[row]
    matched_rows, matched_columns = {row for row, _ in pairs}, {column for _, column in pairs}
    return (
        [track for row, track in enumerate(tracks) if row not in matched_rows],
        [detection for column, detection in enumerate(detections) if column not in matched_columns],
    )


def iou(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``boxes`` (N, 4) with every one in ``others`` (M, 4)."""
    top_left = np.maximum(boxes[:, None, :2], others[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], others[None, :, 2:])
    intersection = np.clip(bottom_right - top_left, 0, None).prod(axis=2)
    areas = (boxes[:, 2:] - boxes[:, :2]).prod(axis=1)
    other_areas = (others[:, 2:] - others[:, :2]).prod(axis=1)
    union = areas[:, None] + other_areas[None, :] - intersection
    return np.where(union > 0, intersection / np.maximum(union, 1e-9), 0.0)


def _center_size(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float64)
