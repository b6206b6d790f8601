"""Decode a source video into the video_frames table: cut at keyframes, each segment decoded by a Ray task
that writes its own shards, frame_index global and contiguous across them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import ray
from upath import UPath

from maskassets.batch.progress import ProgressLog
from maskassets.batch.ray_results import gather_longest_first
from maskassets.batch.segment_decoding import DecodedSegment, decode_segment, renumber_shards
from maskassets.media.frame_codec import FrameFormat, decode_frame
from maskassets.media.frame_timing import Timing, timing_of
from maskassets.media.previews import contact_sheet, contact_sheet_indices, save_jpeg
from maskassets.media.video import (
    STRICT_DECODING_FIX,
    WHOLE_VIDEO,
    DecodePlan,
    SegmentSeekError,
    VideoDecodeError,
    VideoInfo,
    plan_decode,
)
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact, remove_tree
from maskassets.storage.schema import FRAMES_TABLE, SOURCE_SEGMENTS_FOLDER
from maskassets.storage.sharded_tables import Shard, ShardLayout, check_contiguous

STAGE = "video_frames"
CODE_VERSION = "4"
CONTACT_SHEET_FILE = "contact_sheet.jpg"


@dataclass(frozen=True)
class DecodeSettings:
    """How a video is decoded and its frames stored."""

    strict: bool = False
    frame_format: FrameFormat = FrameFormat()
    #: A segment runs from a keyframe to the first keyframe at least this many frames later.
    min_segment_frames: int = 300
    layout: ShardLayout = ShardLayout()


@dataclass(frozen=True)
class FramesSummary:
    frame_count: int
    #: fps, frame_rate ("30000/1001"), duration_seconds and constant_frame_rate, from the stored timestamps.
    timing: Timing
    #: The source's time of the first frame, which the stored times count from (0 when it has none).
    source_start_seconds: float
    width: int
    height: int
    codec: str
    rotation: int
    source_bytes: int
    stored_bytes: int
    packets_lost: int
    frames_concealed: int
    segments: int
    frame_format: str
    ray_nodes: list[str]

    def as_dict(self) -> dict:
        fields = asdict(self)
        del fields["timing"]
        return {**fields, **self.timing.as_dict()}


def extract_frames(
    store: ArtifactStore,
    source: UPath,
    staged: StagedArtifact,
    *,
    settings: DecodeSettings = DecodeSettings(),
    log: Callable[[str], None] | None = None,
) -> FramesSummary:
    """Decode every frame of ``source`` into the staged folder. Damaged packets are skipped and counted in the
    summary, or with ``settings.strict`` fail the stage."""
    info = VideoInfo.from_path(source)
    plan = plan_decode(source, min_segment_frames=settings.min_segment_frames)
    try:
        decoded = _decode_segments(store, source, staged, plan, settings, log)
    except SegmentSeekError as error:
        if log:
            log(f"{error}: decoding {source} in one segment")
        for folder in (FRAMES_TABLE, SOURCE_SEGMENTS_FOLDER):
            remove_tree(staged.directory / folder)
        whole = DecodePlan(
            [replace(WHOLE_VIDEO, planned_frames=plan.planned_frames)], plan.first_pts_seconds, plan.guessed_rate
        )
        decoded = _decode_segments(store, source, staged, whole, settings, log)
    decoded = _renumbered(store, staged.directory, decoded)
    shards = [Shard.from_dict(record) for segment in decoded for record in segment.shards]
    frame_count = check_contiguous(shards, table=FRAMES_TABLE)
    if frame_count == 0:
        raise ValueError(f"{source} holds no decodable video frame; check that it plays, or remove it.")
    staged.add_table(FRAMES_TABLE, [shard.as_dict() for shard in shards])
    copies = [segment.copied for segment in decoded if segment.copied is not None]
    staged.add_segments([copy.record() for copy in copies])
    thumbnails = {index: decode_frame(jpeg) for segment in decoded for index, jpeg in segment.thumbnails.items()}
    save_jpeg(contact_sheet(thumbnails), staged.path(CONTACT_SHEET_FILE))
    summary = FramesSummary(
        frame_count=frame_count,
        timing=timing_of(
            (seconds for segment in decoded for seconds in segment.pts_seconds), single_frame_rate=plan.guessed_rate
        ),
        source_start_seconds=plan.first_pts_seconds or 0.0,
        width=info.width,
        height=info.height,
        codec=info.codec,
        rotation=info.rotation,
        source_bytes=info.size_bytes,
        stored_bytes=sum(shard.bytes for shard in shards) + sum(copy.bytes for copy in copies),
        packets_lost=sum(segment.losses.packets_lost for segment in decoded),
        frames_concealed=sum(segment.losses.frames_concealed for segment in decoded),
        segments=len(decoded),
        frame_format=settings.frame_format.describe(),
        ray_nodes=sorted({segment.node_id for segment in decoded}),
    )
    staged.metadata.update(summary.as_dict())
    return summary


def _decode_segments(
    store: ArtifactStore,
    source: UPath,
    staged: StagedArtifact,
    plan: DecodePlan,
    settings: DecodeSettings,
    log: Callable[[str], None] | None,
) -> list[DecodedSegment]:
    progress = ProgressLog(task=STAGE, total=plan.planned_frames or None, log=log)
    sampled = contact_sheet_indices(plan.planned_frames) or [0]
    return gather_longest_first(
        plan.segments,
        size=lambda segment: segment.planned_frames,
        submit=lambda segment: decode_segment.remote(
            store,
            source,
            staged.directory,
            segment,
            first_pts_seconds=plan.first_pts_seconds,
            strict=settings.strict,
            frame_format=settings.frame_format,
            layout=settings.layout,
            thumbnail_frames=[index for index in sampled if segment.owns_frame(index)],
        ),
        on_result=lambda segment: progress.advance(segment.frames),
    )


def _renumbered(store: ArtifactStore, directory: UPath, decoded: list[DecodedSegment]) -> list[DecodedSegment]:
    """Segments whose planned first frame is off (a segment before them lost or gained frames: damaged
    packets, frames the decoder dropped) get their shards' frame_index rewritten to follow on, and their
    packets' copy its first frame."""
    fixes, first_frame = {}, 0
    for position, segment in enumerate(decoded):
        if segment.frames and segment.shards[0]["first_frame"] != first_frame:
            fixes[position] = renumber_shards.remote(store, directory, segment.shards, first_frame)
        first_frame += segment.frames
    if not fixes:
        return decoded
    renumbered = dict(zip(fixes, ray.get(list(fixes.values())), strict=True))
    for position, (shards, shift) in renumbered.items():
        segment = decoded[position]
        segment.shards = shards
        segment.thumbnails = {index + shift: jpeg for index, jpeg in segment.thumbnails.items()}
        if segment.copied is not None:
            segment.copied = replace(segment.copied, first_frame=segment.copied.first_frame + shift)
    return decoded


def refuse_damaged(stored: Manifest, source: UPath) -> None:
    """Under strict decoding, a stored table decoded leniently from a damaged video is not accepted."""
    lost, concealed = stored.metadata.get("packets_lost", 0), stored.metadata.get("frames_concealed", 0)
    if lost or concealed:
        raise VideoDecodeError(
            f"{source} is damaged ({lost} packets could not be decoded, {concealed} frames were concealed); "
            f"{STRICT_DECODING_FIX}"
        )
