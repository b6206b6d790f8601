"""What the stages built straight from a source file know of it: its content fingerprint, recorded in their
manifests with the change marker it was taken under, so that an unchanged file is never read again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from maskassets.sources import SourceFingerprint, SourceVideo, fingerprint_source
from maskassets.stages import source_audio, video_frames
from maskassets.storage import ArtifactStore, StagedArtifact

#: Manifest metadata: the source's content fingerprint and the change marker it was taken under.
SOURCE_FINGERPRINT = "source_fingerprint"
SOURCE_URI = "source_uri"
#: The stages built from the source file itself; each records what it learnt of it for the others.
SOURCE_STAGES = (video_frames.STAGE, source_audio.STAGE)


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
    """``stage``'s version, ``version_of`` the source's content fingerprint. The fingerprint is taken from
    whichever source stage recorded it under the file's current change marker (nothing is read), else computed.
    A stored artifact of this version that recorded another marker (the same bytes copied or restored) learns
    the new one, so the next run reads nothing either."""
    manifests = {name: store.read_manifest(name, partition) for name in SOURCE_STAGES}
    known = [manifest.metadata.get(SOURCE_FINGERPRINT) for manifest in manifests.values() if manifest is not None]
    fingerprint = fingerprint_source(source.path, [record for record in known if record])
    version = version_of(fingerprint.content)
    stored = manifests[stage]
    if (
        stored is not None
        and stored.version == version
        and stored.metadata.get(SOURCE_FINGERPRINT) != (recorded := fingerprint.as_dict())
    ):
        store.update_metadata(stored, {SOURCE_FINGERPRINT: recorded})
    return SourceVersion(version, fingerprint)
