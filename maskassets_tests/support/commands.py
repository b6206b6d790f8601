"""Run the project's console commands (maskassets, dagster, dagster-daemon) from this virtual environment."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def command_line(arguments: list[str]) -> list[str]:
    executable = shutil.which(arguments[0], path=os.path.dirname(sys.executable))
    assert executable, f"{arguments[0]} is not installed in {os.path.dirname(sys.executable)}"
    return [executable, *arguments[1:]]


def run_command(arguments: list[str], cwd: Path = REPO_ROOT, **extra_env: str) -> subprocess.CompletedProcess:
    """Run to completion; a non-zero exit fails the test with the command's output."""
    completed = subprocess.run(
        command_line(arguments), cwd=cwd, env={**os.environ, **extra_env}, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    return completed


def start_command(
    arguments: list[str], cwd: Path = REPO_ROOT, *, log: Path | None = None, **extra_env: str
) -> subprocess.Popen:
    """Start in the background, in a process group of its own (``stop_command`` stops all of it); its output goes
    to ``log``, or to a pipe the caller must drain (``communicate``): an undrained pipe fills up and blocks the
    command."""
    output = log.open("w") if log else subprocess.PIPE
    return subprocess.Popen(
        command_line(arguments),
        cwd=cwd,
        env={**os.environ, **extra_env},
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_command(process: subprocess.Popen, timeout: float = 60) -> None:
    """Stop a command from ``start_command`` and every process it started (code servers, run workers): asked to
    stop, then killed, so that none outlives the test."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
