import dagster as dg

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.resources import (
    ArtifactStoreResource,
    EncoderResource,
    RayClusterResource,
    VideoFolderResource,
)
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import source_audio as stage


@video_stage_asset(
    stage,
    deps=[source_video, video_frames],
    kinds={"ray", "pyav", "matroska"},
    description=(
        "The source's first audio stream, ready for the output video's container and kept in Matroska files: its "
        "packets copied where the container takes the codec (Opus or Vorbis for WebM, AAC or MP3 for MP4), else "
        "encoded once here (Opus in WebM, AAC in MP4), so a published video made again only copies it. Ray tasks "
        "keep its parts (MASKASSETS_SOUND_PART_SECONDS) side by side. Timed from the first video frame as "
        "video_frames' frames are (it reads where their clock starts). A video without sound stores no file "
        "(has_audio: false); with MASKASSETS_AUDIO=drop no sound is read or stored (dropped: true)."
    ),
)
def source_audio(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    videos: VideoFolderResource,
    encoder: EncoderResource,
    ray_cluster: RayClusterResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    (frames,) = read_inputs(context, store, video_frames)
    settings = encoder.settings()

    def build(staged):
        if not settings.audio:
            stage.keep_no_sound(staged)
            return
        ray_cluster.ensure_connected(context, artifacts=artifacts)
        source = videos.folder().resolve(context.partition_key).path
        stage.extract_audio(source, staged, frames=frames, encoder=settings, part_seconds=encoder.sound_part_seconds)

    # video_frames' version stands for the source's content, which is all the sound depends on besides the code
    # and its settings (whether the output keeps sound, and its container; the parts' length only lays it out).
    return materialize_derived(context, store, stage, inputs=(frames,), build=build)
