"""Waiting on Ray tasks: results in submission order, each reported as it finishes, and a task's failure
raised as the error it raised itself (which names the input and the fix), not Ray's wrapper; and submitting a
stage's tasks longest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ray
from ray.exceptions import RayTaskError

Job = TypeVar("Job")


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


def gather_longest_first(
    jobs: Sequence[Job],
    *,
    size: Callable[[Job], float],
    submit: Callable[[Job], ray.ObjectRef],
    on_result: Callable[[Any], None] | None = None,
) -> list[Any]:
    """Submit a task for each of ``jobs``, the largest by ``size`` first, and wait on them all; the results come
    in the jobs' order. Ray starts a caller's tasks in the order they were submitted, so the last to start are the
    shortest: a video cut into a few more pieces than the cluster has CPUs does not end on its longest piece
    running alone (a three-minute 720p video drew its last segment, the longest, alone for 5.7 of 29 s on 2 CPUs)."""
    order = sorted(range(len(jobs)), key=lambda position: size(jobs[position]), reverse=True)
    results = gather([submit(jobs[position]) for position in order], on_result=on_result)
    in_order: list[Any] = [None] * len(jobs)
    for position, result in zip(order, results, strict=True):
        in_order[position] = result
    return in_order
