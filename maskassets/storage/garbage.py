"""Collecting the artifact store's garbage: commit folders no manifest names (replaced by a later commit, left
by a writer killed half-way, or by the loser of two writers of one partition) and manifests a killed writer
never published. A folder is removed only when its newest file is older than the grace period and no run of
its partition is in progress, so a reader still on an older commit is never cut off."""

from __future__ import annotations

import functools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from maskassets.storage.artifact_store import (
    COMMIT_FOLDER,
    UNPARTITIONED,
    UNPUBLISHED_MANIFEST_PREFIX,
    ArtifactStore,
    remove_tree,
)
from maskassets.storage.errors import explain_storage_errors

#: What _named_folder says of a partition folder the store did not make.
_NOT_THE_STORES = "not the store's"


@dataclass(frozen=True)
class Garbage:
    """One unreferenced commit folder or unpublished manifest: ``<stage>/<partition>/<name>``."""

    stage: str
    partition: str
    name: str
    bytes: int
    newest_file_seconds: float

    @property
    def location(self) -> str:
        return f"{self.stage}/{self.partition}/{self.name}"


@dataclass
class Collection:
    """What a collection removed, and what it kept and why."""

    removed: list[Garbage] = field(default_factory=list)
    #: Unreferenced, but changed within the grace period.
    kept_recent: list[Garbage] = field(default_factory=list)
    #: Unreferenced, but a run of its partition is in progress.
    kept_busy: list[Garbage] = field(default_factory=list)

    @property
    def freed_bytes(self) -> int:
        return sum(garbage.bytes for garbage in self.removed)

    def lines(self, *, dry_run: bool = False) -> list[str]:
        verb = "would free" if dry_run else "freed"
        lines = [f"{verb} {_size(garbage.bytes)} {garbage.location}" for garbage in self.removed]
        lines.append(
            f"{verb} {_size(self.freed_bytes)} in {len(self.removed)} folder(s); kept {len(self.kept_recent)} "
            f"changed within the grace period and {len(self.kept_busy)} of partitions with a run in progress"
        )
        return lines


def collect_garbage(
    store: ArtifactStore, *, grace_seconds: float, busy_partitions: set[str], dry_run: bool = False
) -> Collection:
    """Remove (unless ``dry_run``) every unreferenced folder under the store's root whose newest file is older
    than ``grace_seconds`` and whose partition is not in ``busy_partitions`` (keys; UNPARTITIONED for the
    stages across videos). One listing of the root, one manifest read per partition that holds garbage."""
    collection = Collection()
    now = time.time()
    for garbage in _unreferenced(store):
        if garbage.partition in busy_partitions:
            collection.kept_busy.append(garbage)
        elif now - garbage.newest_file_seconds < grace_seconds:
            collection.kept_recent.append(garbage)
        else:
            if not dry_run:
                remove_tree(store.root / garbage.stage / garbage.partition / garbage.name)
            collection.removed.append(garbage)
    return collection


def _unreferenced(store: ArtifactStore) -> list[Garbage]:
    root = store.root.path.rstrip("/") + "/"
    with explain_storage_errors("The artifact root", str(store.root)):
        if not store.root.exists():
            return []
        # With the folders: a writer killed before its first file leaves an empty one.
        listing = store.root.fs.find(store.root.path, detail=True, withdirs=True)
    entries: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for path, info in listing.items():
        parts = path[len(root) :].split("/") if path.startswith(root) else []
        if len(parts) >= 3 and (COMMIT_FOLDER.fullmatch(parts[2]) or parts[2].startswith(UNPUBLISHED_MANIFEST_PREFIX)):
            entries[(parts[0], parts[1], parts[2])].append(info)
    found = []
    named_folder = functools.cache(lambda stage, partition: _named_folder(store, stage, partition))
    for (stage, partition, name), infos in sorted(entries.items()):
        if named_folder(stage, partition) in (name, _NOT_THE_STORES):
            continue
        changed = [seconds for seconds in map(_modified_seconds, infos) if seconds is not None]
        found.append(
            Garbage(
                stage=stage,
                partition=partition,
                name=name,
                bytes=sum(info.get("size") or 0 for info in infos if info.get("type") == "file"),
                # An S3 "folder" has no time of its own; one listed without its files is being written now.
                newest_file_seconds=max(changed, default=time.time()),
            )
        )
    return found


def _named_folder(store: ArtifactStore, stage: str, partition: str) -> str | None:
    """The folder the partition's manifest names (None: it has no manifest); _NOT_THE_STORES for a partition the
    store would not have made (not a key), whose folders are not the store's to remove."""
    try:
        manifest = store.read_manifest(stage, None if partition == UNPARTITIONED else partition)
    except ValueError:
        return _NOT_THE_STORES
    return manifest.directory if manifest is not None else None


def _modified_seconds(info: dict) -> float | None:
    """When a listed entry last changed: ``mtime`` locally, ``LastModified`` on S3 (None for an S3 folder)."""
    modified = info.get("mtime") or info.get("LastModified")
    if modified is None:
        return None
    return modified.timestamp() if isinstance(modified, datetime) else float(modified)


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value, unit = size / 1024, "KiB"
    for larger in ("MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{value:.1f} {unit}"
