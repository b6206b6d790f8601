"""How many frames each call gets when the batch size is left unset: batching on GPUs, single frames on
CPUs (bench: 60 frames of frame_predictions took 111 s with batches of 4 and 90 s with single frames)."""

from __future__ import annotations

import pytest

from maskassets.batch_mapping import ActorPoolSettings


@pytest.mark.parametrize(
    ("settings", "batch_size"),
    [
        (ActorPoolSettings(gpus_per_actor=0.0), 1),
        (ActorPoolSettings(gpus_per_actor=1.0), 4),
        (ActorPoolSettings(gpus_per_actor=0.5), 4),
        (ActorPoolSettings(batch_size=8, gpus_per_actor=0.0), 8),
        (ActorPoolSettings(batch_size=2, gpus_per_actor=1.0), 2),
    ],
)
def test_an_unset_batch_size_follows_the_device(settings, batch_size):
    assert settings.resolved_batch_size() == batch_size
