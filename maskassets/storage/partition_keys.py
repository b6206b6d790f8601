"""Partition keys derived from video file names: stable, unique, and safe as a single path segment."""

import hashlib
import re

MAX_KEY_LENGTH = 80
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


def partition_key_for(file_name: str) -> str:
    """The partition key of a video named ``file_name`` (its name relative to the videos folder).

    A plain, short name is its own key (``carphone.mp4``). Any other name (spaces, unicode, slashes,
    ``..``, very long) is reduced to safe characters and suffixed with a hash of the full original
    name, so that two different names never share a key and no key can climb out of a folder.
    """
    if len(file_name) <= MAX_KEY_LENGTH and _SAFE_NAME.fullmatch(file_name) and ".." not in file_name:
        return file_name
    digest = hashlib.sha256(file_name.encode("utf-8")).hexdigest()[:10]
    readable = _UNSAFE_CHARACTERS.sub("_", file_name).replace("..", "_").strip("._-")
    readable = readable[: MAX_KEY_LENGTH - len(digest) - 1] or "video"
    return f"{readable}-{digest}"


def validate_partition_key(key: str) -> str:
    """Refuse a key that this module could not have produced (it might address a path outside the root)."""
    if partition_key_for(key) != key:
        raise ValueError(
            f"'{key}' is not a valid video partition key: keys are file names made only of letters, "
            "digits, '.', '_' and '-' (no '..', at most 80 characters). List the registered keys with "
            "`dagster asset list` or in the UI's partition picker."
        )
    return key
