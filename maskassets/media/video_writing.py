"""Writing videos with PyAV: the output codecs, their containers and settings, and an encoder of 4:2:0 frames into a
WebM or an MP4."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from types import TracebackType
from typing import Literal

import av

from maskassets.media import yuv420
from maskassets.media.audio import OUTPUT_AUDIO, AudioEncoding

OutputCodec = Literal["vp8", "vp9", "h264"]


@dataclass(frozen=True)
class OutputFormat:
    """How one output codec is encoded and served."""

    encoder: str
    container: str
    extension: str
    mime_type: str
    encoder_options: dict[str, str]
    container_options: dict[str, str]


# Neither makes alternate reference frames: each packet is then one shown frame, so segments join packet by packet.
# VP8 runs libvpx's realtime mode at the fixed speed a negative cpu-used names (a positive one lets the encoder pick
# its speed by the clock, so the same frames could encode differently from run to run): 0.6x the CPU of good/4 a
# 720p frame for the same bytes and 0.2 dB less (bench/output_encoding.py).
_VP8_OPTIONS = {"deadline": "realtime", "cpu-used": "-6", "auto-alt-ref": "0"}
_VP9_OPTIONS = {"deadline": "good", "cpu-used": "4", "auto-alt-ref": "0"}
OUTPUT_FORMATS: dict[str, OutputFormat] = {
    "vp8": OutputFormat("libvpx", "webm", "webm", "video/webm", _VP8_OPTIONS, {}),
    "vp9": OutputFormat("libvpx-vp9", "webm", "webm", "video/webm", _VP9_OPTIONS, {}),
    # "faststart" moves the index (moov atom) before the media, so a browser starts playing before the
    # whole file has arrived; the main profile plays in every browser and phone.
    "h264": OutputFormat(
        "libx264", "mp4", "mp4", "video/mp4", {"preset": "medium", "profile": "main"}, {"movflags": "+faststart"}
    ),
}
#: Timestamps in milliseconds: WebM's own unit, and fine-grained enough for MP4.
_OUTPUT_TIME_BASE = Fraction(1, 1000)


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

    @property
    def container(self) -> str:
        return OUTPUT_FORMATS[self.codec].container

    @property
    def sound(self) -> AudioEncoding:
        """How the source's sound is made ready for this output's container."""
        return OUTPUT_AUDIO[self.container]


def output_file_name(codec: OutputCodec) -> str:
    """The name of the published video encoded with ``codec`` (``annotated.webm``, ``annotated.mp4``)."""
    return f"annotated.{OUTPUT_FORMATS[codec].extension}"


class VideoWriter:
    """Encodes 4:2:0 frames with their timestamps into a WebM (VP8/VP9) or an MP4 (H.264); use it as a
    context manager."""

    def __init__(
        self,
        target: str,
        *,
        width: int,
        height: int,
        rate: Fraction,
        codec: OutputCodec = "vp8",
        crf: int = 10,
        bitrate: int = 4_000_000,
        threads: int = 0,
    ) -> None:
        """``threads``: the encoder's threads (0: as many as FFmpeg picks)."""
        output = OUTPUT_FORMATS[codec]
        self._container = av.open(target, mode="w", format=output.container, options=output.container_options)
        self._stream = self._container.add_stream(output.encoder, rate=rate)
        # 4:2:0 chroma needs even sides in H.264; VP8/VP9 take odd ones as they are.
        self._even_sides = codec == "h264"
        #: The width and height the frames are encoded at.
        self.encoded_size = (width + width % 2, height + height % 2) if self._even_sides else (width, height)
        self._stream.width, self._stream.height = self.encoded_size
        self._stream.pix_fmt = "yuv420p"
        self._stream.bit_rate = bitrate
        self._stream.codec_context.time_base = _OUTPUT_TIME_BASE
        self._stream.thread_count = threads
        self._stream.options = {"crf": str(crf), **output.encoder_options}
        self.frames_written = 0
        self._last_pts = -1

    def write(self, frame: av.VideoFrame, pts_seconds: float) -> None:
        """Encode a 4:2:0 frame (``yuv420.from_rgb`` makes one of an RGB picture)."""
        if self._even_sides:
            frame = yuv420.padded_to_even(frame)
        # Two source timestamps may round to one millisecond; the containers need them strictly increasing.
        pts = max(round(pts_seconds / _OUTPUT_TIME_BASE), self._last_pts + 1)
        frame.pts = pts
        frame.time_base = _OUTPUT_TIME_BASE
        self._last_pts = pts
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def close(self) -> None:
        self._container.mux(self._stream.encode(None))
        self._container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._container.close()
