"""`maskassets update`: bring every video in the folder up to date, building only what is missing or
stale, and report per video and stage what ran and what was reused."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import dagster as dg

from maskassets.definitions import build_definitions
from maskassets.defs.partitions import video_partitions

_OVERRIDES = {
    "videos": "MASKASSETS_VIDEOS",
    "artifacts": "MASKASSETS_ARTIFACTS",
    "checkpoint": "MASKASSETS_CHECKPOINT",
}
_STAGES = ("model_checkpoint", "video_frames", "frame_predictions", "annotated_frames", "output_webm")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maskassets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    update = commands.add_parser("update", help="materialize every video's missing or stale stages")
    update.add_argument("--videos", help="folder or s3:// prefix of videos (default: $MASKASSETS_VIDEOS or ./videos)")
    update.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    update.add_argument("--checkpoint", help="checkpoint path or URI (default: $MASKASSETS_CHECKPOINT)")
    args = parser.parse_args(argv)
    for option, variable in _OVERRIDES.items():
        if getattr(args, option):
            os.environ[variable] = getattr(args, option)
    os.environ.setdefault("DAGSTER_HOME", os.path.abspath(".dagster_home"))
    os.makedirs(os.environ["DAGSTER_HOME"], exist_ok=True)
    return update_all()


def update_all() -> int:
    instance = dg.DagsterInstance.get()
    defs = build_definitions()
    videos = defs.resources["videos"].folder().list_videos()
    known = set(instance.get_dynamic_partitions(video_partitions.name))
    new_keys = [key for key in videos if key not in known]
    if new_keys:
        instance.add_dynamic_partitions(video_partitions.name, new_keys)
    print(f"{len(videos)} video(s) in {defs.resources['videos'].location}; {len(new_keys)} new")
    job = defs.resolve_job_def("video_pipeline")
    failures = 0
    for key in videos:
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        outcome = _stage_outcomes(result)
        if not result.success:
            failures += 1
        print(f"{key}: " + ", ".join(f"{stage} {outcome.get(stage, 'not run')}" for stage in _STAGES))
        for event in result.get_step_failure_events():
            print(f"  FAILED {event.step_key}: {event.step_failure_data.error.message.strip()}")
    print(f"done: {len(videos) - failures} up to date, {failures} failed")
    return 1 if failures else 0


def _stage_outcomes(result) -> dict[str, str]:
    outcomes = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        reused = materialization.metadata.get("reused")
        outcomes[materialization.asset_key.to_user_string()] = "reused" if reused and reused.value else "built"
    return outcomes


if __name__ == "__main__":
    sys.exit(main())
