"""The source's sound made ready for the output once: its first audio stream kept beside the frames in Matroska
files, one a part of its length, its packets copied where the output container takes the codec and encoded where it
does not, then copied packet for packet into each output made from it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain

import av
import numpy as np
from upath import UPath

from maskassets.media.video import open_video_container

#: Holds every codec an output container takes (Opus, Vorbis, AAC, MP3) and writes to a local file.
STORED_AUDIO_CONTAINER = "matroska"
#: Sound an encoded part decodes and encodes before (and after) its own: enough for the decoder, the resampler and
#: the encoder to reach the state one encoder of the whole stream would be in there (Opus asks 80 ms of a decoder
#: that starts mid-stream, AAC one frame), so the parts' packets play on from each other without a click.
PREROLL_SECONDS = 0.5
#: How far before a part's start a seek first lands; a demuxer that lands later is asked again from further back.
SEEK_MARGIN_SECONDS = 1.0
#: How far the samples may run from their frames' times before they are moved back to them: above the half
#: millisecond a Matroska clock rounds to, below a click.
DRIFT_SECONDS = 0.002


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
class SoundPart:
    """A stretch of the sound in seconds from the first video frame, from ``begins`` up to ``ends`` (None: to its
    end). Parts that meet hold each copied packet once between them; encoded ones cut on one grid of the
    encoder's frames, so their packets follow each other as a single encoder's would."""

    begins: float = 0.0
    ends: float | None = None

    @property
    def is_first(self) -> bool:
        """Whether it starts at the first video frame: read from the stream's start, what ends before is counted."""
        return self.begins == 0


WHOLE_SOUND = SoundPart()


def plan_sound_parts(video_seconds: float, part_seconds: float) -> list[SoundPart]:
    """Parts of about ``part_seconds`` over a video of ``video_seconds``; the last runs to the sound's end."""
    count = max(1, round(video_seconds / part_seconds))
    return [
        SoundPart(number * part_seconds, (number + 1) * part_seconds if number < count - 1 else None)
        for number in range(count)
    ]


@dataclass(frozen=True)
class StoredAudio:
    """What was kept of one part of the source's first audio stream."""

    source_codec: str
    codec: str
    sample_rate: int
    channels: int
    packets: int
    #: Audio packets (or frames, when encoded) that ended before the first video frame and were left out.
    dropped_before_video: int
    #: When its first packet begins and its last ends, in seconds from the first video frame (None: no packets).
    begins_seconds: float | None
    ends_seconds: float | None


def store_first_audio_stream(
    source: UPath, target: str, *, start_seconds: float, encoding: AudioEncoding, part: SoundPart = WHOLE_SOUND
) -> StoredAudio | None:
    """Write ``part`` of the first audio stream of ``source`` into the Matroska file ``target`` as ``encoding``
    wants it (copied if it takes the codec, else encoded), its times counted from ``start_seconds`` (the first
    video frame's time, which the stored frames count from) and what ends before it left out; None when the
    source has no audio, or when the first part keeps it all (``_encodes_in_parts``)."""
    with open_video_container(source) as container:
        if not container.streams.audio:
            return None
        audio = container.streams.audio[0]
        copied = audio.codec_context.name in encoding.copied_codecs
        if not copied and part != WHOLE_SOUND and not _encodes_in_parts(audio, encoding):
            if not part.is_first:
                return None
            part = WHOLE_SOUND
        reading = _PartReading(container, audio, start_seconds, part)
        with av.open(target, mode="w", format=STORED_AUDIO_CONTAINER) as output:
            if copied:
                stored = output.add_stream_from_template(audio)
                packets = _copied(reading, stored)
            else:
                stored = _encoder_stream(output, encoding, audio.codec_context)
                packets = _encoded(reading, stored)
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
            packets=written,
            dropped_before_video=dropped,
            begins_seconds=None if first is None else round(first, 6),
            ends_seconds=None if last is None else round(last, 6),
        )


def _encodes_in_parts(audio: av.AudioStream, encoding: AudioEncoding) -> bool:
    """Whether parts of the stream can be encoded apart: each starts at the sample its first frame's time names,
    which must be exact for the parts to meet without a click. That needs a clock that tells samples apart (not
    Matroska's milliseconds) and no change of rate (a resampled part would start a fraction of a sample off the
    one before it, which shows at high pitches); other sound is encoded in one part."""
    rate = audio.codec_context.sample_rate
    return audio.time_base <= Fraction(1, rate) and _encoder_rate(encoding, audio.codec_context) == rate


@contextmanager
def output_audio(parts: list[UPath], output: av.container.OutputContainer) -> Iterator[Iterator[av.Packet]]:
    """Add an audio stream for the stored sound (its ``parts`` in order, already in a codec ``output`` takes) to
    ``output`` and give its packets in order, as they are, for the caller to interleave with the video's."""
    with parts[0].open("rb") as file, av.open(file) as container:
        target = output.add_stream_from_template(container.streams.audio[0])
    yield chain.from_iterable(_moved(part, target) for part in parts)


