"""What `maskassets update` prints for a stage, from a real Dagster run's log records: its progress lines, its
outcome with the stage's own error, nothing else; every event goes to the log file."""

import io

import dagster as dg

from maskassets.cli.update_output import StageLines, update_loggers


@dg.asset
def decoded(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    context.log.info("decoded: 1/2 frames (50%), 4.00 frames/s, ETA 0 s")
    context.log.info("connected to Ray")
    return dg.MaterializeResult(metadata={"reused": False})


@dg.asset(deps=[decoded])
def detected(context: dg.AssetExecutionContext) -> None:
    raise ValueError("The checkpoint x.pth is not a state dict; point MASKASSETS_CHECKPOINT at one.")


def test_each_stage_prints_its_progress_then_its_outcome_and_the_log_file_gets_every_event(tmp_path):
    printed = io.StringIO()
    stage_lines = StageLines(printed)
    stage_lines.video = "clip.mp4"
    loggers = update_loggers(stage_lines, tmp_path / "logs" / "update.log")
    defs = dg.Definitions(assets=[decoded, detected], jobs=[dg.define_asset_job("chain")], loggers=loggers)

    result = defs.resolve_job_def("chain").execute_in_process(
        run_config={"loggers": {name: {} for name in loggers}}, raise_on_error=False
    )

    assert not result.success
    assert printed.getvalue().splitlines() == [
        "clip.mp4: decoded: 1/2 frames (50%), 4.00 frames/s, ETA 0 s",
        "clip.mp4: decoded built",
        "clip.mp4: detected FAILED: The checkpoint x.pth is not a state dict; point MASKASSETS_CHECKPOINT at one.",
    ]
    log = (tmp_path / "logs" / "update.log").read_text()
    assert "connected to Ray" in log and log.count("STEP_START") == 2 and "STEP_FAILURE" in log
