"""The asset checks each partition gets, run inside the asset's own step (on a reused artifact too).

Blocking checks stop the rest of the run: a stage whose frames do not line up with the source's would
otherwise draw or count detections on the wrong frames.
"""

from __future__ import annotations

import dagster as dg

from maskassets.storage.artifact_checks import CheckOutcome

FRAMES_CONTIGUOUS = "frame_index_contiguous"
MATCHES_VIDEO_FRAMES = "frames_match_video_frames"
DETECTIONS_VALID = "detections_valid"
PLAYS_LIKE_SOURCE = "plays_like_source"

_DESCRIPTIONS = {
    FRAMES_CONTIGUOUS: (
        "frame_index runs 0..n-1 in stored order, once each; frames kept as the source's packets: the copies hold "
        "those frames, in order."
    ),
    MATCHES_VIDEO_FRAMES: "The same frames, in the same order, as video_frames (counts equal across stages).",
    DETECTIONS_VALID: (
        "Rows follow the schema: equal-length lists, labels of known classes spelled out in class_names, scores in "
        "[0, 1], boxes as ordered corners inside the frame."
    ),
    PLAYS_LIKE_SOURCE: (
        "The encoded video holds the source's frame count, duration and frame rate (read from its packets); each "
        "of its segments opened on a keyframe of the video's size when it was encoded."
    ),
}


def check_specs(asset: str, *names: str, blocking: bool = True) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(name, asset=asset, description=_DESCRIPTIONS[name], blocking=blocking) for name in names]


def check_result(name: str, outcome: CheckOutcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=outcome.passed,
        description=outcome.description,
        metadata={"found": outcome.description, **outcome.metadata},
    )
