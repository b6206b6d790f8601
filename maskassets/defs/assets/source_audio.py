import dagster as dg

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import ArtifactStoreResource, VideoFolderResource
from maskassets.defs.source_provenance import source_version
from maskassets.stages import source_audio as stage
from maskassets.stages import video_frames as frames_stage
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[source_video, video_frames],
    group_name=GROUP,
    kinds={"pyav", "matroska"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    description=(
        "The source's first audio stream, kept for the output video: its packets copied into a Matroska file "
        "(FLAC where Matroska cannot hold the codec), timed from the first video frame as video_frames' frames "
        "are (it reads where their clock starts). A video without sound stores no file (has_audio: false)."
    ),
)
def source_audio(
    context: dg.AssetExecutionContext, artifacts: ArtifactStoreResource, videos: VideoFolderResource
) -> dg.MaterializeResult:
    store = artifacts.store()
    source = videos.folder().resolve(context.partition_key)
    frames = store.require_manifest(frames_stage.STAGE, context.partition_key)
    provenance = source_version(
        store,
        stage.STAGE,
        source,
        context.partition_key,
        lambda content: fingerprint(stage.STAGE, stage.CODE_VERSION, content),
    )

    def build(staged):
        provenance.record(staged, source)
        stage.extract_audio(source.path, staged, frames=frames)

    return materialize_or_reuse(
        context, store, stage=stage.STAGE, partition=context.partition_key, version=provenance.version, build=build
    )
