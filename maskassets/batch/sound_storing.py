"""The Ray task that keeps a source's sound ready for the output: read from the source where it lies (local, S3,
HTTP) by a worker, encoded there when the output's container does not take its codec, and written into the
staged artifact, so that neither the source's bytes nor the encoding pass through the Dagster process."""

from __future__ import annotations

import os
import tempfile

import ray
from upath import UPath

from maskassets.media.audio import AudioEncoding, StoredAudio, store_first_audio_stream


@ray.remote(num_cpus=1, max_retries=3)
def store_sound(source: UPath, target: UPath, *, start_seconds: float, encoding: AudioEncoding) -> StoredAudio | None:
    """Store the first audio stream of ``source`` at ``target`` as ``encoding`` wants it, timed from
    ``start_seconds``; None (and no file) when the source has no sound."""
    # The muxer seeks back to write its index, which S3 objects cannot do: write locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-audio-") as scratch:
        local_path = os.path.join(scratch, target.name)
        stored = store_first_audio_stream(source, local_path, start_seconds=start_seconds, encoding=encoding)
        if stored is not None:
            target.fs.put_file(local_path, target.path)
    return stored
