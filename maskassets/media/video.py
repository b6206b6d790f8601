"""Reading videos with PyAV: probe a file, plan its keyframe segments and stream its frames."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, BinaryIO

import av
import numpy as np
from upath import UPath

from maskassets.media import yuv420
from maskassets.media.even_cuts import even_cuts
from maskassets.media.frame_timing import fill_missing_times
from maskassets.storage.errors import explain_storage_errors

if TYPE_CHECKING:
    from maskassets.media.packet_copy import PacketCopy


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    codec: str
    size_bytes: int
    #: Counterclockwise degrees the player turns the picture (phone videos); frames come out turned.
    rotation: int

    @classmethod
    def from_path(cls, path: UPath) -> VideoInfo:
        with open_video_container(path) as container:
            stream = container.streams.video[0]
            first_frame = _first_frame(container, stream)
            rotation = first_frame.rotation if first_frame is not None else 0
            width, height = upright_size(stream.codec_context.width, stream.codec_context.height, rotation)
            return cls(
                width=width,
                height=height,
                codec=stream.codec_context.name,
                size_bytes=path.fs.size(path.path),
                rotation=rotation,
            )


@dataclass(frozen=True)
class DecodedFrame:
    """One frame in presentation order. A decoder's picture becomes upright RGB only when ``rgb`` is first read,
    so that a reader needing only the frame's size and time (video_frames copying the source's packets) does
    not pay for the conversion."""

    index: int
    pts_seconds: float
    picture: av.VideoFrame | np.ndarray
    #: Counterclockwise degrees a decoder's picture is turned by to be upright (an RGB array is upright already).
    rotation: int = 0

    @cached_property
    def rgb(self) -> np.ndarray:
        if isinstance(self.picture, np.ndarray):
            return self.picture
        return upright_rgb(self.picture, self.rotation)

    def to_yuv420(self) -> av.VideoFrame:
        """The picture upright as a new 4:2:0 frame, to draw on and encode (a decoder's own frame may be a
        picture later frames are predicted from, so it is never drawn on)."""
        if isinstance(self.picture, np.ndarray):
            return yuv420.from_rgb(self.picture)
        return upright_yuv420(self.picture, self.rotation)

    @property
    def size(self) -> tuple[int, int]:
        """Width and height, upright."""
        if isinstance(self.picture, np.ndarray):
            return self.picture.shape[1], self.picture.shape[0]
        return upright_size(self.picture.width, self.picture.height, self.rotation)


@dataclass
class DecodeLosses:
    """What a damaged stream cost: packets FFmpeg could not decode at all, and frames it decoded only by
    concealing errors (kept, but they may show smeared blocks)."""

    packets_lost: int = 0
    frames_concealed: int = 0
    first_loss_seconds: float | None = None

    @property
    def any(self) -> bool:
        return bool(self.packets_lost or self.frames_concealed)

    def record(self, seconds: float | None, *, lost: bool) -> None:
        if lost:
            self.packets_lost += 1
        else:
            self.frames_concealed += 1
        if seconds is not None and (self.first_loss_seconds is None or seconds < self.first_loss_seconds):
            self.first_loss_seconds = seconds


@dataclass(frozen=True)
class Segment:
    """A run of the video that one worker decodes: the frames whose timestamps lie in [start_pts, end_pts)
    (stream time base), from the keyframe at ``start_pts``. ``None`` bounds reach the file's start or end.
    ``first_frame`` is the frame_index its first frame gets, as planned from the packets."""

    number: int
    start_pts: int | None
    end_pts: int | None
    first_frame: int
    planned_frames: int
    #: Where to seek: the keyframe before ``start_pts``, since containers without an index (MPEG-TS) land
    #: after the timestamp asked for as often as before it.
    seek_pts: int | None = None

    def owns(self, pts: int | None) -> bool:
        if pts is None:
            return True
        return (self.start_pts is None or pts >= self.start_pts) and (self.end_pts is None or pts < self.end_pts)

    def owns_frame(self, index: int) -> bool:
        """Whether the planned frame ``index`` falls in this segment."""
        return self.first_frame <= index < self.first_frame + max(self.planned_frames, 1)


WHOLE_VIDEO = Segment(number=0, start_pts=None, end_pts=None, first_frame=0, planned_frames=0)


@dataclass(frozen=True)
class DecodePlan:
    """Where a video is cut for parallel decoding, and what every segment must agree on."""

    segments: list[Segment]
    #: The first frame's own timestamp: every stored time counts from it (None: it has none, and the decode
    #: counts from the time it is given).
    first_pts_seconds: float | None
    #: The stream's own guess of its rate, all that tells how long a single frame lasts.
    guessed_rate: Fraction

    @property
    def planned_frames(self) -> int:
        return sum(segment.planned_frames for segment in self.segments)


def plan_decode(path: UPath, *, min_segment_frames: int) -> DecodePlan:
    """Cut ``path`` at keyframes into as many segments as it holds of at least ``min_segment_frames`` frames, the
    cuts at the keyframes nearest even shares of its frames (so some segments may be a little shorter), from one
    pass over its packets (no decoding). A stream with packets or a first frame lacking timestamps is not cut: one
    segment decodes it all."""
    with open_video_container(path) as container:
        stream = container.streams.video[0]
        first_pts_seconds, guessed_rate = _first_frame_time(container, stream), _guessed_rate(stream)
    with open_video_container(path) as container:
        stream = container.streams.video[0]
        packets = [(packet.pts, packet.is_keyframe) for packet in container.demux(stream) if packet.size]
    timestamps = sorted(pts for pts, _ in packets if pts is not None)
    if len(timestamps) < len(packets) or first_pts_seconds is None:
        return DecodePlan([replace(WHOLE_VIDEO, planned_frames=len(packets))], first_pts_seconds, guessed_rate)
    keyframes = sorted({pts for pts, keyframe in packets if keyframe})
    # Each keyframe by the number of frames before it; a segment from it seeks from the keyframe before it.
    starts = {
        bisect_left(timestamps, pts): (pts, keyframes[max(0, number - 1)]) for number, pts in enumerate(keyframes)
    }
    positions = sorted(position for position in starts if position > 0)
    chosen = even_cuts(positions, len(timestamps), _segment_count(positions, min_segment_frames))
    cuts = [starts[position][0] for position in chosen]
    seek_to = dict(starts[position] for position in chosen)
    bounds = [None, *cuts, None]
    segments, first_frame = [], 0
    for number, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False)):
        low = 0 if start is None else bisect_left(timestamps, start)
        high = len(timestamps) if end is None else bisect_left(timestamps, end)
        segments.append(Segment(number, start, end, first_frame, high - low, seek_pts=seek_to.get(start)))
        first_frame += high - low
    return DecodePlan(segments, first_pts_seconds, guessed_rate)


def _segment_count(keyframe_positions: list[int], min_segment_frames: int) -> int:
    """How many segments of at least ``min_segment_frames`` frames, each from a keyframe, the video holds."""
    segments, start = 1, 0
    for position in keyframe_positions:
        if position - start >= min_segment_frames:
            segments, start = segments + 1, position
    return segments


def iter_frames(
    path: UPath,
    losses: DecodeLosses | None = None,
    *,
    strict: bool = False,
    segment: Segment = WHOLE_VIDEO,
    first_pts_seconds: float | None = None,
    threads: int = 0,
    copy: PacketCopy | None = None,
) -> Iterator[DecodedFrame]:
    """Decode ``path`` (or one ``segment`` of it) frame by frame as RGB, upright (rotation metadata applied),
    the container closed however the caller stops. A packet that cannot be decoded is skipped and counted in
    ``losses``; with ``strict`` the first damage raises a VideoDecodeError instead.

    A segment starts at its keyframe and decodes past its end until the decoder, which returns frames in
    presentation order, reaches the end: the frames of an open GOP that reference the previous segment are
    decoded there, as a sequential decode does, and dropped at the start of the next. With ``copy``, the packets
    decoded are copied and the frames kept noted (packet_copy).
    """
    losses = losses if losses is not None else DecodeLosses()
    with open_video_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.thread_count = threads
        if segment.seek_pts is not None:
            container.seek(segment.seek_pts, stream=stream, backward=True, any_frame=False)
        packets = _packets_from(container.demux(stream), segment, path)
        if copy is not None:
            copy.start(stream)
            packets = copy.packets(packets)

        def lose(packet: av.Packet, error: av.error.FFmpegError) -> None:
            if segment.owns(packet.pts):
                losses.record(_packet_seconds(packet), lost=True)
                if strict:
                    raise _strict_error(path, losses, error.strerror) from error

        decoded = decode_packets(stream, packets, lose)
        if copy is not None:
            decoded = copy.decoded(decoded)
        owned = _owned_frames(decoded, segment, losses, strict, path)
        if copy is not None:
            owned = copy.kept(owned)
        first_pts = first_pts_seconds
        timed = fill_missing_times(((frame, frame.time) for frame in owned), 1 / float(_guessed_rate(stream)))
        for index, (frame, seconds) in enumerate(timed, start=segment.first_frame):
            if first_pts is None:
                first_pts = seconds
            yield DecodedFrame(index, seconds - first_pts, frame, frame.rotation)


def upright_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    """A picture's width and height once turned by ``rotation`` counterclockwise degrees."""
    return (height, width) if _quarter_turns(rotation) % 2 else (width, height)


