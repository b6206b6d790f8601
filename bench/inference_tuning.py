"""What tuning the detector for inference buys: seconds per frame of the plain torchvision detector and of
the same detector after maskassets.model.inference_tuning (batch norms folded, channels-last on CPU), timed in
turns on the same frames and checkpoint in one process, with 1 torch thread and with --threads.

    .venv/bin/python bench/inference_tuning.py [--frames 6] [--rounds 2] [--checkpoint PATH] [--threads 2]

Also reports the largest difference between the two detectors' boxes and scores. Prints a table and
writes bench/results/inference_tuning.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from itertools import islice
from pathlib import Path

import torch
from clips import CARPHONE
from upath import UPath

from maskassets.media.video import iter_frames
from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.inference_tuning import tune_for_inference
from maskassets.model.loading import build_detector, load_detector, read_state_dict

BENCH_DIR = Path(__file__).resolve().parent


def seconds_per_frame(model: torch.nn.Module, images: list[torch.Tensor]) -> float:
    started = time.perf_counter()
    for image in images:
        model([image])
    return (time.perf_counter() - started) / len(images)


def largest_differences(plain: torch.nn.Module, tuned: torch.nn.Module, images: list[torch.Tensor]) -> dict:
    box_gap, score_gap = 0.0, 0.0
    for image in images:
        (expected,), (found,) = plain([image]), tuned([image])
        if len(expected["boxes"]) != len(found["boxes"]):
            return {"same_box_count": False}
        box_gap = max(box_gap, _largest(expected["boxes"] - found["boxes"]))
        score_gap = max(score_gap, _largest(expected["scores"] - found["scores"]))
    return {"same_box_count": True, "max_box_difference_px": box_gap, "max_score_difference": score_gap}


def _largest(difference: torch.Tensor) -> float:
    return float(difference.abs().max()) if difference.numel() else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="alternating timings of each detector")
    parser.add_argument("--checkpoint", help="a state dict for fasterrcnn_resnet50_fpn with 4 classes")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()

    spec = DetectorSpec()
    if args.checkpoint:
        with open(args.checkpoint, "rb") as stream:
            state_dict = read_state_dict(stream, name=args.checkpoint)
    else:
        torch.manual_seed(0)
        state_dict = build_detector(spec).state_dict()
    plain = load_detector(spec, state_dict, name="plain")
    tuned = tune_for_inference(load_detector(spec, state_dict, name="tuned"), torch.device("cpu"))
    images = [
        torch.from_numpy(frame.rgb).permute(2, 0, 1).float().div_(255.0)
        for frame in islice(iter_frames(UPath(str(CARPHONE))), args.frames)
    ]

    rows = []
    with torch.inference_mode():
        differences = largest_differences(plain, tuned, images[:2])
        for threads in sorted({1, args.threads}):
            torch.set_num_threads(threads)
            timings: dict[str, list[float]] = {"plain": [], "tuned": []}
            for _ in range(args.rounds):
                for name, model in (("plain", plain), ("tuned", tuned)):
                    timings[name].append(seconds_per_frame(model, images))
            plain_seconds, tuned_seconds = min(timings["plain"]), min(timings["tuned"])
            rows.append(
                {
                    "threads": threads,
                    "plain_seconds_per_frame": round(plain_seconds, 3),
                    "tuned_seconds_per_frame": round(tuned_seconds, 3),
                    "speedup": round(plain_seconds / tuned_seconds, 3),
                    "all_timings": {name: [round(t, 3) for t in times] for name, times in timings.items()},
                }
            )

    print(f"{'threads':>7} {'plain s/frame':>14} {'tuned s/frame':>14} {'speedup':>8}")
    for row in rows:
        print(
            f"{row['threads']:>7} {row['plain_seconds_per_frame']:>14.3f} {row['tuned_seconds_per_frame']:>14.3f} "
            f"{row['speedup']:>8.2f}"
        )
    print(f"tuned vs plain: {differences}")
    result = {
        "rows": rows,
        "differences": differences,
        "settings": {"frames": args.frames, "rounds": args.rounds, "min_size": spec.min_size, "fp32": True},
        "machine": {"cpus": os.cpu_count(), "processor": platform.machine()},
    }
    target = BENCH_DIR / "results" / "inference_tuning.json"
    target.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written to {target.relative_to(BENCH_DIR.parent)}")


if __name__ == "__main__":
    main()
