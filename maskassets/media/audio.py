"""The source's sound made ready for the output once: its first audio stream kept beside the frames in a Matroska
file, its packets copied where the output container takes the codec and encoded where it does not, then copied
packet for packet into each output made from it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain

import av
from upath import UPath

from maskassets.media.video import open_video_container

#: Holds every codec an output container takes (Opus, Vorbis, AAC, MP3) and writes to a local file.
STORED_AUDIO_CONTAINER = "matroska"


@dataclass(frozen=True)
class AudioEncoding:
    """The audio an output container carries: the codecs it takes as they are, and the encoder for the rest."""

    encoder: str
    copied_codecs: frozenset[str]
    bitrate: int = 128_000


#: Per output container, its audio: WebM takes Opus and Vorbis, MP4 AAC and MP3 (what browsers play in each).
OUTPUT_AUDIO = {
    "webm": AudioEncoding("libopus", frozenset({"opus", "vorbis"})),
    "mp4": AudioEncoding("aac", frozenset({"aac", "mp3"})),
}


@dataclass(frozen=True)
class StoredAudio:
    """What was kept of the source's first audio stream."""

    source_codec: str
    codec: str
    sample_rate: int
    channels: int
    duration_seconds: float
    packets: int
    #: Audio packets (or frames, when encoded) that began before the first video frame and were left out.
    dropped_before_video: int


def store_first_audio_stream(
    source: UPath, target: str, *, start_seconds: float, encoding: AudioEncoding
) -> StoredAudio | None:
    """Write the first audio stream of ``source`` into the Matroska file ``target`` as ``encoding`` wants it
    (copied if it takes the codec, else encoded), its times counted from ``start_seconds`` (the first video
    frame's time, which the stored frames count from) and what begins before it left out; None when the source
    has no audio."""
    with open_video_container(source) as container:
        if not container.streams.audio:
            return None
        audio = container.streams.audio[0]
        with av.open(target, mode="w", format=STORED_AUDIO_CONTAINER) as output:
            if audio.codec_context.name in encoding.copied_codecs:
                stored = output.add_stream_from_template(audio)
                packets = _copied(container.demux(audio), stored, start_seconds)
            else:
                stored = _encoder_stream(output, encoding, audio.codec_context)
                packets = _encoded(_decoded(container, audio), stored, start_seconds)
            written = dropped = 0
            first = last = None
            for packet in packets:
                if packet is None:
                    dropped += 1
                    continue
                begins = float(packet.pts * packet.time_base)
                first = begins if first is None else first
                last = begins + float((packet.duration or 0) * packet.time_base)
                output.mux(packet)
                written += 1
            codec = stored.codec_context.codec.canonical_name
        return StoredAudio(
            source_codec=audio.codec_context.name,
            codec=codec,
            sample_rate=audio.codec_context.sample_rate,
            channels=audio.codec_context.channels,
            duration_seconds=round((last or 0.0) - (first or 0.0), 3),
            packets=written,
            dropped_before_video=dropped,
        )


@contextmanager
def output_audio(stored: UPath, output: av.container.OutputContainer) -> Iterator[Iterator[av.Packet]]:
    """Add an audio stream for the ``stored`` sound (already in a codec ``output`` takes) to ``output`` and give
    its packets in order, as they are, for the caller to interleave with the video's."""
    with stored.open("rb") as file, av.open(file) as container:
        audio = container.streams.audio[0]
        target = output.add_stream_from_template(audio)
        yield _moved(container.demux(audio), target)


def _moved(packets: Iterator[av.Packet], target: av.AudioStream) -> Iterator[av.Packet]:
    """The packets that carry sound, moved to ``target`` with their times (an encoder's first packet may begin
    before zero: the samples its decoder skips)."""
    for packet in packets:
        if packet.size and packet.dts is not None:
            packet.stream = target
            yield packet


def _copied(packets: Iterator[av.Packet], target: av.AudioStream, start_seconds: float) -> Iterator[av.Packet | None]:
    """The packets moved to ``target`` and ``start_seconds`` earlier; None for each that begins before it."""
    for packet in packets:
        if not packet.size or (packet.pts is None and packet.dts is None):
            continue
        shift = round(Fraction(start_seconds) / packet.time_base)
        pts = packet.pts if packet.pts is not None else packet.dts
        dts = packet.dts if packet.dts is not None else pts
        if pts - shift < 0:
            yield None
            continue
        packet.pts, packet.dts = pts - shift, dts - shift
        packet.stream = target
        yield packet


def _decoded(container: av.container.InputContainer, audio: av.AudioStream) -> Iterator[av.AudioFrame]:
    """Every frame the stream decodes to; a packet the decoder refuses is passed over, as players do."""
    for packet in container.demux(audio):
        try:
            yield from packet.decode()
        except av.error.FFmpegError:
            continue


def _encoded(
    frames: Iterator[av.AudioFrame], target: av.AudioStream, start_seconds: float
) -> Iterator[av.Packet | None]:
    """``frames`` encoded into ``target``, timed from the first kept frame on by the samples before them (so the
    encoder gets the gapless run it expects); None for each frame that begins before ``start_seconds``."""
    context = target.codec_context
    resampler = av.AudioResampler(
        format=context.format, layout=context.layout, rate=context.sample_rate, frame_size=context.frame_size or None
    )
    next_sample: int | None = None
    for frame in chain(frames, [None]):
        if frame is not None:
            begins = (frame.time or 0.0) - start_seconds
            if begins < 0:
                yield None
                continue
            if next_sample is None:
                next_sample = round(begins * context.sample_rate)
        for resampled in resampler.resample(frame):
            resampled.pts, resampled.time_base = next_sample or 0, Fraction(1, context.sample_rate)
            next_sample = (next_sample or 0) + resampled.samples
            yield from target.encode(resampled)
    yield from target.encode(None)


def _encoder_stream(
    output: av.container.OutputContainer, encoding: AudioEncoding, source: av.AudioCodecContext
) -> av.AudioStream:
    """An audio stream of ``output`` encoded as ``encoding`` says, at a sample rate its encoder supports (the
    source's where it can), in mono or stereo as the source has one channel or more."""
    rates = av.Codec(encoding.encoder, "w").audio_rates
    rate = source.sample_rate if not rates or source.sample_rate in rates else max(rates)
    stream = output.add_stream(encoding.encoder, rate=rate)
    stream.codec_context.layout = "mono" if source.channels == 1 else "stereo"
    stream.codec_context.bit_rate = encoding.bitrate
    # Opened now, so that its frame size (what the resampler must cut the samples into) is known.
    stream.codec_context.open()
    return stream
