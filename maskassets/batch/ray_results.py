"""Waiting on Ray tasks: results in submission order, each reported as it finishes, and a task's failure
raised as the error it raised itself (which names the input and the fix), not Ray's wrapper."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ray
from ray.exceptions import RayTaskError


def gather(tasks: Sequence[ray.ObjectRef], *, on_result: Callable[[Any], None] | None = None) -> list[Any]:
    position = {task: index for index, task in enumerate(tasks)}
    results: list[Any] = [None] * len(tasks)
    pending = list(tasks)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for task in done:
                results[position[task]] = ray.get(task)
                if on_result is not None:
                    on_result(results[position[task]])
    except RayTaskError as error:
        for task in pending:
            ray.cancel(task)
        cause = error.cause
        raise (cause if isinstance(cause, BaseException) else error) from None
    return results
