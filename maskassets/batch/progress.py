"""Progress of a long step as a person reads it: frames done, frames/s and time left, at most every
few seconds, plus a first line as soon as the first batch is done and a last one at the end. Each line starts
with the task's name (the stage's), which is how `maskassets update` tells them from the stage's other logs."""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_INTERVAL_SECONDS = 15.0


class ProgressLog:
    def __init__(
        self,
        *,
        task: str,
        total: int | None,
        log: Callable[[str], None] | None,
        interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.task = task
        self.total = total
        self.done = 0
        self._log = log
        self._interval = interval_seconds
        self._clock = clock
        self._started = clock()
        self._last_logged: float | None = None

    def advance(self, frames: int) -> None:
        self.done += frames
        now = self._clock()
        finished = self.total is not None and self.done >= self.total
        if self._last_logged is None or finished or now - self._last_logged >= self._interval:
            self._last_logged = now
            if self._log is not None:
                self._log(self.line(now))

    def note(self, text: str) -> None:
        """Tell the user something about the step besides its progress, under the task's name."""
        if self._log is not None:
            self._log(f"{self.task}: {text}")

    def line(self, now: float | None = None) -> str:
        elapsed = (self._clock() if now is None else now) - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total is None:
            return f"{self.task}: {self.done:,} frames, {rate:.2f} frames/s"
        share = self.done / self.total if self.total else 1.0
        remaining = (self.total - self.done) / rate if rate > 0 else float("nan")
        return (
            f"{self.task}: {self.done:,}/{self.total:,} frames ({share:.0%}), {rate:.2f} frames/s, "
            f"ETA {format_duration(remaining)}"
        )


def format_duration(seconds: float) -> str:
    if seconds != seconds:
        return "unknown"
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"
