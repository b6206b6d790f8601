"""A stage's artifact becomes visible only once completely written, and a failed write loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from maskassets.storage import ArtifactStore


def test_a_committed_artifact_is_readable_through_its_manifest(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    with store.commit("stage", "video.mp4", version="v1") as staged:
        staged.path("data.txt").write_text("done")
        staged.metadata["rows"] = 3
    manifest = store.require_manifest("stage", "video.mp4")
    assert (manifest.version, manifest.files, manifest.metadata) == ("v1", ["data.txt"], {"rows": 3})
    assert store.artifact_path(manifest, "data.txt").read_text() == "done"


def test_a_failed_write_leaves_the_previous_artifact_and_no_partial_files(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    with store.commit("stage", "video.mp4", version="v1") as staged:
        staged.path("data.txt").write_text("first")
    with pytest.raises(RuntimeError, match="disk on fire"), store.commit("stage", "video.mp4", version="v2") as staged:
        staged.path("data.txt").write_text("half")
        raise RuntimeError("disk on fire")
    manifest = store.require_manifest("stage", "video.mp4")
    assert manifest.version == "v1"
    assert store.artifact_path(manifest, "data.txt").read_text() == "first"
    assert sorted(p.name for p in (tmp_path / "stage" / "video.mp4").iterdir()) == sorted(
        [manifest.directory, "manifest.json"]
    )


def test_a_new_commit_replaces_the_old_one_and_removes_its_files(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    for version in ("v1", "v2"):
        with store.commit("stage", None, version=version) as staged:
            staged.path("data.txt").write_text(version)
    manifest = store.require_manifest("stage")
    assert store.artifact_path(manifest, "data.txt").read_text() == "v2"
    assert len([p for p in (tmp_path / "stage" / "_all").iterdir() if p.is_dir()]) == 1


def test_a_commit_that_forgets_a_registered_file_is_refused(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(RuntimeError, match="did not write"), store.commit("stage", "v.mp4", version="v1") as staged:
        staged.path("never_written.parquet")
    assert store.read_manifest("stage", "v.mp4") is None


def test_reading_a_stage_that_was_never_built_names_the_fix(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"materialize 'video_frames' first"):
        ArtifactStore(str(tmp_path)).require_manifest("video_frames", "clip.mp4")
