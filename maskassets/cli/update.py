"""`maskassets update`'s work: register every video in the folder as a partition, run each one's whole chain
(building only what is missing or stale), then the table across videos, and report per video and stage what
was built, reused or failed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from maskassets.cli.update_output import StageLines, root_cause, update_loggers
from maskassets.definitions import build_definitions
from maskassets.defs.jobs import STAGES
from maskassets.defs.partitions import video_partitions
from maskassets.defs.settings import Overrides, Settings


@dataclass
class UpdateReport:
    """Per video and stage: "built", "reused" or "not run"; failures and videos no longer present."""

    outcomes: dict[str, dict[str, str]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    new: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    #: Files in the folder that are not videos, with the reason.
    skipped: dict[str, str] = field(default_factory=dict)
    #: The table across videos: "built", "reused" or "FAILED <why>".
    videos_summary: str = "not run"

    def lines(self) -> list[str]:
        lines = [f"{len(self.outcomes)} video(s); {len(self.new)} new; {len(self.skipped)} other file(s) skipped"]
        for key, stages in self.outcomes.items():
            lines.append(f"{key}: " + ", ".join(f"{stage} {stages[stage]}" for stage in STAGES))
            lines.extend(f"  FAILED {message}" for message in self.failures.get(key, []))
        lines.extend(f"skipped {name}: {reason}" for name, reason in self.skipped.items())
        if self.gone:
            lines.append(f"no longer in the folder (partitions and artifacts kept): {', '.join(self.gone)}")
        lines.append(f"all videos: videos_mask_summary {self.videos_summary}")
        lines.append(f"done: {len(self.outcomes) - len(self.failures)} up to date, {len(self.failures)} failed")
        return lines


def update_all(
    instance: dg.DagsterInstance,
    *,
    overrides: Overrides | None = None,
    stage_lines: StageLines | None = None,
    log_file: Path | None = None,
) -> UpdateReport:
    """Register every video as a partition and run the whole chain for each, its settings the MASKASSETS_*
    variables with ``overrides`` applied as each run's config; unchanged stages are reused. With ``stage_lines``,
    each stage's progress and outcome are printed as it goes and Dagster's events written to ``log_file`` instead
    of the console."""
    settings = Settings.from_environment()
    loggers = update_loggers(stage_lines, log_file) if stage_lines and log_file else {}
    defs = build_definitions(settings, loggers=loggers or None)
    # Dagster starts a job's loggers only when the run's config names them.
    run_config = {"loggers": {name: {} for name in loggers}, "resources": settings.run_config(overrides)}
    scan = settings.resolved(overrides).videos.folder().scan()
    videos = scan.videos
    registered = set(instance.get_dynamic_partitions(video_partitions.name))
    report = UpdateReport(
        new=[key for key in videos if key not in registered],
        gone=sorted(registered - set(videos)),
        skipped=scan.skipped,
    )
    if report.new:
        instance.add_dynamic_partitions(video_partitions.name, report.new)
    job = defs.resolve_job_def("video_pipeline")
    for key in videos:
        if stage_lines:
            stage_lines.video = key
        result = job.execute_in_process(
            run_config=run_config, partition_key=key, instance=instance, raise_on_error=False
        )
        report.outcomes[key] = {stage: "not run" for stage in STAGES} | _stage_outcomes(result)
        if not result.success:
            report.failures[key] = [
                f"{event.step_key}: {root_cause(event.step_failure_data.error)}"
                for event in result.get_step_failure_events()
            ]
    if stage_lines:
        stage_lines.video = "all videos"
    summary = defs.resolve_job_def("videos_summary").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    if summary.success:
        report.videos_summary = _stage_outcomes(summary)["videos_mask_summary"]
    else:
        report.videos_summary = "FAILED " + "; ".join(
            root_cause(event.step_failure_data.error) for event in summary.get_step_failure_events()
        )
    return report


def _stage_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    outcomes = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        reused = materialization.metadata["reused"].value
        outcomes[materialization.asset_key.to_user_string()] = "reused" if reused else "built"
    return outcomes
