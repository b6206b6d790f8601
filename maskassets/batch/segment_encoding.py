"""The Ray tasks that encode the annotated frames in parallel segments and join them into one video without
re-encoding: each segment starts with a keyframe, so its packets follow the previous segment's as they are."""

from __future__ import annotations

import heapq
import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction

import av
import ray
from upath import UPath

from maskassets.media.audio import OUTPUT_AUDIO, output_audio
from maskassets.media.frame_codec import decode_frame
from maskassets.media.previews import encode_jpeg
from maskassets.media.video import OUTPUT_FORMATS, OutputCodec, OutputFormat, VideoWriter, stream_timing
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.sharded_tables import iter_table_batches


@dataclass(frozen=True)
class EncoderSettings:
    codec: OutputCodec = "vp8"
    crf: int = 10
    bitrate: int = 4_000_000
    #: Frames per parallel segment; None encodes the whole video in one (H.264's B-frames need that: their
    #: decode times would run back across a segment boundary).
    segment_frames: int | None = 600
    #: Whether the output carries the source's first audio stream (when it has one).
    audio: bool = True

    @property
    def file_name(self) -> str:
        return output_file_name(self.codec)


def output_file_name(codec: OutputCodec) -> str:
    """The name of the published video encoded with ``codec`` (``annotated.webm``, ``annotated.mp4``)."""
    return f"annotated.{OUTPUT_FORMATS[codec].extension}"


@dataclass(frozen=True)
class FrameRange:
    first_frame: int
    end_frame: int


@dataclass(frozen=True)
class EncodedSegment:
    path: UPath
    frames: int
    last_pts_seconds: float
    node_id: str
    poster_jpeg: bytes | None


@dataclass(frozen=True)
class JoinedVideo:
    bytes: int
    packets: int
    decoded_frames: int


@ray.remote(num_cpus=1, max_retries=3)
def encode_segment(
    store: ArtifactStore,
    annotated: Manifest,
    frames: FrameRange,
    target: UPath,
    *,
    encoder: EncoderSettings,
    width: int,
    height: int,
    rate: Fraction,
    poster_index: int,
) -> EncodedSegment:
    """Encode frames ``first_frame``..``end_frame - 1`` of the annotated table into ``target``."""
    poster = None
    last_pts = 0.0
    # The muxers seek back to write their index, which S3 objects cannot do: encode locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-segment-") as scratch:
        local_path = os.path.join(scratch, target.name)
        with VideoWriter(
            local_path,
            width=width,
            height=height,
            rate=rate,
            codec=encoder.codec,
            crf=encoder.crf,
            bitrate=encoder.bitrate,
        ) as writer:
            for batch in iter_table_batches(
                store, annotated, schema.ANNOTATED_TABLE, first_frame=frames.first_frame, end_frame=frames.end_frame
            ):
                columns = batch.to_pydict()
                for index, image, pts_seconds in zip(
                    columns[schema.FRAME_INDEX], columns[schema.IMAGE], columns[schema.PTS_SECONDS], strict=True
                ):
                    rgb = decode_frame(image)
                    writer.write(rgb, pts_seconds)
                    if index == poster_index:
                        poster = encode_jpeg(rgb)
                    last_pts = pts_seconds
        target.parent.mkdir(parents=True, exist_ok=True)
        target.fs.put_file(local_path, target.path)
    return EncodedSegment(target, writer.frames_written, last_pts, ray.get_runtime_context().get_node_id(), poster)


@ray.remote(num_cpus=1, max_retries=3)
def join_segments(
    segments: list[UPath], target: UPath, *, output_format: OutputFormat, audio: UPath | None
) -> JoinedVideo:
    """Copy the segments' packets, in order, into one file at ``target`` with the stored ``audio`` (if any)
    interleaved by time, then decode its video end to end once, proving a player can."""
    with tempfile.TemporaryDirectory(prefix="maskassets-join-") as scratch:
        local_path = os.path.join(scratch, target.name)
        container, options = output_format.container, output_format.container_options
        with av.open(local_path, mode="w", format=container, options=options) as output, ExitStack() as stack:
            with segments[0].open("rb") as first, av.open(first) as template:
                video = output.add_stream_from_template(template.streams.video[0])
            sound = stack.enter_context(output_audio(audio, output, OUTPUT_AUDIO[container])) if audio else iter(())
            packets = 0
            for packet in heapq.merge(_video_packets(segments, video), sound, key=_decode_seconds):
                output.mux(packet)
                packets += packet.stream is video
        decoded = stream_timing(UPath(local_path), decode=True)
        target.fs.put_file(local_path, target.path)
    return JoinedVideo(bytes=target.fs.size(target.path), packets=packets, decoded_frames=decoded.frame_count)


def _video_packets(segments: list[UPath], video: av.VideoStream) -> Iterator[av.Packet]:
    for segment in segments:
        with segment.open("rb") as source, av.open(source) as container:
            for packet in container.demux(container.streams.video[0]):
                if packet.dts is None:
                    continue
                packet.stream = video
                yield packet


def _decode_seconds(packet: av.Packet) -> Fraction:
    return packet.dts * packet.time_base
