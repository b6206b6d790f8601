"""video_frames' frames read back in order, whichever way they are stored: images in the frames table, or the
source's packets copied per segment (decoded again here, from the segment's start)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import av

from maskassets.media.frame_codec import decode_frame
from maskassets.media.packet_copy import CopiedSegment, copied_segments, iter_copied_frames
from maskassets.media.video import DecodedFrame
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.sharded_tables import iter_table_batches


def iter_stored_frames(
    store: ArtifactStore, frames: Manifest, *, first_frame: int = 0, end_frame: int | None = None
) -> Iterator[DecodedFrame]:
    """The frames ``first_frame`` .. ``end_frame - 1`` (to the last one when None) of a video_frames artifact."""
    span = {"first_frame": first_frame, "end_frame": end_frame}
    copies = copied_segments(frames.segments)
    columns = [schema.FRAME_INDEX, schema.PTS_SECONDS] + ([] if copies else [schema.IMAGE])
    pictures = _copied_pictures(store, frames, copies, first_frame, end_frame) if copies else None
    for batch in iter_table_batches(store, frames, schema.FRAMES_TABLE, columns=columns, **span):
        rows = batch.to_pydict()
        times = zip(rows[schema.FRAME_INDEX], rows[schema.PTS_SECONDS], strict=True)
        for position, (index, pts_seconds) in enumerate(times):
            if pictures is None:
                yield DecodedFrame(index, pts_seconds, decode_frame(rows[schema.IMAGE][position]))
                continue
            decoded = next(pictures, None)
            if decoded is None:
                raise ValueError(
                    f"the copied packets of '{frames.partition}' end before its frame {index}; "
                    "materialize video_frames again"
                )
            picture, rotation = decoded
            yield DecodedFrame(index, pts_seconds, picture, rotation)


def _copied_pictures(
    store: ArtifactStore, frames: Manifest, copies: list[CopiedSegment], first_frame: int, end_frame: int | None
) -> Iterator[tuple[av.VideoFrame, int]]:
    """The decoded pictures of the frames asked for, each with the rotation that turns it upright."""
    for copy in copies:
        copy_end = copy.first_frame + copy.frames
        if copy_end <= first_frame or (end_frame is not None and copy.first_frame >= end_frame):
            continue
        start = max(0, first_frame - copy.first_frame)
        end = copy_end if end_frame is None else min(end_frame, copy_end)
        path = store.artifact_path(frames, copy.file)
        pictures = islice(iter_copied_frames(path, copy, start=start), end - copy.first_frame - start)
        yield from ((picture, copy.rotation) for picture in pictures)
