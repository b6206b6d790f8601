"""The Ray task that decodes one keyframe segment of a video and writes its frames as shards, on the worker (and,
when frames are stored as the source's packets, the copy of the packets it decoded)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import islice

import pyarrow as pa
import ray
from upath import UPath

from maskassets.media.frame_codec import FrameFormat
from maskassets.media.packet_copy import COPY_EXTENSION, CopiedSegment, PacketCopy
from maskassets.media.previews import encode_jpeg, thumbnail
from maskassets.media.video import DecodedFrame, DecodeLosses, Segment, iter_frames
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.sharded_tables import Shard, ShardLayout, ShardWriter, renumber

#: Frames encoded per call of the image encoder; the shard writer regroups them into row groups by bytes.
_FRAMES_PER_CHUNK = 16


@dataclass
class DecodedSegment:
    """What one segment task wrote and saw."""

    shards: list[dict]
    frames: int
    losses: DecodeLosses
    node_id: str
    #: Every frame's stored time, in order: the video's rate and duration are derived from them.
    pts_seconds: list[float] = field(default_factory=list)
    #: JPEG thumbnails of the contact sheet's frames that fell in this segment, by frame_index.
    thumbnails: dict[int, bytes] = field(default_factory=dict)
    #: The copy of the packets decoded, when frames are stored as the source's packets and the segment had any.
    copied: CopiedSegment | None = None


@ray.remote(num_cpus=1, max_retries=3)
def decode_segment(
    store: ArtifactStore,
    source: UPath,
    directory: UPath,
    segment: Segment,
    *,
    first_pts_seconds: float | None,
    strict: bool,
    frame_format: FrameFormat,
    layout: ShardLayout,
    thumbnail_frames: Sequence[int],
) -> DecodedSegment:
    losses = DecodeLosses()
    wanted = set(thumbnail_frames)
    thumbnails: dict[int, bytes] = {}
    pts_seconds: list[float] = []
    copy_file = f"{schema.SOURCE_SEGMENTS_FOLDER}/{segment.number:06d}.{COPY_EXTENSION}"
    # The muxer seeks back to write its index, which S3 objects cannot do: copy locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-packets-") as scratch:
        local_copy = os.path.join(scratch, os.path.basename(copy_file))
        with PacketCopy(local_copy, source=str(source)) if not frame_format.stores_images else nullcontext() as copy:
            frames = iter_frames(
                source,
                losses,
                strict=strict,
                segment=segment,
                first_pts_seconds=first_pts_seconds,
                threads=1,
                copy=copy,
            )
            with ShardWriter(
                store,
                directory,
                table=schema.FRAMES_TABLE,
                name=f"segment-{segment.number:06d}",
                table_schema=schema.VIDEO_FRAMES_SCHEMA if frame_format.stores_images else schema.FRAME_TIMES_SCHEMA,
                layout=layout,
            ) as writer:
                for chunk in _chunks(frames, _FRAMES_PER_CHUNK):
                    writer.write(frames_table(chunk, frame_format))
                    thumbnails.update(
                        {frame.index: encode_jpeg(thumbnail(frame.rgb)) for frame in chunk if frame.index in wanted}
                    )
                    pts_seconds.extend(frame.pts_seconds for frame in chunk)
        copied = None
        if copy is not None and pts_seconds:
            target = directory / copy_file
            target.parent.mkdir(parents=True, exist_ok=True)
            target.fs.put_file(local_copy, target.path)
            copied = CopiedSegment(
                file=copy_file,
                first_frame=segment.first_frame,
                frames=len(pts_seconds),
                bytes=os.path.getsize(local_copy),
                skipped=copy.skipped(),
                rotation=copy.rotation,
            )
    return DecodedSegment(
        shards=[shard.as_dict() for shard in writer.shards],
        frames=len(pts_seconds),
        losses=losses,
        node_id=ray.get_runtime_context().get_node_id(),
        thumbnails=thumbnails,
        pts_seconds=pts_seconds,
        copied=copied,
    )


def frames_table(frames: Sequence[DecodedFrame], frame_format: FrameFormat) -> pa.Table:
    """The frames' rows: their images in ``frame_format``, or only their times and sizes when the frames are
    stored as the source's packets."""
    columns = {
        schema.FRAME_INDEX: [frame.index for frame in frames],
        schema.PTS_SECONDS: [frame.pts_seconds for frame in frames],
        schema.WIDTH: [frame.size[0] for frame in frames],
        schema.HEIGHT: [frame.size[1] for frame in frames],
    }
    if not frame_format.stores_images:
        return pa.Table.from_pydict(columns, schema=schema.FRAME_TIMES_SCHEMA)
    images = {schema.IMAGE: [frame_format.encode(frame.rgb) for frame in frames]}
    return pa.Table.from_pydict({**columns, **images}, schema=schema.VIDEO_FRAMES_SCHEMA)


def _chunks(frames: Iterable[DecodedFrame], size: int) -> Iterator[tuple[DecodedFrame, ...]]:
    iterator = iter(frames)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


@ray.remote(num_cpus=1, max_retries=3)
def renumber_shards(
    store: ArtifactStore, directory: UPath, shards: list[dict], first_frame: int
) -> tuple[list[dict], int]:
    """Rewrite ``shards`` (one segment's, in order) so that their frames are numbered from ``first_frame``;
    returns their new records and how far their numbers moved."""
    shift = first_frame - shards[0]["first_frame"]
    return [renumber(store, directory, Shard.from_dict(record), shift).as_dict() for record in shards], shift
