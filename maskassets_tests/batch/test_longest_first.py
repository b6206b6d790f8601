"""A stage's Ray tasks are started longest first, and their results come back in the stage's own order."""

from __future__ import annotations

import time

import pytest
import ray

from maskassets.batch.ray_results import gather_longest_first


@ray.remote(num_cpus=1)
def _note_start(position: int) -> tuple[int, float]:
    started = time.time()
    time.sleep(0.5)
    return position, started


@pytest.mark.usefixtures("local_ray")
def test_the_largest_jobs_start_first_and_results_keep_the_jobs_order():
    sizes = [1, 4, 2, 3]  # jobs 1 and 3 are the largest
    finished = []

    results = gather_longest_first(
        range(len(sizes)), size=lambda position: sizes[position], submit=_note_start.remote, on_result=finished.append
    )

    assert [position for position, _ in results] == [0, 1, 2, 3]
    assert len(finished) == 4
    started = {position: moment for position, moment in results}
    # The local Ray has 2 CPUs: the two largest run first, side by side, and the two smallest after them.
    assert max(started[1], started[3]) + 0.4 < min(started[0], started[2])
