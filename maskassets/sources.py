"""The videos folder (local or ``s3://``): which videos exist, their partition keys and fingerprints."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from upath import UPath

from maskassets.partition_keys import partition_key_for, validate_partition_key
from maskassets.storage_errors import explain_storage_errors

VIDEO_EXTENSIONS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".ts")
_HASH_CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class SourceVideo:
    partition_key: str
    path: UPath

    @property
    def uri(self) -> str:
        return str(self.path)


class VideoFolder:
    """A folder or S3 prefix whose video files (searched recursively) are the graph's roots."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.root = UPath(location)

    def list_videos(self) -> dict[str, SourceVideo]:
        """Every video under the folder, by partition key, in a stable order."""
        with explain_storage_errors("The videos folder", self.location):
            return self._list_videos()

    def _list_videos(self) -> dict[str, SourceVideo]:
        if not self.root.exists():
            raise FileNotFoundError(
                f"The videos folder {self.location} does not exist; create it or point "
                "MASKASSETS_VIDEOS at the folder or s3:// prefix that holds your videos."
            )
        videos: dict[str, SourceVideo] = {}
        for path in sorted(self.root.rglob("*"), key=str):
            if path.suffix.lower() in VIDEO_EXTENSIONS and path.is_file():
                relative_name = path.relative_to(self.root).as_posix()
                key = partition_key_for(relative_name)
                videos[key] = SourceVideo(partition_key=key, path=path)
        return videos

    def resolve(self, partition_key: str) -> SourceVideo:
        validate_partition_key(partition_key)
        video = self.list_videos().get(partition_key)
        if video is None:
            raise FileNotFoundError(
                f"No video under {self.location} has the partition key '{partition_key}': the file was "
                "moved or deleted. Put it back, or delete the partition in the UI (its stored artifacts "
                "are kept until you remove them)."
            )
        return video


@dataclass(frozen=True)
class SourceFingerprint:
    """A source file's content identity, and the cheap marker it was found under."""

    marker: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"marker": self.marker, "content": self.content}


def fingerprint_source(path: UPath, previous: Mapping[str, str] | None = None) -> SourceFingerprint:
    """The content fingerprint of ``path``, taken from ``previous`` without reading the file while its change
    marker (ETag on S3, size and mtime locally) is the one ``previous`` was found under."""
    marker = change_marker(path)
    if previous is not None and previous.get("marker") == marker:
        return SourceFingerprint(marker=marker, content=previous["content"])
    return SourceFingerprint(marker=marker, content=content_fingerprint(path))


def content_fingerprint(path: UPath) -> str:
    """A content-derived identity of a source file: S3's ETag, else the sha256 of its bytes."""
    with explain_storage_errors("The video", str(path)):
        info = path.fs.info(path.path)
        if etag := _etag(info):
            return f"etag:{etag}:{info.get('size')}"
        digest = hashlib.sha256()
        with path.open("rb") as stream:
            while chunk := stream.read(_HASH_CHUNK_BYTES):
                digest.update(chunk)
        return f"sha256:{digest.hexdigest()}"


def change_marker(path: UPath) -> str:
    """A cheap marker that changes when the file is replaced: ETag on S3, else size and mtime."""
    with explain_storage_errors("The video", str(path)):
        info = path.fs.info(path.path)
    return _etag(info) or f"{info.get('size')}:{info.get('mtime') or info.get('LastModified')}"


def _etag(info: dict) -> str | None:
    etag = info.get("ETag") or info.get("etag")
    return str(etag).strip('"') if etag else None