def upright_rgb(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    """The frame as RGB, turned by ``rotation`` counterclockwise degrees as a player shows it."""
    return np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), _quarter_turns(rotation)))


def upright_yuv420(frame: av.VideoFrame, rotation: int) -> av.VideoFrame:
    """A copy of the frame as 4:2:0 YUV, turned by ``rotation`` counterclockwise degrees as a player shows it."""
    source = frame if frame.format.name == yuv420.FORMAT else frame.reformat(format=yuv420.FORMAT)
    width, height = upright_size(source.width, source.height, rotation)
    upright = av.VideoFrame(width, height, yuv420.FORMAT)
    for turned, plane in zip(yuv420.plane_arrays(upright), yuv420.plane_arrays(source), strict=True):
        turned[...] = np.rot90(plane, _quarter_turns(rotation))
    return upright


def decode_packets(
    stream: av.VideoStream,
    packets: Iterator[av.Packet],
    lose: Callable[[av.Packet, av.error.FFmpegError], None],
) -> Iterator[av.VideoFrame]:
    """Every frame the packets decode to, in presentation order, then those the decoder still holds at the end.
    Zero-length packets are not sent, as FFmpeg does not: Ogg marks a repeated frame with one, which the
    next frame's timestamp already accounts for, and the demuxer ends with one. A packet FFmpeg refuses is
    a lost packet, whatever the error: ``lose`` is told."""
    for packet in packets:
        if not packet.size:
            continue
        try:
            yield from packet.decode()
        except av.error.FFmpegError as error:
            lose(packet, error)
    for frame in stream.decode(None):
        # Drained frames come without the time base the packets' frames carry.
        frame.time_base = stream.time_base
        yield frame


