"""The videos folder (local or ``s3://``): which videos exist, their partition keys and fingerprints."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from upath import UPath

from maskassets.media.video import why_not_a_video
from maskassets.storage.errors import explain_storage_errors
from maskassets.storage.partition_keys import partition_key_for, validate_partition_key

#: Taken as videos by their name alone; one that is not fails its own partition with the reason.
# fmt: off
VIDEO_EXTENSIONS = frozenset({
    ".3g2", ".3gp", ".264", ".265", ".amv", ".asf", ".avi", ".divx", ".dv", ".f4v", ".flv", ".h261", ".h263",
    ".h264", ".h265", ".hevc", ".ivf", ".m1v", ".m2t", ".m2ts", ".m2v", ".m4v", ".mjpeg", ".mjpg", ".mk3d",
    ".mkv", ".mod", ".mov", ".mp4", ".mpe", ".mpeg", ".mpg", ".mpv", ".mts", ".mxf", ".nut", ".nsv", ".ogm",
    ".ogv", ".qt", ".rm", ".rmvb", ".tod", ".trp", ".ts", ".vob", ".webm", ".wmv", ".wtv", ".y4m",
})
# fmt: on
#: Names of files still being written by a browser or a copy tool; the finished file gets its own name.
UNFINISHED_SUFFIXES = frozenset({".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".filepart"})
_HASH_CHUNK_BYTES = 8 * 1024 * 1024


class MissingVideoFolderError(FileNotFoundError):
    """The videos folder (or S3 prefix) does not exist."""


@dataclass(frozen=True)
class FolderScan:
    """What the videos folder holds: the videos by partition key, and every other file with why it is not one."""

    videos: dict[str, SourceVideo]
    #: Relative file name -> the reason it is not processed.
    skipped: dict[str, str]


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
        return self.scan().videos

    def scan(self) -> FolderScan:
        """Every file under the folder (searched recursively), in a stable order: a video if its extension is
        a video's, or if FFmpeg finds a video stream in a file of any other extension; else skipped, with
        the reason."""
        with explain_storage_errors("The videos folder", self.location):
            return self._scan()

    def _scan(self) -> FolderScan:
        if not self.root.exists():
            raise MissingVideoFolderError(
                f"The videos folder {self.location} does not exist; create it or set `videos.location` to the "
                "folder or s3:// prefix that holds your videos."
            )
        videos: dict[str, SourceVideo] = {}
        skipped: dict[str, str] = {}
        for path in sorted(self.root.rglob("*"), key=str):
            if not path.is_file():
                continue
            relative_name = path.relative_to(self.root).as_posix()
            reason = _why_skipped(path, relative_name)
            if reason is None:
                key = partition_key_for(relative_name)
                videos[key] = SourceVideo(partition_key=key, path=path)
            else:
                skipped[relative_name] = reason
        return FolderScan(videos=videos, skipped=skipped)

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


def _why_skipped(path: UPath, relative_name: str) -> str | None:
    """Why the file at ``path`` is not taken as a video (None: it is one)."""
    suffix = path.suffix.lower()
    if any(part.startswith(".") for part in relative_name.split("/")):
        return "hidden (a name starting with '.')"
    if suffix in UNFINISHED_SUFFIXES:
        return f"an unfinished download or copy ({suffix}), taken once it has its finished name"
    if suffix in VIDEO_EXTENSIONS:
        return None
    return _probed_reason(str(path), change_marker(path))


@functools.lru_cache(maxsize=4096)
def _probed_reason(uri: str, marker: str) -> str | None:
    """FFmpeg's verdict on a file of an unknown extension, read once per version of the file (``marker``):
    the sensor looks at the folder every 30 seconds."""
    return why_not_a_video(UPath(uri))


@dataclass(frozen=True)
class SourceFingerprint:
    """A source file's content identity, and the cheap marker it was found under."""

    marker: str
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"marker": self.marker, "content": self.content}


def fingerprint_source(path: UPath, known: Sequence[Mapping[str, str]] = ()) -> SourceFingerprint:
    """The content fingerprint of ``path``, taken from one of the ``known`` fingerprints without reading the file
    while its change marker (ETag on S3, size and mtime locally) is the one that fingerprint was found under."""
    marker = change_marker(path)
    for previous in known:
        if previous.get("marker") == marker:
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
    """A cheap marker that changes when the file is replaced: ETag on S3; locally size and mtime, and the inode
    and its change time, which a copy that keeps the size and restores the mtime (``cp -p``, ``rsync -t``)
    still changes."""
    with explain_storage_errors("The video", str(path)):
        info = path.fs.info(path.path)
    if etag := _etag(info):
        return etag
    stamps = (info.get("size"), info.get("mtime") or info.get("LastModified"), info.get("ino"), info.get("created"))
    return ":".join(str(stamp) for stamp in stamps if stamp is not None)


def _etag(info: dict) -> str | None:
    etag = info.get("ETag") or info.get("etag")
    return str(etag).strip('"') if etag else None
