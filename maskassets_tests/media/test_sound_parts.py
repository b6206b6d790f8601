"""The sound kept in parts, each by its own task from a seek near its start, plays as the sound kept in one piece:
copied packets are the same packets, and encoded parts, each begun half a second early, meet without a click."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
from upath import UPath

from maskassets.media.audio import OUTPUT_AUDIO, WHOLE_SOUND, output_audio, plan_sound_parts, store_first_audio_stream
from maskassets.media.video import first_frame_seconds

SECONDS, PART_SECONDS = 4.0, 0.7
#: A tone and a rising chirp: a part that starts a sample off, or with an encoder that has not settled, clicks.
SOUND = "0.5*sin(2*PI*440*t)+0.2*sin(2*PI*1234*t*t)"


def _clip(
    path: Path,
    *,
    rate: int,
    audio_args: list[str],
    video_args: tuple[str, ...] = ("-c:v", "libx264"),
    seconds: float = SECONDS,
) -> Path:
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=96x64:rate=25:duration={seconds}"]
        + ["-f", "lavfi", "-i", f"aevalsrc={SOUND}:s={rate}:d={seconds + 0.3}", *video_args, *audio_args]
        + ["-shortest", str(path)],
        check=True,
    )
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sound_parts")
    piece = _clip(folder / "piece.mp4", rate=48000, audio_args=["-c:a", "aac"], seconds=1.3)
    # Copied end to end, each piece's first AAC frame begins before the last one's sound ends.
    looped = folder / "looped.mp4"
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-stream_loop", "3", "-i", str(piece), "-c", "copy", str(looped)])
    return {
        "looped.mp4": looped,
        "aac48.mp4": _clip(folder / "aac48.mp4", rate=48000, audio_args=["-c:a", "aac"]),
        # MPEG-TS starts its clock at 1.4 s.
        "aac48.ts": _clip(folder / "aac48.ts", rate=48000, audio_args=["-c:a", "aac"]),
        "aac44.mp4": _clip(folder / "aac44.mp4", rate=44100, audio_args=["-c:a", "aac"]),
        "flac48.mkv": _clip(folder / "flac48.mkv", rate=48000, audio_args=["-c:a", "flac"]),
        "opus.webm": _clip(
            folder / "opus.webm", rate=48000, audio_args=["-c:a", "libopus"], video_args=("-c:v", "libvpx")
        ),
    }


def _keep(source: Path, folder: Path, container: str, parts) -> list[Path]:
    """The sound of ``source`` kept for ``container`` in ``parts``: the files that hold packets, in order."""
    start = first_frame_seconds(UPath(source))
    kept = []
    for number, part in enumerate(parts):
        target = folder / f"{source.stem}-{container}-{len(parts)}-{number}.mka"
        stored = store_first_audio_stream(
            UPath(source), str(target), start_seconds=start, encoding=OUTPUT_AUDIO[container], part=part
        )
        if stored is not None and stored.packets:
            kept.append(target)
    return kept


def _joined(parts: list[Path], target: Path) -> Path:
    """The parts' packets in one file, as output_webm joins them."""
    with (
        av.open(str(target), "w", format="matroska") as output,
        output_audio([UPath(part) for part in parts], output) as packets,
    ):
        for packet in packets:
            output.mux(packet)
    return target


def _packets(path: Path) -> list[tuple[int, bytes]]:
    with av.open(str(path)) as container:
        return [(packet.pts, bytes(packet)) for packet in container.demux(audio=0) if packet.size]


def _samples(path: Path) -> np.ndarray:
    """The first channel, decoded by one decoder, as a player hears it."""
    with av.open(str(path)) as container:
        channels = [frame.to_ndarray().astype(np.float64) for frame in container.decode(audio=0)]
        packed = not container.streams.audio[0].codec_context.format.is_planar
        count = container.streams.audio[0].codec_context.channels
    return np.concatenate([frame[0, ::count] if packed else frame[0] for frame in channels])


