"""What each fast setting buys and costs (precision, min_size, frame stride, region proposals): the detector's
seconds per frame and how far its detections drift from fp32 at min_size 800, on the same frames and checkpoint,
in one process (no Ray, no I/O).

    .venv/bin/python bench/fast_profile.py [--frames 24] [--checkpoint PATH] [--threads 2]

Drift per variant, against the fp32 detections of each frame (boxes scored above --score): the share
of reference boxes matched by a box of the same class at IoU >= 0.5 (greedy, best IoU first), the mean
IoU and mean |score difference| of those matches. Without --checkpoint a randomly initialised R50 is
used, whose detections are arbitrary: its drift shows that a setting changes the arithmetic, not how
much a fine-tuned model would move; pass your checkpoint to measure that. Prints a table and writes
bench/results/fast_profile_<frames>frames.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch
from clips import CARPHONE
from torchvision.ops import box_iou
from upath import UPath

from maskassets.batch.detector_actor import FrameDetector
from maskassets.media.frame_codec import FrameFormat
from maskassets.media.video import iter_frames
from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.loading import build_detector
from maskassets.model.precision import cpu_flags, native_precision_problem
from maskassets.stages.frame_predictions import StrideFiller
from maskassets.storage import schema

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Variant:
    name: str
    precision: str = "fp32"
    min_size: int = 800
    frame_stride: int = 1
    proposals: int | None = None


VARIANTS = [
    Variant("fp32, min_size 800 (reference)"),
    Variant("bf16, min_size 800", precision="bf16"),
    Variant("fp32, min_size 512", min_size=512),
    Variant("bf16, min_size 512", precision="bf16", min_size=512),
    Variant("bf16, min_size 512, stride 2", precision="bf16", min_size=512, frame_stride=2),
    Variant("fp32, min_size 800, 300 proposals", proposals=300),
    Variant("fp32, min_size 800, 100 proposals", proposals=100),
]


def run_variant(variant: Variant, checkpoint: str, images: list[bytes], *, threads: int, batch_size: int) -> dict:
    """The stage's own path: the model sees every Nth frame, the frames between keep its detections."""
    detector = FrameDetector(
        checkpoint_uri=checkpoint,
        spec=DetectorSpec(min_size=variant.min_size, proposals=variant.proposals),
        device="cpu" if not torch.cuda.is_available() else "cuda",
        torch_threads=threads,
        precision=variant.precision,
    )
    warm = {schema.FRAME_INDEX: np.array([0]), schema.IMAGE: np.array(images[:1], dtype=object)}
    detector(warm)
    seen = list(range(0, len(images), variant.frame_stride))
    fill = StrideFiller(variant.frame_stride, len(images))
    rows: list[dict] = []
    started = time.perf_counter()
    for first in range(0, len(seen), batch_size):
        chunk = seen[first : first + batch_size]
        batch = {
            schema.FRAME_INDEX: np.array(chunk),
            schema.IMAGE: np.array([images[index] for index in chunk], dtype=object),
        }
        rows.extend(fill(detector(batch)).to_pylist())
    seconds = time.perf_counter() - started
    return {"seconds_per_frame": seconds / len(images), "rows": rows}


def drift(reference: list[dict], candidate: list[dict], *, score: float) -> dict:
    matched, total, ious, score_gaps = 0, 0, [], []
    for expected, found in zip(reference, candidate, strict=True):
        kept_expected = [i for i, s in enumerate(expected[schema.SCORES]) if s > score]
        kept_found = [i for i, s in enumerate(found[schema.SCORES]) if s > score]
        total += len(kept_expected)
        for label in {expected[schema.LABELS][i] for i in kept_expected}:
            left = [i for i in kept_expected if expected[schema.LABELS][i] == label]
            right = [i for i in kept_found if found[schema.LABELS][i] == label]
            if not right:
                continue
            overlap = box_iou(
                torch.tensor([expected[schema.BOXES][i] for i in left]),
                torch.tensor([found[schema.BOXES][j] for j in right]),
            )
            while overlap.numel() and overlap.max() >= 0.5:
                row, column = divmod(int(overlap.argmax()), overlap.shape[1])
                matched += 1
                ious.append(float(overlap[row, column]))
                score_gaps.append(abs(expected[schema.SCORES][left[row]] - found[schema.SCORES][right[column]]))
                overlap[row, :], overlap[:, column] = -1, -1
    return {
        "reference_boxes": total,
        "matched_share": round(matched / total, 4) if total else None,
        "mean_iou": round(float(np.mean(ious)), 4) if ious else None,
        "mean_abs_score_difference": round(float(np.mean(score_gaps)), 4) if score_gaps else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--checkpoint", help="a state dict for fasterrcnn_resnet50_fpn with 4 classes")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--score", type=float, default=0.5, help="compare boxes scored above this")
    args = parser.parse_args()

    checkpoint = args.checkpoint
    if checkpoint is None:
        checkpoint = str(BENCH_DIR / "results" / "random_r50.tmp")
        torch.manual_seed(0)
        torch.save(build_detector(DetectorSpec()).state_dict(), checkpoint)
    images = [FrameFormat("jpeg").encode(frame.rgb) for frame in islice(iter_frames(UPath(str(CARPHONE))), args.frames)]
    results = {}
    for variant in VARIANTS:
        results[variant.name] = run_variant(
            variant, checkpoint, images, threads=args.threads, batch_size=args.batch_size
        )
        print(f"{variant.name}: {results[variant.name]['seconds_per_frame']:.3f} s/frame", flush=True)
    reference = results[VARIANTS[0].name]
    rows = []
    for variant in VARIANTS:
        measured = results[variant.name]
        rows.append(
            {
                "variant": variant.name,
                "seconds_per_frame": round(measured["seconds_per_frame"], 3),
                "speedup": round(reference["seconds_per_frame"] / measured["seconds_per_frame"], 2),
                **drift(reference["rows"], measured["rows"], score=args.score),
            }
        )
    header = f"{'variant':36} {'s/frame':>8} {'speedup':>8} {'matched':>8} {'mean IoU':>9} {'|d score|':>10}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['variant']:36} {row['seconds_per_frame']:>8.3f} {row['speedup']:>8.2f} "
            f"{_shown(row['matched_share']):>8} {_shown(row['mean_iou']):>9} "
            f"{_shown(row['mean_abs_score_difference']):>10}"
        )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    result = {
        "rows": rows,
        "settings": {
            "frames": args.frames,
            "threads": args.threads,
            "batch_size": args.batch_size,
            "score": args.score,
            "checkpoint": args.checkpoint or "random fasterrcnn_resnet50_fpn (torch.manual_seed(0))",
            "clip": "carphone 176x144",
        },
        "machine": {
            "cpus": os.cpu_count(),
            "processor": platform.processor() or platform.machine(),
            "cpu_model": _cpu_model(),
            # Where bf16 is emulated, maskassets itself refuses it; this benchmark runs it to show why.
            "native_bf16": native_precision_problem("bf16", device, cpu_flags()) is None,
        },
        "device": device.type,
    }
    target = BENCH_DIR / "results" / f"fast_profile_{args.frames}frames.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {target.relative_to(BENCH_DIR.parent)}")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


def _shown(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


if __name__ == "__main__":
    main()
