"""What video_frames knows of its source file: its content fingerprint, recorded in the manifest with the change
marker it was taken under, so that an unchanged file is never read again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maskassets.storage.artifact_store import ArtifactStore, StagedArtifact
from maskassets.storage.sources import SourceFingerprint, SourceVideo, fingerprint_source

#: Manifest metadata: the source's content fingerprint and the change marker it was taken under.
SOURCE_FINGERPRINT = "source_fingerprint"
SOURCE_URI = "source_uri"


@dataclass(frozen=True)
class SourceVersion:
    """A source stage's version and the fingerprint of the source it was computed from."""

    version: str
    fingerprint: SourceFingerprint

    def record(self, staged: StagedArtifact, source: SourceVideo) -> None:
        staged.metadata[SOURCE_URI] = source.uri
        staged.metadata[SOURCE_FINGERPRINT] = self.fingerprint.as_dict()


def source_version(
    store: ArtifactStore, stage: str, source: SourceVideo, partition: str, version_of: Callable[[str], str]
) -> SourceVersion:
    """``stage``'s version, ``version_of`` the source's content fingerprint. The fingerprint is the one its stored
    artifact recorded if the file's change marker is still the one it was taken under (nothing is read), else
    computed. A stored artifact of this version that recorded another marker (the same bytes copied or restored)
    learns the new one, so the next run reads nothing either."""
    stored = store.read_manifest(stage, partition)
    known = stored.metadata.get(SOURCE_FINGERPRINT) if stored is not None else None
    fingerprint = fingerprint_source(source.path, [known] if known else [])
    version = version_of(fingerprint.content)
    if (
        stored is not None
        and stored.version == version
        and stored.metadata.get(SOURCE_FINGERPRINT) != (recorded := fingerprint.as_dict())
    ):
        store.update_metadata(stored, {SOURCE_FINGERPRINT: recorded})
    return SourceVersion(version, fingerprint)
