"""What `maskassets update` shows while it runs: a line per video and stage as it goes (its progress, then built,
reused or failed), while Dagster's own event stream goes, whole, to a log file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TextIO

import dagster as dg
from dagster_shared.error import SerializableErrorInfo

#: The attribute under which Dagster hands its loggers each record's run, step and event.
_DAGSTER_META = "dagster_meta"
_LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class StageLines(logging.Handler):
    """Prints, for the video whose run is going, each stage's progress lines (``ProgressLog``'s, which start with
    the stage's name) and its outcome."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self.video = ""

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, _DAGSTER_META, None)
        if not meta or not meta.get("step_key"):
            return
        stage, event = meta["step_key"], meta.get("dagster_event")
        if event is None:
            line = meta.get("orig_message", "")
            if line.startswith(f"{stage}: "):
                self._print(line)
        elif event.is_step_materialization:
            reused = event.step_materialization_data.materialization.metadata["reused"].value
            self._print(f"{stage} {'reused' if reused else 'built'}")
        elif event.is_step_failure:
            self._print(f"{stage} FAILED: {root_cause(event.step_failure_data.error)}")

    def _print(self, text: str) -> None:
        self.stream.write(f"{self.video}: {text}\n")
        self.stream.flush()


def root_cause(error: SerializableErrorInfo) -> str:
    """The stage's own error under Dagster's wrappers: it names the input and the fix."""
    while error.cls_name.startswith("Dagster") and error.cause is not None:
        error = error.cause
    qualified_name, _, message = error.message.strip().partition(": ")
    return message if qualified_name.endswith(error.cls_name) else error.message.strip()


def update_loggers(stage_lines: StageLines, log_file: Path) -> dict[str, dg.LoggerDefinition]:
    """Dagster loggers for `maskassets update`'s runs: ``stage_lines`` on the terminal, every event in
    ``log_file``; they replace Dagster's console logger, which prints every DEBUG event."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    to_file = logging.FileHandler(log_file, encoding="utf-8")
    to_file.setFormatter(logging.Formatter(_LOG_FORMAT))
    return {
        # Dagster logs its events (a materialization, a failure) at DEBUG.
        "stage_lines": _logger_definition("maskassets.update", stage_lines, logging.DEBUG),
        "log_file": _logger_definition("maskassets.update.file", to_file, logging.DEBUG),
    }


def _logger_definition(name: str, handler: logging.Handler, level: int) -> dg.LoggerDefinition:
    logger = logging.Logger(name, level=level)
    logger.addHandler(handler)
    return dg.LoggerDefinition(lambda _: logger, description=f"maskassets update: {name}")
