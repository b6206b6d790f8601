import dagster as dg

from maskassets.defs.assets.annotated_frames import annotated_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import ArtifactStoreResource, EncoderResource
from maskassets.stages import annotated_frames as annotated_stage
from maskassets.stages import output_webm as stage
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[annotated_frames],
    group_name=GROUP,
    kinds={"pyav", "webm"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    description=(
        "The annotated video as a browser-playable WebM (VP8 by default, or VP9) at the source's frame rate "
        "and timestamps, encoded while streaming the annotated frames in order."
    ),
)
def output_webm(
    context: dg.AssetExecutionContext, artifacts: ArtifactStoreResource, encoder: EncoderResource
) -> dg.MaterializeResult:
    store = artifacts.store()
    annotated = store.require_manifest(annotated_stage.STAGE, context.partition_key)
    version = fingerprint(stage.STAGE, stage.CODE_VERSION, annotated.version, encoder.results_fingerprint())

    def build(staged):
        stage.encode_webm(store, annotated=annotated, encoder=encoder.settings(), staged=staged)

    return materialize_or_reuse(
        context, store, stage=stage.STAGE, partition=context.partition_key, version=version, build=build
    )
