"""How many frames each call gets when the batch size is left unset: batching on GPUs, single frames on
CPUs (bench: 60 frames of frame_predictions took 111 s with batches of 4 and 90 s with single frames); how
many actors an unset pool size starts: no more than the cluster holds or the video has batches for; how many
read tasks feed them at once: a few each, or the CPUs they leave."""

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


@pytest.fixture
def eight_cpu_ray():
    """A Ray of eight CPUs, as a GPU node has many more CPUs than actors."""
    ray.shutdown()
    ray.init(num_cpus=8, include_dashboard=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize(
    ("cpus_per_actor", "actors", "read_tasks"),
    [(4.0, 2, 4), (8.0, 1, 2), (1.0, 1, 7), (1.0, 2, 6), (0.5, 4, 8), (2.0, 3, 6)],
)
def test_read_tasks_are_two_per_actor_or_the_cpus_the_actors_leave(eight_cpu_ray, cpus_per_actor, actors, read_tasks):
    settings = ActorPoolSettings(cpus_per_actor=cpus_per_actor, gpus_per_actor=0.0)
    assert settings.resolved_read_tasks(actors) == read_tasks
