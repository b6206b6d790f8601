import dagster as dg

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import ArtifactStoreResource, VideoFolderResource
from maskassets.sources import content_fingerprint
from maskassets.stages import video_frames as stage
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[source_video],
    group_name=GROUP,
    kinds={"pyav", "parquet"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    description=(
        "Every decoded frame of the video, upright, as lossless PNG in parquet, with frame_index, presentation "
        "time, width and height; decoded with PyAV one row group at a time. Packets that cannot be decoded "
        "are skipped and counted (packets_lost) unless strict decoding is on."
    ),
)
def video_frames(
    context: dg.AssetExecutionContext, artifacts: ArtifactStoreResource, videos: VideoFolderResource
) -> dg.MaterializeResult:
    store = artifacts.store()
    source = videos.folder().resolve(context.partition_key)
    version = fingerprint(stage.STAGE, stage.CODE_VERSION, content_fingerprint(source.path))

    def build(staged):
        staged.metadata["source_uri"] = source.uri
        stage.extract_frames(store, source.path, staged, strict=videos.strict_decoding)

    result = materialize_or_reuse(
        context, store, stage=stage.STAGE, partition=context.partition_key, version=version, build=build
    )
    if videos.strict_decoding:
        stage.refuse_damaged(store.require_manifest(stage.STAGE, context.partition_key), source.path)
    return result
