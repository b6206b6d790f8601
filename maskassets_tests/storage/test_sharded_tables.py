"""Frame tables are sets of parquet shards written by Ray workers, none larger than the bound, and every
reader (the next stage, the checks, the summary, the encoder) sees each frame once, in order."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.sharded_tables import read_table
from maskassets_tests.support.media import make_clip
from maskassets_tests.support.pipeline_run import register_and_run

pytestmark = pytest.mark.slow
FRAMES = 30
TABLES = {
    "video_frames": schema.FRAMES_TABLE,
    "frame_predictions": schema.PREDICTIONS_TABLE,
    "face_tracks": schema.TRACKS_TABLE,
}


def test_a_tiny_shard_bound_splits_every_frame_table_and_each_reader_sees_every_frame_once(
    pipeline_env, dagster_home, monkeypatch
):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=FRAMES, width=160, height=120)
    bound_mib = 0.03
    monkeypatch.setenv("MASKASSETS_MAX_SHARD_MIB", str(bound_mib))
    # A random R50 returns as many boxes as it may: 100 per frame make the predictions table shard too.
    monkeypatch.setenv("MASKASSETS_DETECTIONS_PER_IMAGE", "100")
    # Frames as images, so that the frames table is large enough to shard (the default keeps times only).
    monkeypatch.setenv("MASKASSETS_FRAME_FORMAT", "jpeg")
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        (run,) = register_and_run(instance, ["clip.mp4"]).values()

    assert run.success
    assert all(evaluation.passed for evaluation in run.get_asset_check_evaluations())
    for stage, table in TABLES.items():
        manifest = store.require_manifest(stage, "clip.mp4")
        shards = manifest.tables[table]
        sizes = [Path(store.artifact_path(manifest, shard["file"]).path).stat().st_size for shard in shards]
        assert len(shards) >= 3, stage
        assert max(sizes) <= bound_mib * 2**20, (stage, sizes)
        assert sizes == [shard["bytes"] for shard in shards]
        rows = read_table(store, manifest, table, columns=[schema.FRAME_INDEX])
        assert rows[schema.FRAME_INDEX].to_pylist() == list(range(FRAMES)), stage
    assert store.require_manifest("annotated_frames", "clip.mp4").metadata["frame_count"] == FRAMES
    assert store.require_manifest("mask_summary", "clip.mp4").metadata["frame_count"] == FRAMES
    assert store.require_manifest("output_webm", "clip.mp4").metadata["frame_count"] == FRAMES
