"""Stream the annotated frames, in frame_index order, into a browser-playable WebM."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from maskassets import schema
from maskassets.frame_codec import decode_frame
from maskassets.parquet_io import iter_parquet_batches
from maskassets.stages.annotated_frames import ANNOTATED_FILE
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact
from maskassets.video import WebmCodec, WebmWriter

STAGE = "output_webm"
CODE_VERSION = "1"
WEBM_FILE = "annotated.webm"


@dataclass(frozen=True)
class EncoderSettings:
    codec: WebmCodec = "vp8"
    crf: int = 10
    bitrate: int = 4_000_000


def encode_webm(
    store: ArtifactStore,
    *,
    annotated: Manifest,
    encoder: EncoderSettings,
    staged: StagedArtifact,
) -> dict:
    """Encode ``annotated`` at the source's size and frame rate, which its manifest records."""
    fps = annotated.metadata["fps"]
    target = staged.path(WEBM_FILE)
    last_pts = 0.0
    # The muxer seeks back to write its index, which S3 objects cannot do: encode locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-webm-") as scratch:
        local_path = os.path.join(scratch, WEBM_FILE)
        with WebmWriter(
            local_path,
            width=annotated.metadata["width"],
            height=annotated.metadata["height"],
            fps=fps,
            codec=encoder.codec,
            crf=encoder.crf,
            bitrate=encoder.bitrate,
        ) as writer:
            for batch in iter_parquet_batches(store, store.artifact_path(annotated, ANNOTATED_FILE)):
                columns = batch.to_pydict()
                for png, pts_seconds in zip(columns[schema.IMAGE], columns[schema.PTS_SECONDS], strict=True):
                    writer.write(decode_frame(png), pts_seconds)
                    last_pts = pts_seconds
        target.fs.put_file(local_path, target.path)
    summary = {
        "path": str(target),
        "bytes": target.fs.size(target.path),
        "frame_count": writer.frames_written,
        "duration_seconds": round(last_pts + 1.0 / fps, 3),
        "codec": encoder.codec,
    }
    staged.metadata.update(summary)
    return summary
