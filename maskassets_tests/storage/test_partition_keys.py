from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from maskassets.definitions import build_definitions
from maskassets.defs.partitions import video_partitions
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.partition_keys import partition_key_for, validate_partition_key


@pytest.mark.parametrize(
    ("file_name", "expected_prefix"),
    [
        ("carphone.mp4", "carphone.mp4"),
        ("clip-01_final.MOV", "clip-01_final.MOV"),
        ("with space.mp4", "with_space.mp4-"),
        ("nested/dir/clip.mp4", "nested_dir_clip.mp4-"),
        ("../../etc/passwd.mp4", "etc_passwd.mp4-"),
        ("..", "video-"),
        ("vidéo été.mp4", "vid_o_t_.mp4-"),
        (".hidden.mp4", "hidden.mp4-"),
    ],
)
def test_keys_are_the_name_when_safe_and_a_sanitised_hashed_name_otherwise(file_name, expected_prefix):
    key = partition_key_for(file_name)
    assert key.startswith(expected_prefix)
    assert "/" not in key and ".." not in key and len(key) <= 80
    assert validate_partition_key(key) == key


def test_different_names_never_share_a_key():
    names = ["a b.mp4", "a_b.mp4", "a/b.mp4", "a?b.mp4", "x" * 200 + "1.mp4", "x" * 200 + "2.mp4"]
    assert len({partition_key_for(name) for name in names}) == len(names)


@pytest.mark.parametrize("key", ["../escape", "a/b.mp4", "", "x" * 81, ".hidden", "a b"])
def test_keys_that_could_address_another_path_are_refused(key):
    with pytest.raises(ValueError, match="not a valid video partition key"):
        validate_partition_key(key)


@pytest.mark.parametrize("key", ["../video_frames/victim.mp4", "/victim.mp4"])
def test_a_key_added_from_the_api_fails_its_stages_and_touches_no_other_video(pipeline_env, dagster_home, key):
    """Keys added from the UI or the API never went through the sensor; the store refuses them itself."""
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with store.commit("video_frames", "victim.mp4", version="v1") as staged:
        staged.path("data.txt").write_text("the victim's frames")
    victim = store.require_manifest("video_frames", "victim.mp4")
    defs = build_definitions()
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, [key])
        result = dg.materialize(
            defs.assets,
            selection="frame_predictions",
            partition_key=key,
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert f"'{key}' is not a valid video partition key" in failure.step_failure_data.error.cause.message
    assert store.require_manifest("video_frames", "victim.mp4") == victim
    written = sorted(path.relative_to(store.root.path) for path in Path(store.root.path).rglob("*") if path.is_file())
    assert [str(path) for path in written if path.name != "manifest.json"] == [
        f"video_frames/victim.mp4/{victim.directory}/data.txt"
    ]
