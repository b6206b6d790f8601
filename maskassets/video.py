"""Video I/O with PyAV: probe a file, stream its frames, and encode frames into a WebM."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import IO, Literal

import av
import numpy as np
from upath import UPath

WebmCodec = Literal["vp8", "vp9"]
_LIBVPX_ENCODERS: dict[str, str] = {"vp8": "libvpx", "vp9": "libvpx-vp9"}
#: WebM stores timestamps in milliseconds.
_WEBM_TIME_BASE = Fraction(1, 1000)


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    codec: str
    frame_count_hint: int
    duration_seconds: float
    size_bytes: int

    @classmethod
    def from_path(cls, path: UPath) -> VideoInfo:
        with _open_container(path) as container:
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate or Fraction(0)
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None
                else (container.duration or 0) / av.time_base
            )
            return cls(
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                fps=float(rate),
                codec=stream.codec_context.name,
                frame_count_hint=stream.frames,
                duration_seconds=duration,
                size_bytes=path.fs.size(path.path),
            )


@dataclass(frozen=True)
class DecodedFrame:
    index: int
    pts_seconds: float
    rgb: np.ndarray


def iter_frames(path: UPath) -> Iterator[DecodedFrame]:
    """Decode ``path`` frame by frame as RGB; the container is closed however the caller stops."""
    with _open_container(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first_pts: float | None = None
        for index, frame in enumerate(container.decode(stream)):
            pts_seconds = float(frame.time) if frame.time is not None else index / float(stream.average_rate)
            if first_pts is None:
                first_pts = pts_seconds
            yield DecodedFrame(index=index, pts_seconds=pts_seconds - first_pts, rgb=frame.to_ndarray(format="rgb24"))


class VideoDecodeError(ValueError):
    """A source file that cannot be read as a video."""


@contextmanager
def _open_container(path: UPath) -> Iterator[av.container.InputContainer]:
    """Open ``path`` for decoding; it must hold a video stream, else a VideoDecodeError says why."""
    with ExitStack() as stack:
        source = path.path if path.protocol in ("", "file", "local") else stack.enter_context(path.open("rb"))
        try:
            container = stack.enter_context(av.open(source))
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


class WebmWriter:
    """Encodes RGB frames with their timestamps into a WebM file; use it as a context manager."""

    def __init__(
        self,
        target: str | IO[bytes],
        *,
        width: int,
        height: int,
        fps: float,
        codec: WebmCodec = "vp8",
        crf: int = 10,
        bitrate: int = 4_000_000,
    ) -> None:
        self._container = av.open(target, mode="w", format="webm")
        self._stream = self._container.add_stream(_LIBVPX_ENCODERS[codec], rate=Fraction(fps).limit_denominator(100000))
        self._stream.width = width
        self._stream.height = height
        self._stream.pix_fmt = "yuv420p"
        self._stream.bit_rate = bitrate
        self._stream.codec_context.time_base = _WEBM_TIME_BASE
        self._stream.options = {"crf": str(crf), "deadline": "good", "cpu-used": "4", "auto-alt-ref": "0"}
        self.frames_written = 0
        self._last_pts = -1

    def write(self, rgb: np.ndarray, pts_seconds: float) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        # Two source timestamps may round to one millisecond; WebM needs them strictly increasing.
        pts = max(round(pts_seconds / _WEBM_TIME_BASE), self._last_pts + 1)
        frame.pts = pts
        frame.time_base = _WEBM_TIME_BASE
        self._last_pts = pts
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def close(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> WebmWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()
