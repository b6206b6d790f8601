"""The physical limit on a machine: decode a clip with PyAV and run the detector, tuned for inference as the
pipeline's is, over it in batches, with no Ray, no storage, no drawing and no encoding. Run by
bench/pipeline_vs_seed.py in its own process.

    .venv/bin/python bench/model_alone.py VIDEO CHECKPOINT --min-size 800 [--batch-size 1]

Prints one line: MODEL_ALONE frames=<n> seconds=<inference and decoding wall>.
"""

from __future__ import annotations

import argparse
import time
from itertools import islice

import torch
from upath import UPath

from maskassets.media.video import iter_frames
from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.inference_tuning import tune_for_inference
from maskassets.model.loading import load_detector, read_state_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video")
    parser.add_argument("checkpoint")
    parser.add_argument("--min-size", type=int, default=800)
    parser.add_argument("--max-size", type=int, default=1333)
    parser.add_argument("--batch-size", type=int, default=1)
    args = parser.parse_args()

    spec = DetectorSpec(min_size=args.min_size, max_size=args.max_size)
    with open(args.checkpoint, "rb") as stream:
        loaded = load_detector(spec, read_state_dict(stream, name=args.checkpoint), name=args.checkpoint)
    model = tune_for_inference(loaded, torch.device("cpu"))
    started = time.perf_counter()
    frames = iter_frames(UPath(args.video))
    count = 0
    with torch.inference_mode():
        while batch := list(islice(frames, args.batch_size)):
            model([torch.from_numpy(frame.rgb).permute(2, 0, 1).float().div_(255.0) for frame in batch])
            count += len(batch)
    print(f"MODEL_ALONE frames={count} seconds={time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main()
