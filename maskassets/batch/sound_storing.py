"""The Ray task that keeps one part of a source's sound ready for the output: read from the source where it lies
(local, S3, HTTP) by a worker, from a seek near the part, encoded there when the output's container does not take
its codec, and written into the staged artifact, so that neither the source's bytes nor the encoding pass through
the Dagster process, and a long video's parts are kept side by side."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import ray
from upath import UPath

from maskassets.media.audio import AudioEncoding, SoundPart, StoredAudio, store_first_audio_stream


@dataclass(frozen=True)
class StoredPart:
    """A part as its task kept it: what it holds, whether its file was written, and the Ray node that ran it."""

    stored: StoredAudio | None
    written: bool
    node_id: str


# The parts are short (30 s of sound is under a second of CPU) and read nothing a node holds: spread over the nodes,
# rather than run one after another by the first worker leased, as the default packing does with tasks this short.
@ray.remote(num_cpus=1, max_retries=3, scheduling_strategy="SPREAD")
def store_sound_part(
    source: UPath, target: UPath, *, start_seconds: float, encoding: AudioEncoding, part: SoundPart
) -> StoredPart:
    """Store ``part`` of the first audio stream of ``source`` at ``target`` as ``encoding`` wants it, timed from
    ``start_seconds``; no file where the source has no sound or the part no packets."""
    # The muxer seeks back to write its index, which S3 objects cannot do: write locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-audio-") as scratch:
        local_path = os.path.join(scratch, target.name)
        stored = store_first_audio_stream(source, local_path, start_seconds=start_seconds, encoding=encoding, part=part)
        written = stored is not None and stored.packets > 0
        if written:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.fs.put_file(local_path, target.path)
    return StoredPart(stored, written, ray.get_runtime_context().get_node_id())