def _owned_frames(
    frames: Iterator[av.VideoFrame], segment: Segment, losses: DecodeLosses, strict: bool, path: UPath
) -> Iterator[av.VideoFrame]:
    """The decoded frames that belong to ``segment``, damage recorded; a segment decodes past its end, so the
    first frame beyond it stops the decoding."""
    for frame in frames:
        if segment.start_pts is not None and frame.pts is not None and frame.pts < segment.start_pts:
            continue
        if segment.end_pts is not None and frame.pts is not None and frame.pts >= segment.end_pts:
            return
        if frame.is_corrupt:
            losses.record(frame.time, lost=False)
            if strict:
                raise _strict_error(path, losses, "a frame decoded only by concealing errors")
        yield frame


def _packets_from(packets: Iterator[av.Packet], segment: Segment, path: UPath) -> Iterator[av.Packet]:
    """The packets from the segment's keyframe on; a seek lands on it or on an earlier keyframe."""
    if segment.start_pts is None:
        yield from packets
        return
    for packet in packets:
        if packet.pts == segment.start_pts and packet.is_keyframe:
            yield packet
            yield from packets
            return
        if packet.is_keyframe and packet.pts is not None and packet.pts > segment.start_pts:
            break
    raise SegmentSeekError(f"seeking {path} to its keyframe at pts {segment.start_pts} went past it")


class SegmentSeekError(RuntimeError):
    """A container whose seek does not land on a planned keyframe; its video is decoded in one segment."""


@dataclass(frozen=True)
class StreamTiming:
    frame_count: int
    first_pts_seconds: float
    last_pts_seconds: float


def stream_timing(path: UPath) -> StreamTiming:
    """How many frames the video stream of ``path`` holds and the span of their timestamps, from its packets (one
    per frame in what maskassets writes; no pixel is decoded, so it is cheap on a long video)."""
    with open_video_container(path) as container:
        stream = container.streams.video[0]
        timestamps = [
            float(packet.pts * packet.time_base)
            for packet in container.demux(stream)
            if packet.size and packet.pts is not None
        ]
    if not timestamps:
        return StreamTiming(frame_count=0, first_pts_seconds=0.0, last_pts_seconds=0.0)
    # Packets come in decode order, which B-frames (H.264) put out of presentation order.
    return StreamTiming(
        frame_count=len(timestamps), first_pts_seconds=min(timestamps), last_pts_seconds=max(timestamps)
    )


