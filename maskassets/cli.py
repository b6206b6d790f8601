"""`maskassets update`: bring every video in the folder up to date, building only what is missing or
stale, and report per video and stage what ran and what was reused."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from maskassets.dagster_home import ensure_dagster_home
from maskassets.definitions import build_definitions
from maskassets.defs.partitions import video_partitions
from maskassets.storage import ArtifactStore
from maskassets.summary_report import stored_summary, summary_lines

STAGES = ("model_checkpoint", "video_frames", "frame_predictions", "annotated_frames", "output_webm", "mask_summary")
_OVERRIDES = {
    "videos": "MASKASSETS_VIDEOS",
    "artifacts": "MASKASSETS_ARTIFACTS",
    "checkpoint": "MASKASSETS_CHECKPOINT",
}


@dataclass
class UpdateReport:
    """Per video and stage: "built", "reused" or "not run"; failures and videos no longer present."""

    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    #: The table across videos: "built", "reused" or "FAILED <why>".
    videos_summary: str = "not run"

    def lines(self) -> list[str]:
        lines = [f"{len(self.outcomes)} video(s); {len(self.new)} new"]
        for key, stages in self.outcomes.items():
            lines.append(f"{key}: " + ", ".join(f"{stage} {stages[stage]}" for stage in STAGES))
            lines.extend(f"  FAILED {message}" for message in self.failures.get(key, []))
        if self.gone:
            lines.append(f"no longer in the folder (partitions and artifacts kept): {', '.join(self.gone)}")
        lines.append(f"all videos: videos_mask_summary {self.videos_summary}")
        lines.append(f"done: {len(self.outcomes) - len(self.failures)} up to date, {len(self.failures)} failed")
        return lines


def update_all(instance: dg.DagsterInstance) -> UpdateReport:
    """Register every video as a partition and run the whole chain for each; unchanged stages are reused."""
    defs = build_definitions()
    videos = defs.resources["videos"].folder().list_videos()
    registered = set(instance.get_dynamic_partitions(video_partitions.name))
    report = UpdateReport(new=[key for key in videos if key not in registered], gone=sorted(registered - set(videos)))
    if report.new:
        instance.add_dynamic_partitions(video_partitions.name, report.new)
    job = defs.resolve_job_def("video_pipeline")
    for key in videos:
        result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
        report.outcomes[key] = {stage: "not run" for stage in STAGES} | _stage_outcomes(result)
        if not result.success:
            report.failures[key] = [
                f"{event.step_key}: {_root_cause(event.step_failure_data.error)}"
                for event in result.get_step_failure_events()
            ]
    summary = defs.resolve_job_def("videos_summary").execute_in_process(instance=instance, raise_on_error=False)
    if summary.success:
        report.videos_summary = _stage_outcomes(summary)["videos_mask_summary"]
    else:
        report.videos_summary = "FAILED " + "; ".join(
            _root_cause(event.step_failure_data.error) for event in summary.get_step_failure_events()
        )
    return report


def _root_cause(error) -> str:
    """The stage's own error under Dagster's wrappers: it names the input and the fix."""
    while error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    qualified_name, _, message = error.message.strip().partition(": ")
    return message if qualified_name.endswith(error.cls_name) else error.message.strip()


def _stage_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    outcomes = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        reused = materialization.metadata["reused"].value
        outcomes[materialization.asset_key.to_user_string()] = "reused" if reused else "built"
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="maskassets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    update = commands.add_parser("update", help="materialize every video's missing or stale stages")
    update.add_argument("--videos", help="folder or s3:// prefix of videos (default: $MASKASSETS_VIDEOS or ./videos)")
    update.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    update.add_argument("--checkpoint", help="checkpoint path or URI (default: $MASKASSETS_CHECKPOINT)")
    commands.add_parser("home", help="create the Dagster home (with its dagster.yaml) and print its path")
    summary = commands.add_parser("summary", help="print every video's per-class summary (videos_mask_summary)")
    summary.add_argument("--artifacts", help="artifact root (default: $MASKASSETS_ARTIFACTS or ./artifacts)")
    args = parser.parse_args(argv)
    if args.command == "summary":
        store = ArtifactStore(args.artifacts or os.environ.get("MASKASSETS_ARTIFACTS") or "artifacts")
        try:
            print("\n".join(summary_lines(stored_summary(store))))
        except FileNotFoundError as missing:
            print(f"{missing} `maskassets update` builds it.", file=sys.stderr)
            return 1
        return 0
    os.environ["DAGSTER_HOME"] = ensure_dagster_home()
    if args.command == "home":
        print(os.environ["DAGSTER_HOME"])
        return 0
    for option, variable in _OVERRIDES.items():
        if getattr(args, option):
            os.environ[variable] = getattr(args, option)
    with dg.DagsterInstance.get() as instance:
        report = update_all(instance)
    print("\n".join(report.lines()))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
