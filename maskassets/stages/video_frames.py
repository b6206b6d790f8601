"""Decode a source video into the video_frames parquet table, streaming a row group at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice

import pyarrow as pa
from upath import UPath

from maskassets import schema
from maskassets.frame_codec import encode_frame
from maskassets.parquet_io import ParquetTableWriter
from maskassets.previews import ContactSheetSampler, save_jpeg
from maskassets.progress import ProgressLog
from maskassets.storage import ArtifactStore, Manifest, StagedArtifact
from maskassets.video import STRICT_DECODING_FIX, DecodedFrame, DecodeLosses, VideoDecodeError, VideoInfo, iter_frames

STAGE = "video_frames"
CODE_VERSION = "2"
FRAMES_FILE = "frames.parquet"
CONTACT_SHEET_FILE = "contact_sheet.jpg"
_FRAMES_PER_ROW_GROUP = 32


@dataclass(frozen=True)
class FramesSummary:
    frame_count: int
    fps: float
    duration_seconds: float
    width: int
    height: int
    codec: str
    rotation: int
    source_bytes: int
    parquet_bytes: int
    packets_lost: int
    frames_concealed: int

    def as_dict(self) -> dict:
        return asdict(self)


def extract_frames(
    store: ArtifactStore,
    source: UPath,
    staged: StagedArtifact,
    *,
    strict: bool = False,
    log: Callable[[str], None] | None = None,
) -> FramesSummary:
    """Decode every frame of ``source`` into the staged parquet table. Damaged packets are skipped and
    counted in the summary, or with ``strict`` fail the stage."""
    info = VideoInfo.from_path(source)
    progress = ProgressLog(task=STAGE, total=info.frame_count_hint or None, log=log)
    target = staged.path(FRAMES_FILE)
    losses = DecodeLosses()
    sampler = ContactSheetSampler()
    with ParquetTableWriter(store, target, schema.VIDEO_FRAMES_SCHEMA) as writer:
        for chunk in _chunks(iter_frames(source, losses, strict=strict), _FRAMES_PER_ROW_GROUP):
            writer.write(_frames_table(chunk))
            for frame in chunk:
                sampler.offer(frame.index, frame.rgb)
            progress.advance(len(chunk))
    if writer.rows_written == 0:
        raise ValueError(f"{source} holds no decodable video frame; check that it plays, or remove it.")
    save_jpeg(sampler.render(), staged.path(CONTACT_SHEET_FILE))
    summary = FramesSummary(
        frame_count=writer.rows_written,
        fps=info.fps,
        duration_seconds=info.duration_seconds,
        width=info.width,
        height=info.height,
        codec=info.codec,
        rotation=info.rotation,
        source_bytes=info.size_bytes,
        parquet_bytes=target.fs.size(target.path),
        packets_lost=losses.packets_lost,
        frames_concealed=losses.frames_concealed,
    )
    staged.metadata.update(summary.as_dict())
    return summary


def refuse_damaged(stored: Manifest, source: UPath) -> None:
    """Under strict decoding, a stored table decoded leniently from a damaged video is not accepted."""
    lost, concealed = stored.metadata.get("packets_lost", 0), stored.metadata.get("frames_concealed", 0)
    if lost or concealed:
        raise VideoDecodeError(
            f"{source} is damaged ({lost} packets could not be decoded, {concealed} frames were concealed); "
            f"{STRICT_DECODING_FIX}"
        )


def _frames_table(frames: tuple[DecodedFrame, ...]) -> pa.Table:
    return pa.Table.from_pydict(
        {
            schema.FRAME_INDEX: [frame.index for frame in frames],
            schema.PTS_SECONDS: [frame.pts_seconds for frame in frames],
            schema.WIDTH: [frame.rgb.shape[1] for frame in frames],
            schema.HEIGHT: [frame.rgb.shape[0] for frame in frames],
            schema.IMAGE: [encode_frame(frame.rgb) for frame in frames],
        },
        schema=schema.VIDEO_FRAMES_SCHEMA,
    )


def _chunks(frames: Iterable[DecodedFrame], size: int) -> Iterator[tuple[DecodedFrame, ...]]:
    iterator = iter(frames)
    while chunk := tuple(islice(iterator, size)):
        yield chunk
