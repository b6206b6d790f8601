"""The detector's read-ahead against Ray's object store, on a real Ray and a real run: a store whose dataset share
cannot hold the read-ahead is reported with the size to give it, and the video is still processed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import ray

from maskassets_tests.support.media import make_clip
from maskassets_tests.support.pipeline_run import logged_messages, register_and_run

pytestmark = pytest.mark.slow


def test_a_store_too_small_for_the_read_ahead_is_reported_with_the_size_it_needs(pipeline_env, dagster_home):
    ray.shutdown()
    # Half of 1 GiB, what a dataset may hold, is under the detector's 1 GiB read-ahead floor; a run without an
    # address uses the Ray this process already has.
    ray.init(num_cpus=2, object_store_memory=2**30, include_dashboard=False)
    try:
        make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=3)
        with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
            result = register_and_run(instance, ["clip.mp4"])["clip.mp4"]
            notes = logged_messages(instance, [result], "of frames ahead")
    finally:
        ray.shutdown()
    assert result.success
    assert notes == [
        "frame_predictions: 1 actor(s) read 1.0 GiB of frames ahead, more than the 0.5 GiB (50%) of Ray's object "
        "store a dataset may hold, so they will wait on reads: give Ray a store of 2.0 GiB or more "
        "(MASKASSETS_RAY_OBJECT_STORE_MB for a local Ray, `ray start --object-store-memory` on a cluster's nodes)."
    ]
