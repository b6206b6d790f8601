"""One stage of one video timed alone, this tree side by side with an earlier commit, on a one-node Ray cluster of 1
CPU and of 2. The stages before it are built once per code; each round materializes the stage alone from a fresh
copy of them, the codes and CPU counts taking turns at going first. bench/scale.py times each stage inside a whole
update, minutes of model apart and a run apart between the codes, where a change of a few percent is lost in the
machine's noise; here the same stage runs back to back, several times.

    .venv/bin/pip install -e ".[bench]"
    .venv/bin/python bench/stage_scaling.py --stage annotated_frames [--baseline 9145f03 | none] [--seconds 180]
        [--rounds 3] [--object-store-mb 2048] [--output stage_scaling_annotated_frames.json]

The clip and the detector are bench/scale.py's (bigbuckbunny 720p looped to --seconds; a random MobileNetV3 Faster
R-CNN at 64 px, 8 boxes a frame, every one tracked and drawn). Stage seconds come from Dagster's step stats. Prints
every round and the medians, and 2 CPUs over 1 per code (median over median); writes
bench/results/stage_scaling_<stage>.json (or --output).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
from scale import (
    BENCH_DIR,
    DEFAULT_ARCHITECTURE,
    DEFAULT_DETECTIONS,
    DEFAULT_MIN_SIZE,
    PYTHON,
    REPO_ROOT,
    checkout,
    make_clips,
    one_node_cluster,
    prepare_work,
    random_checkpoint,
    update_environment,
)

from maskassets.storage.partition_keys import partition_key_for

#: Prints the materializable assets ``sys.argv[1]`` reads, directly or not, in the definitions of the code on
#: PYTHONPATH (each code its own graph).
_UPSTREAM = """
import sys
import dagster as dg
from maskassets.definitions import defs
graph = defs.resolve_asset_graph()
keys = dg.AssetSelection.assets(sys.argv[1]).upstream().resolve(graph)
print(",".join(sorted(key.to_user_string() for key in keys if key.to_user_string() != sys.argv[1])))
"""


def materialize(code_root: Path, work: Path, env: dict[str, str], assets: str, *, cpus: int, store_mb: int) -> dict:
    """Materialize ``assets`` (comma-separated) for the one video in ``work`` on a fresh cluster of ``cpus`` CPUs;
    each step's wall seconds."""
    key = partition_key_for(next((work / "videos").iterdir()).name)
    with one_node_cluster(cpus, env, store_mb) as (address, _):
        command = [PYTHON, "-m", "dagster", "asset", "materialize", "-m", "maskassets.definitions"]
        command += ["--select", assets, "--partition", key]
        done = subprocess.run(
            command, env=env | {"MASKASSETS_RAY_ADDRESS": address}, cwd=code_root, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(f"materializing {assets} failed in {work}:\n{done.stderr[-3000:]}")
    with dg.DagsterInstance.from_config(str(work / "home")) as instance:
        newest = instance.get_runs(limit=1)[0]
        return {
            stats.step_key: round(stats.end_time - stats.start_time, 2)
            for stats in instance.get_run_step_stats(newest.run_id)
            if stats.start_time and stats.end_time
        }


def prepare(code_root: Path, work: Path, clip: Path, env: dict[str, str], stage: str, store_mb: int) -> None:
    """The video registered in ``work`` and every stage before ``stage`` built (on 2 CPUs)."""
    prepare_work(work, clip)
    with dg.DagsterInstance.from_config(str(work / "home")) as instance:
        instance.add_dynamic_partitions("videos", [partition_key_for(clip.name)])
    upstream = subprocess.run(
        [PYTHON, "-c", _UPSTREAM, stage], env=env, cwd=code_root, capture_output=True, text=True, check=True
    ).stdout.strip()
    if upstream:
        materialize(code_root, work, env, upstream, cpus=2, store_mb=store_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", required=True, help="the asset timed, e.g. video_frames or annotated_frames")
    parser.add_argument("--baseline", default="none", help="git ref of the code to compare against; none: this tree")
    parser.add_argument("--seconds", type=float, default=180, help="length of the clip")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--object-store-mb", type=int, default=2048, help="the cluster's object store (MiB)")
    parser.add_argument("--output", help="file name under bench/results; unset: stage_scaling_<stage>.json")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="maskassets-stage-"))
    try:
        clip = make_clips(scratch, args.seconds, [720], ["x1"])["720p x1"]
        checkpoint = random_checkpoint(scratch / "random_detector.pt", DEFAULT_ARCHITECTURE)
        codes = {"this tree": REPO_ROOT}
        if args.baseline != "none":
            codes[args.baseline] = checkout(args.baseline, scratch)
        prepared = {code: scratch / "prepared" / code.replace(" ", "_") for code in codes}

        def environment(code: str, work: Path) -> dict[str, str]:
            return update_environment(
                codes[code],
                work,
                checkpoint,
                architecture=DEFAULT_ARCHITECTURE,
                min_size=DEFAULT_MIN_SIZE,
                detections=DEFAULT_DETECTIONS,
                segment_frames=None,
            )

        for code, root in codes.items():
            prepare(root, prepared[code], clip, environment(code, prepared[code]), args.stage, args.object_store_mb)
        seconds: dict[str, dict[int, list[float]]] = {code: {1: [], 2: []} for code in codes}
        turns = [(code, cpus) for code in codes for cpus in (1, 2)]
        for number in range(args.rounds):
            for code, cpus in turns if number % 2 == 0 else turns[::-1]:
                work = scratch / "round"
                shutil.rmtree(work, ignore_errors=True)
                shutil.copytree(prepared[code], work)
                steps = materialize(
                    codes[code], work, environment(code, work), args.stage, cpus=cpus, store_mb=args.object_store_mb
                )
                seconds[code][cpus].append(steps[args.stage])
                print(f"round {number + 1}, {code}, {cpus} CPU(s): {steps[args.stage]:.2f} s", flush=True)
    finally:
        subprocess.run(["git", "-C", str(REPO_ROOT), "worktree", "prune"], check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    summary = {
        code: {
            "median_seconds_1_cpu": statistics.median(by_cpus[1]),
            "median_seconds_2_cpus": statistics.median(by_cpus[2]),
            "speedup_2_cpus_over_1": round(statistics.median(by_cpus[1]) / statistics.median(by_cpus[2]), 2),
        }
        for code, by_cpus in seconds.items()
    }
    print(f"{'code':10} {'cpus':>4}  {'rounds (s)':40} {'median':>7}")
    for code, by_cpus in seconds.items():
        for cpus, rounds in by_cpus.items():
            listed = ", ".join(f"{value:.2f}" for value in rounds)
            print(f"{code:10} {cpus:>4}  {listed:40} {statistics.median(rounds):>7.2f}")
        print(f"{code:10} 2 CPUs over 1: {summary[code]['speedup_2_cpus_over_1']}")
    this_commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    result = {"settings": vars(args), "this_tree_commit": this_commit, "seconds": seconds, "summary": summary}
    target = BENCH_DIR / "results" / (args.output or f"stage_scaling_{args.stage}.json")
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {target.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
