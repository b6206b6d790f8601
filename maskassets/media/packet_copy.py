"""Frames stored as the source's own packets: while a segment decodes, every packet the decoder is given is
copied, untouched, into a Matroska file of its own; decoding that file later gives the same frames, pixel for
pixel, for about the source's bytes instead of an image per frame.

The copy holds what the decoder consumed, from the segment's keyframe to the packet that showed the segment
had ended, so it decodes to the segment's frames with a few more around them: the frames of an open GOP that
reference the segment before, and those the decoder releases after the end. Which of the decoded frames are
the segment's is recorded by their place in the decoder's output, so reading the copy depends on neither the
container's timestamps nor the source's (some have none, some run backwards).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
from upath import UPath

from maskassets.media.video import decode_packets, open_video_container

#: The container the packets are copied into: it carries nearly every codec FFmpeg decodes.
COPY_FORMAT = "matroska"
COPY_EXTENSION = "mkv"
_COPY_TIME_BASE = Fraction(1, 1000)


@dataclass(frozen=True)
class CopiedSegment:
    """Where one segment's copied packets lie and which of the frames they decode to are its frames."""

    file: str
    first_frame: int
    frames: int
    bytes: int
    #: Positions in the copy's decoded output, before its last frame, of frames that belong to other segments.
    skipped: tuple[int, ...]
    #: Counterclockwise degrees the frames are turned upright by (Matroska does not keep the source's tag).
    rotation: int

    def record(self) -> dict:
        """What the manifest lists of it."""
        return {
            "file": self.file,
            "first_frame": self.first_frame,
            "frames": self.frames,
            "bytes": self.bytes,
            "skipped": list(self.skipped),
            "rotation": self.rotation,
        }

    @classmethod
    def from_record(cls, record: dict) -> CopiedSegment:
        return cls(**{**record, "skipped": tuple(record["skipped"])})


class PacketCopy:
    """Copies the packets one decode of ``source`` sends to its decoder into ``path``, and notes which decoded
    frames the decode kept. Used as a context manager: the file is complete once it closes."""

    def __init__(self, path: str, *, source: str) -> None:
        self.path = path
        self.source = source
        self.kept_positions: list[int] = []
        self.rotation = 0
        self._container: av.container.OutputContainer | None = None
        self._stream: av.VideoStream | None = None
        self._position = -1
        self._packets_copied = 0

    def start(self, source_stream: av.VideoStream) -> None:
        self._codec = source_stream.codec_context.name
        self._container = av.open(self.path, mode="w", format=COPY_FORMAT)
        try:
            # From the decoder's parameters: an encoder of the codec need not exist (Theora, HEVC in most builds).
            self._stream = self._container.add_stream_from_template(source_stream, opaque=True)
        except ValueError as error:
            raise self._refusal(str(error)) from error

    def packets(self, packets: Iterator[av.Packet]) -> Iterator[av.Packet]:
        """``packets``, each copied as it passes on to the decoder. The copies are timed one millisecond apart in
        decode order: their frames are told apart by place, and the muxer takes no source's broken timestamps
        (missing, repeated, running backwards) for a reason to fail."""
        for packet in packets:
            if packet.size:
                copied = av.Packet(bytes(packet))
                copied.pts = copied.dts = self._packets_copied
                copied.time_base = _COPY_TIME_BASE
                self._packets_copied += 1
                copied.is_keyframe = packet.is_keyframe
                copied.stream = self._stream
                try:
                    self._container.mux(copied)
                except av.error.FFmpegError as error:
                    raise self._refusal(error.strerror) from error
            yield packet

    def _refusal(self, reason: str) -> PacketCopyError:
        return PacketCopyError(
            f"The {self._codec} packets of {self.source} cannot be copied into {COPY_FORMAT} ({reason}); store "
            "its frames as images: set `videos.frame_format` (MASKASSETS_FRAME_FORMAT) to jpeg or png"
        )

    def decoded(self, frames: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        """``frames``, counted in the order the decoder returns them."""
        for frame in frames:
            self._position += 1
            yield frame

    def kept(self, frames: Iterator[av.VideoFrame]) -> Iterator[av.VideoFrame]:
        """``frames``, the segment's: each is the one ``decoded`` passed last, as it is taken from there."""
        for frame in frames:
            if not self.kept_positions:
                self.rotation = frame.rotation
            self.kept_positions.append(self._position)
            yield frame

    def skipped(self) -> tuple[int, ...]:
        kept = set(self.kept_positions)
        return tuple(position for position in range(max(kept, default=-1)) if position not in kept)

    def __enter__(self) -> PacketCopy:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._container is not None:
            self._container.close()


class PacketCopyError(ValueError):
    """A video whose packets the copy's container cannot carry."""


def iter_copied_frames(path: UPath, segment: CopiedSegment, *, start: int = 0) -> Iterator[av.VideoFrame]:
    """The frames of a copied segment, from its ``start``-th frame on, as decoded: ``segment.rotation`` turns them
    upright."""
    skipped, owned = set(segment.skipped), 0
    with open_video_container(path) as container:
        stream = container.streams.video[0]
        # Its readers are Ray tasks side by side, one per run of frames: decoder threads would compete with the tasks
        # beside them and cost more CPU a frame (720p H.264 here: 1.8 to 2.0 ms on one thread, 2.0 to 3.0 on several).
        stream.thread_count = 1
        # As the segment's decode did, a packet the decoder refuses is passed over: that decode counted the loss.
        frames = decode_packets(stream, container.demux(stream), lambda packet, error: None)
        for position, frame in enumerate(frames):
            if position in skipped:
                continue
            if owned >= start:
                yield frame
            owned += 1
            if owned == segment.frames:
                return
    raise ValueError(
        f"{path} decodes to {owned} of its segment's {segment.frames} frames; materialize video_frames again"
    )


def copied_segments(records: Sequence[dict]) -> list[CopiedSegment]:
    return sorted((CopiedSegment.from_record(record) for record in records), key=lambda segment: segment.first_frame)