def _loudest_difference_at(one: np.ndarray, other: np.ndarray, seconds: list[float], rate: int) -> float:
    """The largest difference of the two, as RMS over 10 ms windows within 20 ms of each of ``seconds``, against
    the RMS of ``one``."""
    window = rate // 100
    difference = np.sqrt(np.convolve((one - other) ** 2, np.ones(window) / window, mode="same"))
    level = np.sqrt(np.mean(one**2))
    return max(difference[int(at * rate) - 2 * window : int(at * rate) + 2 * window].max() / level for at in seconds)


@pytest.mark.parametrize(("name", "container"), [("opus.webm", "webm"), ("aac48.mp4", "mp4"), ("aac48.ts", "mp4")])
def test_copied_parts_hold_the_packets_of_the_whole_sound_once_each(clips, tmp_path, name, container):
    parts = plan_sound_parts(SECONDS, PART_SECONDS)
    (whole,) = _keep(clips[name], tmp_path, container, [WHOLE_SOUND])
    kept = _keep(clips[name], tmp_path, container, parts)

    assert len(kept) == len(parts) > 1
    assert _packets(_joined(kept, tmp_path / "joined.mka")) == _packets(whole)


@pytest.mark.parametrize("name", ["aac48.mp4", "aac48.ts"])
def test_encoded_parts_meet_without_a_click(clips, tmp_path, name):
    parts = plan_sound_parts(SECONDS, PART_SECONDS)
    (whole,) = _keep(clips[name], tmp_path, "webm", [WHOLE_SOUND])
    kept = _keep(clips[name], tmp_path, "webm", parts)
    joined = _joined(kept, tmp_path / "joined.mka")
    heard_whole, heard_parts = _samples(whole), _samples(joined)

    assert len(kept) == len(parts) > 1
    assert [pts for pts, _ in _packets(joined)] == [pts for pts, _ in _packets(whole)]
    assert len(heard_parts) == len(heard_whole)
    # Begun without the half second before it, a part clicks 0.4 to 0.75 of the sound's level where it starts.
    boundaries = [part.begins for part in parts[1:]]
    assert _loudest_difference_at(heard_whole, heard_parts, boundaries, rate=48000) < 0.02


@pytest.mark.parametrize("name", ["aac44.mp4", "flac48.mkv"])
def test_sound_that_parts_would_misplace_is_encoded_in_the_first_part_whole(clips, tmp_path, name):
    (whole,) = _keep(clips[name], tmp_path, "webm", [WHOLE_SOUND])
    kept = _keep(clips[name], tmp_path, "webm", plan_sound_parts(SECONDS, PART_SECONDS))

    assert len(kept) == 1
    assert _packets(kept[0]) == _packets(whole)


def test_sound_of_pieces_joined_with_overlaps_keeps_to_its_timestamps_in_one_pass_and_in_parts(clips, tmp_path):
    source = clips["looped.mp4"]
    with av.open(str(source)) as container:
        decoded = list(container.decode(audio=0))
    samples = sum(frame.samples for frame in decoded)
    timestamps_end = decoded[-1].time + decoded[-1].samples / 48000 - first_frame_seconds(UPath(source))
    parts = plan_sound_parts(timestamps_end, PART_SECONDS)
    (whole,) = _keep(source, tmp_path, "webm", [WHOLE_SOUND])
    joined = _joined(_keep(source, tmp_path, "webm", parts), tmp_path / "joined.mka")
    heard_whole, heard_parts = _samples(whole), _samples(joined)

    # Played one after another, the three overlaps' samples would run past the pictures' end.
    assert samples / 48000 - timestamps_end > 0.005
    assert len(heard_whole) / 48000 == pytest.approx(timestamps_end, abs=0.001)
    assert len(heard_parts) == len(heard_whole)
    assert _loudest_difference_at(heard_whole, heard_parts, [part.begins for part in parts[1:]], rate=48000) < 0.02
