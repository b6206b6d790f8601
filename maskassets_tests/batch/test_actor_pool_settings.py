"""How many frames each call gets when the batch size is left unset: batching on GPUs, single frames on
CPUs (bench: 60 frames of frame_predictions took 111 s with batches of 4 and 90 s with single frames); how
many actors an unset pool size starts: no more than the cluster holds or the video has batches for."""

from __future__ import annotations

from dataclasses import replace

import pytest
import ray

from maskassets.batch.runner import ActorPoolSettings


@pytest.mark.parametrize(
    ("settings", "batch_size"),
    [
        (ActorPoolSettings(gpus_per_actor=0.0), 1),
        (ActorPoolSettings(gpus_per_actor=1.0), 8),
        (ActorPoolSettings(gpus_per_actor=0.5), 8),
        (ActorPoolSettings(batch_size=3, gpus_per_actor=0.0), 3),
        (ActorPoolSettings(batch_size=2, gpus_per_actor=1.0), 2),
    ],
)
def test_an_unset_batch_size_follows_the_device(settings, batch_size):
    assert settings.resolved_batch_size() == batch_size


@pytest.mark.parametrize(
    ("settings", "rows", "actors"),
    [
        (ActorPoolSettings(batch_size=1, min_batches_per_actor=8), 4, 1),
        (ActorPoolSettings(batch_size=1, min_batches_per_actor=8), 16, 2),
        (ActorPoolSettings(batch_size=4, min_batches_per_actor=8), 64, 2),
        (ActorPoolSettings(batch_size=1, min_batches_per_actor=8), 1000, 4),
        (ActorPoolSettings(batch_size=1), 3, 3),
        (ActorPoolSettings(batch_size=1, pool_size=3, min_batches_per_actor=8), 4, 3),
    ],
)
def test_an_unset_pool_size_starts_no_more_actors_than_the_video_has_work_for(local_ray, settings, rows, actors):
    """The cluster holds four actors here; a set pool size is taken as it is."""
    quarter_of_the_cpus = ray.cluster_resources()["CPU"] / 4
    sized = replace(settings, cpus_per_actor=quarter_of_the_cpus, gpus_per_actor=0.0)
    assert sized.resolved_pool_size(rows) == actors
