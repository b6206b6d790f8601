"""The artifact store: one root (a local folder or ``s3://bucket/prefix``) laid out as
``<root>/<stage>/<partition>/``, where a stage's files become visible only once completely written.

Each commit writes into a fresh ``v-<version>-<nonce>/`` folder and then replaces ``manifest.json``,
the one file readers trust, in a single atomic step (``os.replace`` locally, one PUT on S3). A writer
killed half-way leaves an unreferenced folder, never a half-written artifact that a reader would use,
and two writers of one partition each publish a complete folder: the last one to commit wins.
No commit deletes a folder another may still read: `maskassets gc` (garbage.py) collects the unreferenced
ones once no run can be reading them.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pyarrow.fs
from fsspec.implementations.local import LocalFileSystem
from upath import UPath

from maskassets.storage.errors import explain_storage_errors
from maskassets.storage.partition_keys import validate_partition_key

MANIFEST_NAME = "manifest.json"
UNPARTITIONED = "_all"
#: The folders commits write (``v-<version>-<nonce>``): the only names a manifest may point at.
COMMIT_FOLDER = re.compile(r"v-[A-Za-z0-9_-]+")
#: The prefix of a manifest being written locally before it replaces ``manifest.json``.
UNPUBLISHED_MANIFEST_PREFIX = f".{MANIFEST_NAME}."


@dataclass(frozen=True)
class Manifest:
    """What a committed artifact holds and which inputs made it."""

    stage: str
    partition: str
    version: str
    directory: str
    files: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    #: The folder this commit replaced (lineage); it stays for readers still on it until collected.
    replaced: str | None = None
    #: Frame tables stored as shards: per table, its shards' records (sharded_tables.Shard) in frame order.
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Encoded video segments in frame order, each a record of its file, first_frame, frames and bytes.
    segments: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        return cls(**json.loads(text))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


@dataclass
class StagedArtifact:
    """A folder being written; its files are registered by name and committed together."""

    stage: str
    partition: str
    version: str
    directory: UPath
    files: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    segments: list[dict[str, Any]] = field(default_factory=list)

    def path(self, name: str) -> UPath:
        self.add_file(name)
        return self.directory / name

    def add_file(self, name: str) -> None:
        """Register a file written into this folder (by this process or a worker)."""
        if name not in self.files:
            self.files.append(name)

    def draft(self) -> Manifest:
        """The manifest this folder will be committed under, to read what it holds so far with the same readers."""
        return Manifest(
            stage=self.stage,
            partition=self.partition,
            version=self.version,
            directory=self.directory.name,
            files=list(self.files),
            metadata=dict(self.metadata),
            tables=dict(self.tables),
            segments=list(self.segments),
        )

    def add_table(self, table: str, shards: list[dict[str, Any]]) -> None:
        """Register the shards workers wrote into this folder as ``table``, in frame order."""
        ordered = sorted(shards, key=lambda shard: shard["first_frame"])
        self.tables[table] = ordered
        self.files.extend(shard["file"] for shard in ordered if shard["file"] not in self.files)

    def add_segments(self, segments: list[dict[str, Any]]) -> None:
        """Register the video segments workers wrote into this folder, in frame order."""
        self.segments = sorted(segments, key=lambda segment: segment["first_frame"])
        self.files.extend(segment["file"] for segment in self.segments if segment["file"] not in self.files)


class ArtifactStore:
    """Reads and atomically commits per-stage, per-partition artifacts under one root."""

    def __init__(self, root: str, storage_options: dict[str, Any] | None = None) -> None:
        if "://" not in root:
            root = os.path.abspath(os.path.expanduser(root))
        self.root = UPath(root, **(storage_options or {}))

    @property
    def is_local(self) -> bool:
        return isinstance(self.root.fs, LocalFileSystem)

    def stage_dir(self, stage: str, partition: str | None = None) -> UPath:
        """``<root>/<stage>/<partition>``; a key the sensor could not have made (``..``, a slash, an absolute
        path: keys can be added from the UI or the API) is refused before it can address another folder."""
        return self.root / stage / (UNPARTITIONED if partition is None else validate_partition_key(partition))

    def read_manifest(self, stage: str, partition: str | None = None) -> Manifest | None:
        manifest_path = self.stage_dir(stage, partition) / MANIFEST_NAME
        with explain_storage_errors("The artifact root", str(self.root)):
            if not manifest_path.exists():
                return None
            return Manifest.from_json(manifest_path.read_text())

    def require_manifest(self, stage: str, partition: str | None = None) -> Manifest:
        manifest = self.read_manifest(stage, partition)
        if manifest is None:
            where = f"partition '{partition}'" if partition else "this deployment"
            raise FileNotFoundError(
                f"No committed '{stage}' artifact for {where} under {self.root}; "
                f"materialize '{stage}' first (for example with --select '*{stage}')."
            )
        return manifest

    def artifact_path(self, manifest: Manifest, name: str) -> UPath:
        return self._folder(manifest) / name

    def _folder(self, manifest: Manifest) -> UPath:
        """The commit folder ``manifest`` names, refused unless it is one this store writes: a manifest edited
        or written by something else must not make a reader read outside its stage's folder."""
        directory = manifest.directory
        if not COMMIT_FOLDER.fullmatch(directory):
            raise ValueError(
                f"The '{manifest.stage}' manifest of '{manifest.partition}' under {self.root} names the folder "
                f"{directory!r}, which is not one maskassets writes (v-<version>-<id>); remove that manifest.json "
                "so the stage is built again."
            )
        partition = None if manifest.partition == UNPARTITIONED else manifest.partition
        return self.stage_dir(manifest.stage, partition) / directory

    def is_complete(self, manifest: Manifest) -> bool:
        """Whether every file the manifest names is there, from one listing of its folder (not a request per
        file: a long video's tables hold hundreds of shards)."""
        return set(manifest.files) <= set(self._listing(manifest))

    def is_intact(self, manifest: Manifest) -> bool:
        """Whether every file is there and every table shard and video segment has the size it was committed with:
        what lets a reused artifact report the checks it passed when it was built instead of reading it again."""
        listing = self._listing(manifest)
        sized = [*(shard for records in manifest.tables.values() for shard in records), *manifest.segments]
        return set(manifest.files) <= set(listing) and all(listing[part["file"]] == part["bytes"] for part in sized)

    def _listing(self, manifest: Manifest) -> dict[str, int]:
        folder = self._folder(manifest)
        prefix = folder.path.rstrip("/") + "/"
        with explain_storage_errors("The artifact root", str(self.root)):
            try:
                listed = folder.fs.find(folder.path, detail=True)
            except FileNotFoundError:
                return {}
        return {path[len(prefix) :]: info["size"] for path, info in listed.items() if path.startswith(prefix)}

    @contextmanager
    def commit(self, stage: str, partition: str | None, *, version: str) -> Iterator[StagedArtifact]:
        """Yield a staging folder; on a clean exit publish it as the stage's artifact, else remove it.

        The folder the new manifest replaces is left in place, so a run still reading it (another run of the
        same partition, an actor restarted with an older manifest) is not cut off mid-read.
        """
        stage_dir = self.stage_dir(stage, partition)
        directory = f"v-{version}-{uuid.uuid4().hex[:8]}"
        staged = StagedArtifact(
            stage=stage, partition=partition or UNPARTITIONED, version=version, directory=stage_dir / directory
        )
        with explain_storage_errors("The artifact root", str(self.root)):
            staged.directory.mkdir(parents=True, exist_ok=True)
            try:
                yield staged
                missing = [name for name in staged.files if not (staged.directory / name).exists()]
                if missing:
                    raise RuntimeError(f"'{stage}' did not write {missing} before committing")
                previous = self.read_manifest(stage, partition)
                manifest = Manifest(
                    stage=stage,
                    partition=partition or UNPARTITIONED,
                    version=version,
                    directory=directory,
                    files=list(staged.files),
                    metadata=staged.metadata,
                    tables=staged.tables,
                    segments=staged.segments,
                    created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                    replaced=previous.directory if previous else None,
                )
                self._publish(stage_dir / MANIFEST_NAME, manifest.to_json())
            except BaseException:
                remove_tree(staged.directory)
                raise

    def update_metadata(self, manifest: Manifest, changes: dict[str, Any]) -> None:
        """Record ``changes`` in the metadata of the committed ``manifest``, which keeps its folder (nothing is
        rebuilt); skipped if another commit has replaced it since."""
        partition = None if manifest.partition == UNPARTITIONED else manifest.partition
        with explain_storage_errors("The artifact root", str(self.root)):
            current = self.read_manifest(manifest.stage, partition)
            if current is None or current.directory != manifest.directory:
                return
            updated = replace(current, metadata={**current.metadata, **changes})
            self._publish(self.stage_dir(manifest.stage, partition) / MANIFEST_NAME, updated.to_json())

    def _publish(self, manifest_path: UPath, text: str) -> None:
        if self.is_local:
            temporary = manifest_path.with_name(f"{UNPUBLISHED_MANIFEST_PREFIX}{uuid.uuid4().hex}")
            temporary.write_text(text)
            os.replace(temporary.path, manifest_path.path)
        else:
            manifest_path.write_text(text)

    def arrow_location(self, path: UPath) -> tuple[pyarrow.fs.FileSystem, str]:
        """The pyarrow filesystem and in-filesystem path for ``path``, for parquet readers and writers."""
        if self.is_local:
            return pyarrow.fs.LocalFileSystem(), path.path
        handler = pyarrow.fs.FSSpecHandler(path.fs)
        return pyarrow.fs.PyFileSystem(handler), path.path


def remove_tree(directory: UPath) -> None:
    """Remove ``directory`` and everything in it, if it is there."""
    # Two writers of one partition may both remove the folder two commits back; the second finds it gone.
    with suppress(FileNotFoundError):
        if directory.exists():
            directory.fs.rm(directory.path, recursive=True)
