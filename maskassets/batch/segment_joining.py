"""The Ray task that joins a video's encoded segments into one file without re-encoding: each segment starts with
a keyframe, so its packets follow the previous segment's as they are; the stored sound (source_audio's, already in
a codec the container takes) is interleaved by time, copied as well."""

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

from maskassets.media.audio import output_audio
from maskassets.media.video_writing import OutputFormat


@dataclass(frozen=True)
class JoinedVideo:
    bytes: int
    packets: int


@ray.remote(num_cpus=1, max_retries=3)
def join_segments(
    segments: list[UPath], target: UPath, *, output_format: OutputFormat, audio: list[UPath]
) -> JoinedVideo:
    """Copy the segments' packets, in order, into one file at ``target`` with the packets of the stored sound's
    ``audio`` parts (if any) interleaved by time. Nothing is decoded or encoded: each segment was checked to start
    on a keyframe when it was encoded, and the sound was made for this container when it was stored."""
    with tempfile.TemporaryDirectory(prefix="maskassets-join-") as scratch:
        local_path = os.path.join(scratch, target.name)
        container, options = output_format.container, output_format.container_options
        with av.open(local_path, mode="w", format=container, options=options) as output, ExitStack() as stack:
            with segments[0].open("rb") as first, av.open(first) as template:
                video = output.add_stream_from_template(template.streams.video[0])
            sound = stack.enter_context(output_audio(audio, output)) if audio else iter(())
            packets = 0
            for packet in heapq.merge(_video_packets(segments, video), sound, key=_decode_seconds):
                output.mux(packet)
                packets += packet.stream is video
        target.fs.put_file(local_path, target.path)
    return JoinedVideo(bytes=target.fs.size(target.path), packets=packets)


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
