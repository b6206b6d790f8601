"""Draw the tracked detections on the stored frames and encode them into the annotated video's segments: Ray
tasks each take a run of frames, read those frames and their tracks, draw and encode them into a segment that
starts on a keyframe, which output_webm joins to the others without re-encoding."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import ray

from maskassets.batch.progress import ProgressLog
from maskassets.batch.ray_results import gather_longest_first
from maskassets.batch.segment_annotation import Drawing, Picture, annotate_segment, segment_ranges
from maskassets.media.video_writing import OUTPUT_FORMATS, EncoderSettings
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.schema import ANNOTATED_SEGMENTS_FOLDER, POSTER_FILE

STAGE = "annotated_frames"
CODE_VERSION = "8"


def annotate_frames(
    store: ArtifactStore,
    *,
    frames: Manifest,
    tracks: Manifest,
    drawing: Drawing,
    encoder: EncoderSettings,
    staged: StagedArtifact,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Encode ``frames`` with ``tracks`` drawn at the source's size and frame rate, which its manifest records;
    the middle frame is kept as the poster people see before they press play."""
    meta = frames.metadata
    frame_count, rate = meta["frame_count"], Fraction(meta["frame_rate"])
    picture = Picture(width=meta["width"], height=meta["height"], rate=rate)
    extension = OUTPUT_FORMATS[encoder.codec].extension
    progress = ProgressLog(task=STAGE, total=frame_count, log=log)
    copy_starts = [copy["first_frame"] for copy in frames.segments]
    ranges = segment_ranges(frame_count, encoder.segment_frames, cuts=copy_starts)

    def submit(number: int) -> ray.ObjectRef:
        return annotate_segment.remote(
            store,
            frames,
            tracks,
            ranges[number],
            staged.directory,
            f"{ANNOTATED_SEGMENTS_FOLDER}/{number:06d}.{extension}",
            drawing=drawing,
            encoder=encoder,
            picture=picture,
            poster_index=frame_count // 2,
        )

    segments = gather_longest_first(
        range(len(ranges)),
        size=lambda number: ranges[number].frames,
        submit=submit,
        on_result=lambda segment: progress.advance(segment.frames),
    )
    staged.add_segments([segment.record() for segment in segments])
    staged.path(POSTER_FILE).write_bytes(next(segment.poster_jpeg for segment in segments if segment.poster_jpeg))
    summary = {
        "frame_count": sum(segment.frames for segment in segments),
        "threshold": drawing.threshold,
        "codec": encoder.codec,
        "segments": len(segments),
        "stored_bytes": sum(segment.bytes for segment in segments),
        "ray_nodes": sorted({segment.node_id for segment in segments}),
        "duration_seconds": round(max(segment.last_pts_seconds for segment in segments) + 1 / float(rate), 3),
        # The published video needs the source's geometry and rate; carrying them here keeps it reading one stage.
        **{key: meta[key] for key in ("fps", "frame_rate", "width", "height")},
    }
    staged.metadata.update(summary)
    return summary
