"""Videos that are valid but unusual go through the whole chain: odd sizes, a single frame, and a
variable frame rate whose real timestamps the output keeps."""

from __future__ import annotations

from pathlib import Path

import av
import dagster as dg
import pytest

from maskassets.cli import STAGES, update_all
from maskassets.stages.output_webm import WEBM_FILE
from maskassets.storage import ArtifactStore
from maskassets_tests.media import make_clip

pytestmark = pytest.mark.slow
VFR_TIMESTAMPS = [0.0, 0.1, 0.15, 0.5, 0.55, 1.2]


def _frames(path: Path) -> list[tuple[float, tuple[int, int]]]:
    with av.open(str(path)) as container:
        return [(round(float(frame.time), 3), (frame.width, frame.height)) for frame in container.decode(video=0)]


def test_odd_sizes_single_frames_and_variable_frame_rates_are_kept(pipeline_env, dagster_home):
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    sources = {
        "odd.mp4": make_clip(videos / "odd.mp4", frames=4, width=97, height=71),
        "single.mp4": make_clip(videos / "single.mp4", frames=1),
        "vfr.mkv": make_clip(videos / "vfr.mkv", timestamps=VFR_TIMESTAMPS),
    }
    with dg.DagsterInstance.get() as instance:
        report = update_all(instance)
    assert not report.failures
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    for key, source in sources.items():
        assert [report.outcomes[key][stage] for stage in STAGES[1:]] == ["built"] * 4
        manifest = store.require_manifest("output_webm", key)
        output = Path(store.artifact_path(manifest, WEBM_FILE).path)
        assert _frames(output) == _frames(source)
    assert [time for time, _ in _frames(sources["vfr.mkv"])] == VFR_TIMESTAMPS
