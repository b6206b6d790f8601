"""A Ray Data datasource over the frames of a video stored as the source's copied packets: each read task
decodes whole copied segments (a segment decodes only from its start) and yields their frames as RGB,
optionally every Nth. Like FrameTableDatasource its tasks ask for no CPU (see there)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import numpy as np
import pyarrow as pa
from ray.data.block import BlockAccessor, BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from maskassets.batch.datasource import contiguous
from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.media.packet_copy import CopiedSegment, copied_segments
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest

#: The in-flight column of decoded frames (height x width x 3, uint8) the detector reads; never stored.
DECODED_RGB = "rgb"
#: Frames per block a read task yields: a few tens of MB of 1080p, whatever a segment's length.
_FRAMES_PER_BLOCK = 8


class CopiedFramesDatasource(Datasource):
    def __init__(self, store: ArtifactStore, frames: Manifest, *, every_nth: int = 1) -> None:
        super().__init__()
        self.store = store
        self.frames = frames
        self.every_nth = every_nth
        self.copies = copied_segments(frames.segments)
        self.frame_bytes = 3 * int(frames.metadata.get("width", 0)) * int(frames.metadata.get("height", 0))

    def row_count(self) -> int:
        """How many frames the read tasks yield in all."""
        return sum(self._frames_read(copy) for copy in self.copies)

    def estimate_inmemory_data_size(self) -> int:
        return self.row_count() * self.frame_bytes

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None, **_: object) -> list[ReadTask]:
        task_count = max(1, min(parallelism, len(self.copies)))
        return [
            ReadTask(
                lambda chunk=chunk: self._read(chunk),
                BlockMetadata(
                    num_rows=sum(self._frames_read(copy) for copy in chunk),
                    size_bytes=sum(self._frames_read(copy) for copy in chunk) * self.frame_bytes,
                    exec_stats=None,
                    input_files=tuple(copy.file for copy in chunk),
                ),
                per_task_row_limit=per_task_row_limit,
            )
            for chunk in contiguous(self.copies, task_count)
            if chunk
        ]

    def _frames_read(self, copy: CopiedSegment) -> int:
        """The frames of ``copy`` whose index is a multiple of ``every_nth``."""
        end = copy.first_frame + copy.frames
        return -(-end // self.every_nth) - -(-copy.first_frame // self.every_nth)

    def _read(self, copies: list[CopiedSegment]) -> Iterator[pa.Table]:
        for copy in copies:
            frames = iter_stored_frames(
                self.store, self.frames, first_frame=copy.first_frame, end_frame=copy.first_frame + copy.frames
            )
            wanted = (frame for frame in frames if frame.index % self.every_nth == 0)
            while block := list(islice(wanted, _FRAMES_PER_BLOCK)):
                yield BlockAccessor.batch_to_block(
                    {
                        schema.FRAME_INDEX: np.array([frame.index for frame in block], dtype=np.int64),
                        DECODED_RGB: np.stack([frame.rgb for frame in block]),
                    }
                )
