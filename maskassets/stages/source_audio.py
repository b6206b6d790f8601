"""Keep the source's first audio stream beside its frames, on the frames' clock, for the output to carry."""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict

from upath import UPath

from maskassets.media.audio import store_first_audio_stream
from maskassets.media.video import first_frame_seconds
from maskassets.storage.artifact_store import Manifest, StagedArtifact
from maskassets.storage.schema import AUDIO_FILE, SOURCE_START_SECONDS

STAGE = "source_audio"
CODE_VERSION = "1"


def extract_audio(source: UPath, staged: StagedArtifact, *, frames: Manifest) -> dict:
    """Store the first audio stream of ``source`` (if it has one) timed from its first video frame, as the
    ``frames`` of video_frames are; returns what the manifest records of it."""
    # video_frames records where its clock starts; artifacts it made before doing so are asked of the source.
    start_seconds = frames.metadata.get(SOURCE_START_SECONDS)
    if start_seconds is None:
        start_seconds = first_frame_seconds(source)
    # The muxer seeks back to write its index, which S3 objects cannot do: write locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-audio-") as scratch:
        local_path = os.path.join(scratch, AUDIO_FILE)
        stored = store_first_audio_stream(source, local_path, start_seconds=start_seconds)
        if stored is not None:
            target = staged.path(AUDIO_FILE)
            target.fs.put_file(local_path, target.path)
    summary = {"has_audio": stored is not None, **(asdict(stored) if stored else {})}
    staged.metadata.update(summary)
    return summary
