from __future__ import annotations

import pytest

from maskassets.partition_keys import partition_key_for, validate_partition_key


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