def opening_keyframe_size(path: UPath) -> tuple[int, int] | None:
    """The width and height of the first frame of ``path`` when it decodes and is a keyframe, which a player needs to
    start there; None otherwise. Only that frame is decoded."""
    with open_video_container(path) as container:
        frame = _first_frame(container, container.streams.video[0])
        return (frame.width, frame.height) if frame is not None and frame.key_frame else None


def _strict_error(path: UPath, losses: DecodeLosses, reason: str) -> VideoDecodeError:
    return VideoDecodeError(
        f"{path} is damaged at {losses.first_loss_seconds or 0:.2f} s ({reason}); {STRICT_DECODING_FIX}"
    )


def _packet_seconds(packet: av.Packet) -> float | None:
    return float(packet.pts * packet.time_base) if packet.pts is not None and packet.time_base else None


def _quarter_turns(rotation: int) -> int:
    return round(rotation / 90) % 4


def _first_frame(container: av.container.InputContainer, stream: av.VideoStream) -> av.VideoFrame | None:
    return next(decode_packets(stream, container.demux(stream), lambda packet, error: None), None)


def _first_frame_time(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    frame = _first_frame(container, stream)
    return float(frame.time) if frame is not None and frame.time is not None else None


def first_frame_seconds(path: UPath) -> float:
    """The time of the video's first frame, which its stored frames count from (0 when it has none)."""
    with open_video_container(path) as container:
        return _first_frame_time(container, container.streams.video[0]) or 0.0


def _guessed_rate(stream: av.VideoStream) -> Fraction:
    """The stream's rate as FFmpeg guesses it (ffprobe's r_frame_rate), used only where timestamps are missing;
    25 when nothing tells, as FFmpeg assumes for raw streams."""
    return Fraction(stream.guessed_rate or stream.average_rate or 25)


#: What a damaged video's error under strict decoding tells the user to do.
STRICT_DECODING_FIX = (
    "strict decoding is on: re-encode or re-upload the video, or turn off `videos.strict_decoding` to keep the "
    "frames that decode."
)


class VideoDecodeError(ValueError):
    """A source file that cannot be read as a video."""


def why_not_a_video(path: UPath) -> str | None:
    """Why FFmpeg finds no video to decode in ``path``, in a few words (None: it finds one). Only the
    container's header is read."""
    with ExitStack() as stack:
        stack.enter_context(explain_storage_errors("The file", str(path)))
        if path.fs.size(path.path) == 0:
            return "empty (0 bytes)"
        try:
            container = stack.enter_context(av.open(_source(path, stack)))
        except av.error.FFmpegError as error:
            return f"not a format FFmpeg reads ({error.strerror})"
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            return f"a still image ({container.format.long_name})"
        if not container.streams.video:
            found = sorted({stream.type for stream in container.streams}) or ["no streams"]
            return f"no video stream (it holds {', '.join(found)})"
        if all(stream.disposition & av.stream.Disposition.attached_pic for stream in container.streams.video):
            return "no video stream (only a cover picture)"
        return None


def _source(path: UPath, stack: ExitStack) -> str | BinaryIO:
    """What FFmpeg opens: a local file by its path, a remote one through a file object closed with ``stack``."""
    return path.path if path.protocol in ("", "file", "local") else stack.enter_context(path.open("rb"))


@contextmanager
def open_video_container(path: UPath) -> Iterator[av.container.InputContainer]:
    """Open ``path`` for decoding; it must hold a video stream, else a VideoDecodeError says why. A
    storage failure while the container is open (an S3 read refused mid-stream) is reported as this
    video's."""
    with ExitStack() as stack:
        stack.enter_context(explain_storage_errors("The video", str(path)))
        try:
            container = stack.enter_context(av.open(_source(path, stack)))
        except av.error.FFmpegError as error:
            reason = "it is empty (0 bytes)" if path.fs.size(path.path) == 0 else f"FFmpeg says: {error.strerror}"
            raise VideoDecodeError(
                f"{path} is not a readable video ({reason}); an MP4 cut short before its index (no moov atom) "
                "looks the same. Check that it plays (ffprobe), export or upload it again, or remove it from "
                "the videos folder."
            ) from error
        if not container.streams.video:
            found = sorted({stream.type for stream in container.streams}) or ["no streams"]
            raise VideoDecodeError(
                f"{path} has no video stream (it holds {', '.join(found)}); replace it with the video or remove "
                "it from the videos folder."
            )
        yield container
