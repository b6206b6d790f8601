"""The detector's reads on a real Ray and a real run: however many segments a video has, a few read tasks per
detector actor run at once, not one worker process per segment reading on past the read-ahead."""

from __future__ import annotations

import threading
from pathlib import Path

import dagster as dg
import psutil
import pytest

from maskassets.batch.runner import READ_TASKS_PER_ACTOR
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.media import make_clip
from maskassets_tests.support.pipeline_run import register_and_run

pytestmark = pytest.mark.slow

#: The title Ray gives a worker while it runs a read task of the detector's dataset over copied packets.
_READER_TITLE = "ray::ReadCopiedFrames"


class ConcurrentTitles:
    """Samples this process's descendants (a local Ray's workers among them) and keeps the most of them at once
    whose title starts with ``prefix``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.most_at_once = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ConcurrentTitles:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.02):
            titled = 0
            for process in me.children(recursive=True):
                try:
                    titled += " ".join(process.cmdline()).startswith(self.prefix)
                except psutil.Error:
                    continue
            self.most_at_once = max(self.most_at_once, titled)


def test_a_video_of_many_segments_is_read_by_a_few_tasks_per_actor_at_once(pipeline_env, dagster_home, monkeypatch):
    monkeypatch.setenv("MASKASSETS_SEGMENT_FRAMES", "4")
    make_clip(
        Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=64, width=640, height=360, keyframe_interval=4
    )
    with dg.instance_for_test(temp_dir=str(dagster_home)) as instance, ConcurrentTitles(_READER_TITLE) as readers:
        result = register_and_run(instance, ["clip.mp4"])["clip.mp4"]
    assert result.success

    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    segments = len(store.require_manifest("video_frames", "clip.mp4").segments)
    ran = store.require_manifest("frame_predictions", "clip.mp4").metadata
    assert 1 <= readers.most_at_once <= ran["read_tasks"] == READ_TASKS_PER_ACTOR * ran["actors"] < segments
