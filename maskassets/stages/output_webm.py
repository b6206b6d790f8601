"""Stream the annotated frames, in frame_index order, into a browser-playable WebM (or MP4), and keep
its middle frame as the poster people see before they press play."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from upath import UPath

from maskassets import schema
from maskassets.frame_codec import decode_frame
from maskassets.previews import save_jpeg
from maskassets.progress import ProgressLog
from maskassets.sharded_tables import iter_table_batches
from maskassets.stages.annotated_frames import ANNOTATED_TABLE
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact
from maskassets.video import OUTPUT_FORMATS, OutputCodec, VideoWriter, stream_timing

STAGE = "output_webm"
CODE_VERSION = "2"
WEBM_FILE = "annotated.webm"
MP4_FILE = "annotated.mp4"
POSTER_FILE = "poster.jpg"


@dataclass(frozen=True)
class EncoderSettings:
    codec: OutputCodec = "vp8"
    crf: int = 10
    bitrate: int = 4_000_000

    @property
    def file_name(self) -> str:
        return f"annotated.{OUTPUT_FORMATS[self.codec].extension}"


def encode_video(
    store: ArtifactStore,
    *,
    annotated: Manifest,
    encoder: EncoderSettings,
    staged: StagedArtifact,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Encode ``annotated`` at the source's size and frame rate, which its manifest records."""
    fps = annotated.metadata["fps"]
    poster_index = annotated.metadata["frame_count"] // 2
    progress = ProgressLog(task=STAGE, total=annotated.metadata["frame_count"], log=log)
    target = staged.path(encoder.file_name)
    last_pts = 0.0
    # The muxers seek back to write their index, which S3 objects cannot do: encode locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-video-") as scratch:
        local_path = os.path.join(scratch, encoder.file_name)
        with VideoWriter(
            local_path,
            width=annotated.metadata["width"],
            height=annotated.metadata["height"],
            fps=fps,
            codec=encoder.codec,
            crf=encoder.crf,
            bitrate=encoder.bitrate,
        ) as writer:
            for batch in iter_table_batches(store, annotated, ANNOTATED_TABLE):
                columns = batch.to_pydict()
                for index, image, pts_seconds in zip(
                    columns[schema.FRAME_INDEX], columns[schema.IMAGE], columns[schema.PTS_SECONDS], strict=True
                ):
                    rgb = decode_frame(image)
                    writer.write(rgb, pts_seconds)
                    if index == poster_index:
                        save_jpeg(rgb, staged.path(POSTER_FILE))
                    last_pts = pts_seconds
                progress.advance(batch.num_rows)
        decoded = stream_timing(UPath(local_path), decode=True)
        target.fs.put_file(local_path, target.path)
    summary = {
        "path": str(target),
        "bytes": target.fs.size(target.path),
        "frame_count": writer.frames_written,
        "decoded_frames": decoded.frame_count,
        "duration_seconds": round(last_pts + 1.0 / fps, 3),
        "fps": fps,
        "file": encoder.file_name,
        "codec": encoder.codec,
        "mime_type": OUTPUT_FORMATS[encoder.codec].mime_type,
    }
    staged.metadata.update(summary)
    return summary
