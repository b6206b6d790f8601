import os
import tempfile

import dagster as dg

from maskassets.defs.assets.checkpoint_file import checkpoint_file
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource
from maskassets.defs.settings import variables_named
from maskassets.stages import model_checkpoint as stage
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.redaction import redact_uri


@dg.asset(
    name=stage.STAGE,
    group_name=GROUP,
    kinds={"pytorch"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    deps=[checkpoint_file],
    description=(
        "The detector checkpoint, copied from `detector.checkpoint_uri` (MASKASSETS_CHECKPOINT: a path, s3:// or "
        "https:// URI) into the "
        "artifact store and proven to load into the configured architecture; its data version is its sha256."
    ),
)
def model_checkpoint(
    context: dg.AssetExecutionContext, artifacts: ArtifactStoreResource, detector: DetectorResource
) -> dg.MaterializeResult:
    with variables_named():
        return _materialize(context, artifacts.store(), detector)


def _materialize(
    context: dg.AssetExecutionContext, store: ArtifactStore, detector: DetectorResource
) -> dg.MaterializeResult:
    uri, spec = detector.checkpoint_uri, detector.spec()
    shown_uri = redact_uri(uri)
    stored = store.read_manifest(stage.STAGE)
    marker = stage.checkpoint_marker(uri)
    with tempfile.TemporaryDirectory(prefix="maskassets-checkpoint-") as scratch:
        local_path = os.path.join(scratch, schema.CHECKPOINT_FILE)

        def fetch() -> tuple[str, int]:
            sha256, size = stage.download_checkpoint(uri, local_path)
            if stage.already_proven(stored, sha256, spec):
                context.log.info(
                    f"{shown_uri} is the stored checkpoint, proven to load into {stage.detector_shape(spec)}"
                )
            else:
                stage.verify_checkpoint(local_path, spec, name=shown_uri)
            return sha256, size

        if stage.unchanged_at_source(stored, uri, marker, spec):
            shape = stage.detector_shape(spec)
            context.log.info(f"{shown_uri} is unchanged since it was stored ({marker}), proven to load into {shape}")
            fetched, version = None, stored.version
        else:
            fetched = fetch()
            version = fetched[0]

        def build(staged):
            sha256, size = fetched or fetch()
            stage.store_checkpoint(local_path, staged)
            staged.metadata.update(
                {
                    "source_uri": shown_uri,
                    stage.SOURCE_MARKER: marker,
                    "sha256": sha256,
                    "bytes": size,
                    stage.LOADS_INTO: stage.detector_shape(spec),
                }
            )

        return materialize_or_reuse(context, store, stage=stage.STAGE, version=version, build=build)
