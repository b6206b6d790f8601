"""Two videos published by the real command line into a fresh artifact root and Dagster home, shared
by the tests of what people see (metadata, summaries, the UI, playback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.commands import run_command
from maskassets_tests.support.media import make_clip, pipeline_settings, with_beep

#: Thick enough that a box outline keeps its colour through VP8's 4:2:0 chroma.
LINE_WIDTH = 6
CLIPS = {"a.mp4": {"frames": 12, "width": 160, "height": 120}, "b.mp4": {"frames": 8, "width": 128, "height": 96}}
#: The published clip with sound (a beep at this time), which the browser must play.
WITH_SOUND, BEEP_AT = "b.mp4", 0.25


@dataclass(frozen=True)
class PublishedVideos:
    root: Path
    env: dict[str, str]
    output: str

    @property
    def store(self) -> ArtifactStore:
        return ArtifactStore(self.env["MASKASSETS_ARTIFACTS"])

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(self.env["DAGSTER_HOME"])


def publish_two_videos(root: Path, checkpoint_path: Path) -> PublishedVideos:
    env = pipeline_settings(root, checkpoint_path) | {
        "MASKASSETS_LINE_WIDTH": str(LINE_WIDTH),
        # The browser plays what parallel segments joined into one file.
        "MASKASSETS_ENCODE_SEGMENT_FRAMES": "5",
        # ... and the sound kept in parts by tasks side by side.
        "MASKASSETS_SOUND_PART_SECONDS": "0.25",
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    (root / "videos").mkdir()
    for name, shape in CLIPS.items():
        make_clip(root / "videos" / name, **shape)
    picture = (root / "videos" / WITH_SOUND).rename(root / "picture.mp4")
    seconds = CLIPS[WITH_SOUND]["frames"] / 12
    with_beep(picture, root / "videos" / WITH_SOUND, seconds=seconds, beep_at=BEEP_AT, audio_args=["-c:a", "aac"])
    completed = run_command(["maskassets", "update"], **env)
    return PublishedVideos(root=root, env=env, output=completed.stdout + completed.stderr)