def _moved(part: UPath, target: av.AudioStream) -> Iterator[av.Packet]:
    """The packets of a stored part that carry sound, moved to ``target`` with their times (an encoder's first
    packet may begin before zero: the samples its decoder skips)."""
    with part.open("rb") as file, av.open(file) as container:
        for packet in container.demux(container.streams.audio[0]):
            if packet.size and packet.dts is not None:
                packet.stream = target
                yield packet


@dataclass(frozen=True)
class _PartReading:
    """A part being read: the source's container and first audio stream, the first video frame's time on the
    source's clock, and the part."""

    container: av.container.InputContainer
    audio: av.AudioStream
    start_seconds: float
    part: SoundPart

    def packets_from(self, seconds: float) -> Iterator[av.Packet]:
        """The audio packets in order from one that begins at or before ``seconds`` from the first video frame;
        the first part reads from the stream's start, to count what it leaves out."""
        start = None if self.part.is_first else self.start_seconds + seconds
        return _packets_from(self.container, self.audio, start)


def _copied(reading: _PartReading, target: av.AudioStream) -> Iterator[av.Packet | None]:
    """The part's packets moved to ``target`` and timed from the first video frame; None for each that begins
    before it (counted by the first part only)."""
    time_base, part = reading.audio.time_base, reading.part
    shift = round(Fraction(reading.start_seconds) / time_base)
    begins = round(Fraction(part.begins) / time_base)
    ends = None if part.ends is None else round(Fraction(part.ends) / time_base)
    for packet in reading.packets_from(part.begins):
        if not packet.size or (packet.pts is None and packet.dts is None):
            continue
        pts = packet.pts if packet.pts is not None else packet.dts
        dts = packet.dts if packet.dts is not None else pts
        if pts - shift < begins:
            if part.is_first:
                yield None
            continue
        if ends is not None and pts - shift >= ends:
            return
        packet.pts, packet.dts = pts - shift, dts - shift
        packet.stream = target
        yield packet


def _encoded(reading: _PartReading, target: av.AudioStream) -> Iterator[av.Packet | None]:
    """The part encoded into ``target``: the samples from a preroll before it to one after it, cut into the
    encoder's frames on a grid counted from the first video frame, and of the packets those give, the ones whose
    samples begin in the part; None for each source frame that ends before the first video frame."""
    context, part = target.codec_context, reading.part
    rate, size = context.sample_rate, _frame_size(context)
    preroll = math.ceil(PREROLL_SECONDS * rate / size) * size
    first = math.floor(part.begins * rate / size) * size
    end = None if part.ends is None else math.floor(part.ends * rate / size) * size
    feed_from = max(0, first - preroll)
    frames = _frames_on_grid(
        _decoded(reading.packets_from(feed_from / rate)),
        context,
        start_seconds=reading.start_seconds,
        feed_from=feed_from,
        feed_to=None if end is None else end + preroll,
        count_dropped=part.is_first,
    )
    fed_from = delay = None

    def within_part(packets: list[av.Packet]) -> Iterator[av.Packet]:
        nonlocal delay
        for packet in packets:
            # An encoder's packets begin its delay (the samples a decoder skips) before the samples that made them.
            delay = fed_from - packet.pts if delay is None else delay
            if first <= packet.pts + delay and (end is None or packet.pts + delay < end):
                yield packet

    for frame in frames:
        if frame is None:
            yield None
            continue
        fed_from = frame.pts if fed_from is None else fed_from
        yield from within_part(target.encode(frame))
    if fed_from is not None:
        yield from within_part(target.encode(None))


