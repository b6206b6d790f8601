"""Publish the annotated video as one browser-playable WebM (or MP4): annotated_frames' segments joined by a Ray
task without re-encoding, with the source's sound, and the poster people see before they press play."""

from __future__ import annotations

from collections.abc import Callable

from upath import UPath

from maskassets.batch.ray_results import gather
from maskassets.batch.segment_joining import join_segments
from maskassets.media.video_writing import OUTPUT_FORMATS, output_file_name
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.schema import POSTER_FILE

STAGE = "output_webm"
CODE_VERSION = "7"


def require_codec(annotated: Manifest, codec: str) -> None:
    """Refuse to publish segments encoded with another codec than the one asked for."""
    encoded = annotated.metadata.get("codec")
    if encoded != codec:
        raise ValueError(
            f"The annotated frames of '{annotated.partition}' are encoded as {encoded or 'frames, not video'}, but "
            f"`encoder.codec` is {codec}: materialize annotated_frames with output_webm (--select "
            "'annotated_frames,output_webm'), or run the whole chain."
        )


def publish_video(
    store: ArtifactStore,
    *,
    annotated: Manifest,
    staged: StagedArtifact,
    audio: list[UPath],
    log: Callable[[str], None] | None = None,
) -> dict:
    """Join the segments of ``annotated`` with the stored ``audio`` (the source's sound, source_audio's parts in
    time order) when it is given."""
    meta = annotated.metadata
    codec = meta["codec"]
    output, file_name = OUTPUT_FORMATS[codec], output_file_name(codec)
    target = staged.path(file_name)
    segments = [store.artifact_path(annotated, segment["file"]) for segment in annotated.segments]
    if log:
        log(f"{STAGE}: joining {meta['frame_count']:,} frames in {len(segments)} segment(s)")
    joined = gather([join_segments.remote(segments, target, output_format=output, audio=audio)])[0]
    staged.path(POSTER_FILE).write_bytes(store.artifact_path(annotated, POSTER_FILE).read_bytes())
    summary = {
        "path": str(target),
        "bytes": joined.bytes,
        "frame_count": meta["frame_count"],
        "segments": len(segments),
        "duration_seconds": meta["duration_seconds"],
        "fps": meta["fps"],
        "frame_rate": meta["frame_rate"],
        "file": file_name,
        "codec": codec,
        "mime_type": output.mime_type,
        "audio": bool(audio),
    }
    staged.metadata.update(summary)
    return summary
