"""Two videos published by the real command line into a fresh artifact root and Dagster home, shared
by the tests of what people see (metadata, summaries, the UI, playback)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from maskassets.storage import ArtifactStore
from maskassets_tests.commands import run_command
from maskassets_tests.media import make_clip, pipeline_settings

#: Thick enough that a box outline keeps its colour through VP8's 4:2:0 chroma.
LINE_WIDTH = 6
CLIPS = {"a.mp4": {"frames": 12, "width": 160, "height": 120}, "b.mp4": {"frames": 8, "width": 128, "height": 96}}


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
        "DAGSTER_HOME": str(root / "dagster_home"),
    }
    (root / "videos").mkdir()
    for name, shape in CLIPS.items():
        make_clip(root / "videos" / name, **shape)
    completed = run_command(["maskassets", "update"], **env)
    return PublishedVideos(root=root, env=env, output=completed.stdout + completed.stderr)