def _frames_on_grid(
    frames: Iterator[av.AudioFrame],
    context: av.AudioCodecContext,
    *,
    start_seconds: float,
    feed_from: int,
    feed_to: int | None,
    count_dropped: bool,
) -> Iterator[av.AudioFrame | None]:
    """``frames`` resampled for the encoder of ``context`` and cut into its frames, from ``feed_from`` (samples
    from the first video frame, on the grid of its frame size; the next grid point where the sound starts later)
    up to ``feed_to``, each timed by where its first sample falls; None for each source frame that ends before
    the first video frame, when ``count_dropped``. The encoder gets the samples without a break, each where its
    frame's time puts it (``_placed``), so a part starts where the one before it ends."""
    rate, size = context.sample_rate, _frame_size(context)
    resampler = av.AudioResampler(format=context.format, layout=context.layout, rate=rate)
    fifo = av.AudioFifo()
    position = start = origin = None
    fed = 0
    for frame in chain(frames, [None]):
        placed = [frame]
        if frame is not None:
            begins = (frame.time or 0.0) - start_seconds
            if begins + frame.samples / frame.sample_rate <= 0:
                if count_dropped:
                    yield None
                continue
            if position is None:
                position = round(begins * rate)
                start = max(feed_from, -(-position // size) * size)
                origin = frame.time
            elif origin is not None and frame.time is not None:
                placed = _placed(frame, late=round((frame.time - origin) * frame.sample_rate) - fed)
            fed += sum(piece.samples for piece in placed)
        if position is None:
            return
        for piece in placed:
            for resampled in resampler.resample(piece):
                resampled.pts = None
                fifo.write(resampled)
        if position < start and fifo.samples:
            skipped = min(start - position, fifo.samples)
            fifo.read(skipped)
            position += skipped
        while position >= start and fifo.samples >= size:
            if feed_to is not None and position >= feed_to:
                return
            yield _timed(fifo.read(size), position, rate)
            position += size
    if position is not None and position >= start and fifo.samples:
        yield _timed(fifo.read(), position, rate)


def _placed(frame: av.AudioFrame, *, late: int) -> list[av.AudioFrame]:
    """``frame`` where its time puts it, the samples before it having come ``late`` samples short of that time (a
    gap in the sound: silence before it) or past it (an overlap, as where copied pieces were joined: its first
    samples left out). One pass that plays every sample in order drifts from the pictures by what the
    differences add up to (0.23 s a minute of bigbuckbunny looped), and parts started by their times would
    break where they meet."""
    if abs(late) <= DRIFT_SECONDS * frame.sample_rate:
        return [frame]
    if late < 0:
        kept = frame.samples + late
        return [_samples_of(frame, frame.samples - kept, kept)] if kept > 0 else []
    silences = [min(late - done, frame.sample_rate) for done in range(0, late, frame.sample_rate)]
    return [*(_silence_like(frame, samples) for samples in silences), frame]


def _samples_of(frame: av.AudioFrame, first: int, count: int) -> av.AudioFrame:
    """``count`` samples of ``frame`` from its ``first``."""
    array = frame.to_ndarray()
    step = 1 if frame.format.is_planar else len(frame.layout.channels)
    return _like(frame, array[:, first * step : (first + count) * step])


def _silence_like(frame: av.AudioFrame, samples: int) -> av.AudioFrame:
    """``samples`` of silence in ``frame``'s format (unsigned 8-bit sound rests at 128)."""
    array = frame.to_ndarray()
    step = 1 if frame.format.is_planar else len(frame.layout.channels)
    rest = 128 if frame.format.name.startswith("u8") else 0
    return _like(frame, np.full((array.shape[0], samples * step), rest, dtype=array.dtype))


def _like(frame: av.AudioFrame, array: np.ndarray) -> av.AudioFrame:
    made = av.AudioFrame.from_ndarray(np.ascontiguousarray(array), format=frame.format.name, layout=frame.layout)
    made.sample_rate = frame.sample_rate
    return made


def _timed(frame: av.AudioFrame, position: int, rate: int) -> av.AudioFrame:
    frame.pts, frame.time_base = position, Fraction(1, rate)
    return frame


def _frame_size(context: av.AudioCodecContext) -> int:
    """Samples in each of the encoder's frames (1024 where it takes any number)."""
    return context.frame_size or 1024


def _packets_from(
    container: av.container.InputContainer, audio: av.AudioStream, seconds: float | None
) -> Iterator[av.Packet]:
    """The audio packets in order from one that begins at or before ``seconds`` on the source's clock (None: from
    the stream's start): a seek, from further back where the demuxer lands late, and no seek near the start."""
    time_base = audio.time_base
    stream_start = float((audio.start_time or 0) * time_base)
    margin, sought = SEEK_MARGIN_SECONDS, False
    while seconds is not None and seconds - margin > stream_start:
        container.seek(round((seconds - margin) / time_base), stream=audio)
        sought = True
        packets = container.demux(audio)
        landed = next((packet for packet in packets if packet.pts is not None), None)
        if landed is not None and landed.pts * time_base <= seconds:
            yield landed
            yield from packets
            return
        margin *= 4
    if sought:
        container.seek(audio.start_time or 0, stream=audio)
    yield from container.demux(audio)


def _decoded(packets: Iterator[av.Packet]) -> Iterator[av.AudioFrame]:
    """Every frame the packets decode to; a packet the decoder refuses is passed over, as players do."""
    for packet in packets:
        try:
            yield from packet.decode()
        except av.error.FFmpegError:
            continue


def _encoder_stream(
    output: av.container.OutputContainer, encoding: AudioEncoding, source: av.AudioCodecContext
) -> av.AudioStream:
    """An audio stream of ``output`` encoded as ``encoding`` says, at a sample rate its encoder supports (the
    source's where it can), in mono or stereo as the source has one channel or more."""
    stream = output.add_stream(encoding.encoder, rate=_encoder_rate(encoding, source))
    stream.codec_context.layout = "mono" if source.channels == 1 else "stereo"
    stream.codec_context.bit_rate = encoding.bitrate
    # Opened now, so that its frame size (what the frames must be cut into) is known.
    stream.codec_context.open()
    return stream


def _encoder_rate(encoding: AudioEncoding, source: av.AudioCodecContext) -> int:
    """The source's sample rate where the encoder takes it, else the encoder's highest."""
    rates = av.Codec(encoding.encoder, "w").audio_rates
    return source.sample_rate if not rates or source.sample_rate in rates else max(rates)
