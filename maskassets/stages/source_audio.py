"""Keep the source's first audio stream beside its frames, on the frames' clock, ready for the output's container:
encoded once here when that container does not take its codec, so a published video made again (new detections,
drawing, codec of the same container) copies it. Sound the output is not to carry is neither read nor kept."""

from __future__ import annotations

from dataclasses import asdict

from upath import UPath

from maskassets.batch.ray_results import gather
from maskassets.batch.sound_storing import store_sound
from maskassets.media.video import first_frame_seconds
from maskassets.media.video_writing import EncoderSettings
from maskassets.storage.artifact_store import Manifest, StagedArtifact
from maskassets.storage.schema import AUDIO_FILE, SOURCE_START_SECONDS

STAGE = "source_audio"
CODE_VERSION = "2"
#: The manifest's record of the container the sound was made for.
CONTAINER = "container"
#: The manifest's record that `encoder.audio` was `drop`: no sound read, none kept.
DROPPED = "dropped"


def extract_audio(source: UPath, staged: StagedArtifact, *, frames: Manifest, encoder: EncoderSettings) -> dict:
    """Store the first audio stream of ``source`` (if it has one) for ``encoder``'s container, timed from its
    first video frame as the ``frames`` of video_frames are; returns what the manifest records of it."""
    # video_frames records where its clock starts; artifacts it made before doing so are asked of the source.
    start_seconds = frames.metadata.get(SOURCE_START_SECONDS)
    if start_seconds is None:
        start_seconds = first_frame_seconds(source)
    task = store_sound.remote(
        source, staged.directory / AUDIO_FILE, start_seconds=start_seconds, encoding=encoder.sound
    )
    stored = gather([task])[0]
    if stored is not None:
        staged.add_file(AUDIO_FILE)
    summary = {"has_audio": stored is not None, CONTAINER: encoder.container, **(asdict(stored) if stored else {})}
    staged.metadata.update(summary)
    return summary


def keep_no_sound(staged: StagedArtifact) -> None:
    """Record that the output is to be silent: the source's sound is neither read nor stored."""
    staged.metadata.update({"has_audio": False, DROPPED: True})


def require_ready(sound: Manifest, encoder: EncoderSettings) -> None:
    """Refuse to publish sound made for another container than the output's, or none where the output keeps it."""
    fix = (
        "materialize source_audio with output_webm (--select 'source_audio,annotated_frames,output_webm'), or run "
        "the whole chain."
    )
    if encoder.audio and sound.metadata.get(DROPPED):
        raise ValueError(
            f"The sound of '{sound.partition}' was dropped (`encoder.audio` was drop when source_audio was made), "
            f"but the output is to keep it now: {fix}"
        )
    made_for = sound.metadata.get(CONTAINER)
    if sound.metadata["has_audio"] and made_for != encoder.container:
        raise ValueError(
            f"The sound of '{sound.partition}' was kept for {made_for or 'no container (an older version)'}, but "
            f"`encoder.codec` writes {encoder.container}: {fix}"
        )
