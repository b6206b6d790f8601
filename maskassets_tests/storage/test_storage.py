"""A stage's artifact becomes visible only once completely written, a failed write loses nothing, and no
partition key or manifest can make the store write, read or delete outside its own folders."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.garbage import collect_garbage


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


def test_writers_of_one_partition_at_once_each_publish_a_complete_artifact(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    start = threading.Barrier(8)

    def write(version: str) -> None:
        start.wait()
        with store.commit("stage", "video.mp4", version=version) as staged:
            for part in range(20):
                with staged.path(f"part-{part}.txt").open("w") as stream:
                    stream.write(version)
            staged.metadata["writer"] = version

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, [f"v{number}" for number in range(8)]))
    manifest = store.require_manifest("stage", "video.mp4")
    assert manifest.metadata["writer"] == manifest.version
    assert store.is_complete(manifest)
    assert {store.artifact_path(manifest, name).read_text() for name in manifest.files} == {manifest.version}


def test_a_commit_that_forgets_a_registered_file_is_refused(tmp_path: Path):
    store = ArtifactStore(str(tmp_path))
    with pytest.raises(RuntimeError, match="did not write"), store.commit("stage", "v.mp4", version="v1") as staged:
        staged.path("never_written.parquet")
    assert store.read_manifest("stage", "v.mp4") is None


def test_reading_a_stage_that_was_never_built_names_the_fix(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"materialize 'video_frames' first"):
        ArtifactStore(str(tmp_path)).require_manifest("video_frames", "clip.mp4")


@pytest.mark.parametrize("key", ["../other.mp4", "../video_frames/victim.mp4", "/etc", "a/b.mp4", "..", ""])
def test_a_key_that_could_address_another_folder_is_refused_before_anything_is_written(tmp_path: Path, key):
    store = ArtifactStore(str(tmp_path / "root"))
    refused = pytest.raises(ValueError, match="not a valid video partition key")
    with refused, store.commit("frame_predictions", key, version="v1") as staged:
        staged.path("data.txt").write_text("written")
    with pytest.raises(ValueError, match="not a valid video partition key"):
        store.read_manifest("frame_predictions", key)
    assert not (tmp_path / "root").exists() or not any((tmp_path / "root").rglob("*.txt"))


def test_a_manifest_naming_a_folder_the_store_did_not_write_makes_it_read_or_remove_nothing(tmp_path: Path):
    store = ArtifactStore(str(tmp_path / "root"))
    victim = tmp_path / "root" / "video_frames" / "victim.mp4"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("another video's data")
    with store.commit("video_frames", "video.mp4", version="v1") as staged:
        staged.path("data.txt").write_text("v1")
    manifest_path = tmp_path / "root" / "video_frames" / "video.mp4" / "manifest.json"
    manifest_path.write_text(manifest_path.read_text().replace('"replaced": null', '"replaced": "../victim.mp4"'))
    tampered = store.require_manifest("video_frames", "video.mp4")
    for directory in ("../victim.mp4", "/tmp", "v-1/../../victim.mp4"):
        with pytest.raises(ValueError, match=r"names the folder .*not one maskassets writes.*remove that manifest"):
            store.artifact_path(replace(tampered, directory=directory), "keep.txt")

    with store.commit("video_frames", "video.mp4", version="v2") as staged:
        staged.path("data.txt").write_text("v2")
    manifest_path.write_text(manifest_path.read_text().replace(tampered.directory, "../victim.mp4"))
    collect_garbage(store, grace_seconds=0, busy_partitions=set())
    assert (victim / "keep.txt").read_text() == "another video's data"
