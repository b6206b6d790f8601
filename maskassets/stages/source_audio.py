"""Keep the source's first audio stream beside its frames, on the frames' clock, ready for the output's container:
encoded once here when that container does not take its codec, so a published video made again (new detections,
drawing, codec of the same container) copies it. Ray tasks keep its parts side by side, each read from a seek near
its start. Sound the output is not to carry is neither read nor kept."""

from __future__ import annotations

from upath import UPath

from maskassets.batch.ray_results import gather_longest_first
from maskassets.batch.sound_storing import StoredPart, store_sound_part
from maskassets.media.audio import SoundPart, plan_sound_parts
from maskassets.media.video import first_frame_seconds
from maskassets.media.video_writing import EncoderSettings
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.schema import AUDIO_FOLDER, SOURCE_START_SECONDS

STAGE = "source_audio"
CODE_VERSION = "3"
#: The manifest's record of the container the sound was made for.
CONTAINER = "container"
#: The manifest's record that `encoder.audio` was `drop`: no sound read, none kept.
DROPPED = "dropped"
#: The manifest's list of the stored sound's files, in time order.
PARTS = "parts"


def extract_audio(
    source: UPath, staged: StagedArtifact, *, frames: Manifest, encoder: EncoderSettings, part_seconds: float
) -> dict:
    """Store the first audio stream of ``source`` (if it has one) for ``encoder``'s container in parts of about
    ``part_seconds``, timed from its first video frame as the ``frames`` of video_frames are; returns what the
    manifest records of it."""
    # video_frames records where its clock starts; artifacts it made before doing so are asked of the source.
    start_seconds = frames.metadata.get(SOURCE_START_SECONDS)
    if start_seconds is None:
        start_seconds = first_frame_seconds(source)
    parts = plan_sound_parts(frames.metadata["duration_seconds"], part_seconds)
    files = [f"{AUDIO_FOLDER}/{number:06d}.mka" for number in range(len(parts))]
    kept = gather_longest_first(
        list(zip(parts, files, strict=True)),
        size=lambda job: _planned_seconds(job[0], frames.metadata["duration_seconds"]),
        submit=lambda job: store_sound_part.remote(
            source, staged.directory / job[1], start_seconds=start_seconds, encoding=encoder.sound, part=job[0]
        ),
    )
    written = [file for file, part in zip(files, kept, strict=True) if part.written]
    for file in written:
        staged.add_file(file)
    summary = {CONTAINER: encoder.container, **_sound_summary(kept), PARTS: written}
    staged.metadata.update(summary)
    return summary


def _planned_seconds(part: SoundPart, video_seconds: float) -> float:
    return (video_seconds if part.ends is None else part.ends) - part.begins


def _sound_summary(kept: list[StoredPart]) -> dict:
    """What the manifest records of the kept sound, from its parts."""
    stored = [part.stored for part in kept if part.written]
    if not stored:
        return {"has_audio": False}
    first = stored[0]
    return {
        "has_audio": True,
        "source_codec": first.source_codec,
        "codec": first.codec,
        "sample_rate": first.sample_rate,
        "channels": first.channels,
        "duration_seconds": round(stored[-1].ends_seconds - first.begins_seconds, 3),
        "packets": sum(part.packets for part in stored),
        "dropped_before_video": sum(part.stored.dropped_before_video for part in kept if part.stored),
        "ray_nodes": sorted({part.node_id for part in kept}),
    }


def keep_no_sound(staged: StagedArtifact) -> None:
    """Record that the output is to be silent: the source's sound is neither read nor stored."""
    staged.metadata.update({"has_audio": False, DROPPED: True})


def sound_parts(store: ArtifactStore, sound: Manifest) -> list[UPath]:
    """The stored sound's files in time order (none for a silent source)."""
    return [store.artifact_path(sound, file) for file in sound.metadata.get(PARTS, [])]


def require_ready(sound: Manifest, encoder: EncoderSettings) -> None:
    """Refuse to publish sound made for another container than the output's, or by an older version, or none
    where the output keeps it."""
    fix = (
        "materialize source_audio with output_webm (--select 'source_audio,annotated_frames,output_webm'), or run "
        "the whole chain."
    )
    if encoder.audio and sound.metadata.get(DROPPED):
        raise ValueError(
            f"The sound of '{sound.partition}' was dropped (`encoder.audio` was drop when source_audio was made), "
            f"but the output is to keep it now: {fix}"
        )
    if not sound.metadata["has_audio"]:
        return
    made_for = sound.metadata.get(CONTAINER)
    if made_for != encoder.container:
        raise ValueError(
            f"The sound of '{sound.partition}' was kept for {made_for or 'no container (an older version)'}, but "
            f"`encoder.codec` writes {encoder.container}: {fix}"
        )
    if PARTS not in sound.metadata:
        raise ValueError(f"The sound of '{sound.partition}' was kept in one file by an older version: {fix}")
