"""Measure what following faces costs per frame, next to the model's 5-40 ms of GPU: the tracker alone, on
synthetic faces moving across a 1080p frame, for a few faces (a meeting), many (a crowd) and the 100 boxes a
frame that a random-init R50 returns, on one thread.

    .venv/bin/python bench/tracking.py [--frames 3000]

Prints a table and writes bench/results/tracking.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from maskassets.detection.tracking import FrameInput, Tracker

WIDTH, HEIGHT, FPS = 1920, 1080, 30
SCENES = {"meeting (4 faces)": 4, "crowd (25 faces)": 25, "random R50 (100 boxes)": 100}


def synthetic_frames(faces: int, frames: int, seed: int = 0) -> list[FrameInput]:
    """``faces`` boxes moving at constant speed and bouncing off the edges, each missed in 5 % of frames and
    weak in another 5 %."""
    rng = np.random.default_rng(seed)
    sizes = rng.uniform(40, 160, faces)
    positions = rng.uniform([0, 0], [WIDTH - 160, HEIGHT - 160], size=(faces, 2))
    velocities = rng.uniform(-6, 6, size=(faces, 2))
    inputs = []
    for index in range(frames):
        positions += velocities
        for axis, limit in ((0, WIDTH), (1, HEIGHT)):
            out = (positions[:, axis] < 0) | (positions[:, axis] + sizes > limit)
            velocities[out, axis] *= -1
        seen = rng.random(faces) > 0.05
        boxes = np.column_stack([positions, positions + sizes[:, None]])[seen]
        scores = np.where(rng.random(faces) > 0.05, 0.9, 0.3)[seen]
        inputs.append(FrameInput(index, index / FPS, boxes, scores))
    return inputs


def measure(faces: int, frames: int) -> dict[str, float]:
    inputs = synthetic_frames(faces, frames)
    started_cpu, started = time.process_time(), time.perf_counter()
    tracked = list(Tracker().track(inputs))
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    ids = {track_id for frame in tracked for track_id in frame.track_ids if track_id >= 0}
    return {
        "faces": faces,
        "frames": frames,
        "cpu_ms_per_frame": round(1000 * cpu / frames, 3),
        "wall_ms_per_frame": round(1000 * wall / frames, 3),
        "frames_per_second": round(frames / wall, 1),
        "track_ids": len(ids),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args()
    rows = {scene: measure(faces, args.frames) for scene, faces in SCENES.items()}
    print(f"{'scene':<24} {'CPU ms/frame':>12} {'frames/s':>9} {'track ids':>9}")
    for scene, row in rows.items():
        print(f"{scene:<24} {row['cpu_ms_per_frame']:>12.3f} {row['frames_per_second']:>9.1f} {row['track_ids']:>9}")
    result = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "scenes": rows}
    target = Path(__file__).parent / "results" / "tracking.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
