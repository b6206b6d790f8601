"""Encode the annotated frames into a browser-playable WebM (or MP4): segments of frames encoded by parallel
Ray tasks, joined by a last task without re-encoding; the middle frame is kept as the poster people see
before they press play."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from upath import UPath

from maskassets.batch.progress import ProgressLog
from maskassets.batch.ray_results import gather
from maskassets.batch.segment_encoding import EncoderSettings, FrameRange, encode_segment, join_segments
from maskassets.media.video import OUTPUT_FORMATS
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact, remove_tree

STAGE = "output_webm"
CODE_VERSION = "5"
POSTER_FILE = "poster.jpg"
#: Segments are written here, joined, then removed before the commit.
_SEGMENTS_FOLDER = "_segments"


def encode_video(
    store: ArtifactStore,
    *,
    annotated: Manifest,
    encoder: EncoderSettings,
    staged: StagedArtifact,
    audio: UPath | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Encode ``annotated`` at the source's size and frame rate, which its manifest records, with the stored
    ``audio`` (the source's sound, source_audio's file) when it is given."""
    meta = annotated.metadata
    frame_count, rate = meta["frame_count"], Fraction(meta["frame_rate"])
    progress = ProgressLog(task=STAGE, total=frame_count, log=log)
    output = OUTPUT_FORMATS[encoder.codec]
    segments = [
        encode_segment.remote(
            store,
            annotated,
            frames,
            staged.directory / _SEGMENTS_FOLDER / f"{number:06d}.{output.extension}",
            encoder=encoder,
            width=meta["width"],
            height=meta["height"],
            rate=rate,
            poster_index=frame_count // 2,
        )
        for number, frames in enumerate(segment_ranges(frame_count, encoder.segment_frames))
    ]
    encoded = gather(segments, on_result=lambda segment: progress.advance(segment.frames))
    target = staged.path(encoder.file_name)
    joined = gather(
        [
            join_segments.remote(
                [segment.path for segment in encoded],
                target,
                output_format=output,
                audio=audio,
            )
        ]
    )[0]
    remove_tree(staged.directory / _SEGMENTS_FOLDER)
    staged.path(POSTER_FILE).write_bytes(next(segment.poster_jpeg for segment in encoded if segment.poster_jpeg))
    summary = {
        "path": str(target),
        "bytes": joined.bytes,
        "frame_count": sum(segment.frames for segment in encoded),
        "decoded_frames": joined.decoded_frames,
        "segments": len(encoded),
        "ray_nodes": sorted({segment.node_id for segment in encoded}),
        "duration_seconds": round(max(segment.last_pts_seconds for segment in encoded) + 1 / float(rate), 3),
        "fps": float(rate),
        "frame_rate": meta["frame_rate"],
        "file": encoder.file_name,
        "codec": encoder.codec,
        "mime_type": output.mime_type,
        "audio": audio is not None,
    }
    staged.metadata.update(summary)
    return summary


def segment_ranges(frame_count: int, segment_frames: int | None) -> list[FrameRange]:
    """Consecutive ranges of at most ``segment_frames`` frames (one range when None)."""
    size = segment_frames or max(frame_count, 1)
    return [FrameRange(first, min(first + size, frame_count)) for first in range(0, frame_count, size)]
