import dagster as dg

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.resources import ArtifactStoreResource, VideoFolderResource
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import source_audio as stage


@video_stage_asset(
    stage,
    deps=[source_video, video_frames],
    kinds={"pyav", "matroska"},
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
    (frames,) = read_inputs(context, store, video_frames)

    def build(staged):
        stage.extract_audio(videos.folder().resolve(context.partition_key).path, staged, frames=frames)

    # video_frames' version stands for the source's content, which is all the sound depends on besides the code.
    return materialize_derived(context, store, stage, inputs=(frames,), build=build)
