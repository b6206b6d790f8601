import dagster as dg

from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.checks import MATCHES_VIDEO_FRAMES
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.resources import (
    ArtifactStoreResource,
    DetectorResource,
    DrawingResource,
    EncoderResource,
    RayClusterResource,
)
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import annotated_frames as stage
from maskassets.stages import video_frames as frames_stage
from maskassets.storage.artifact_checks import CheckOutcome, segments_cover
from maskassets.storage.artifact_store import Manifest


@video_stage_asset(
    stage,
    deps=[video_frames, face_tracks],
    kinds={"ray", "opencv", "pyav"},
    checks=(MATCHES_VIDEO_FRAMES,),
    description=(
        "The frames with every detection above the threshold drawn: box outline and a 'class #track score' label "
        "on a filled background (with_mask green, without_mask red, mask_weared_incorrect yellow). Parallel Ray "
        "tasks draw runs of frames and encode each into a segment of the output codec that starts on a keyframe; "
        "output_webm joins them."
    ),
)
def annotated_frames(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    detector: DetectorResource,
    drawing: DrawingResource,
    encoder: EncoderResource,
    ray_cluster: RayClusterResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    frames, tracks = read_inputs(context, store, video_frames, face_tracks)

    def build(staged):
        ray_cluster.ensure_connected(context, artifacts=artifacts)
        stage.annotate_frames(
            store,
            frames=frames,
            tracks=tracks,
            drawing=drawing.drawing(detector.class_names),
            encoder=encoder.settings(),
            staged=staged,
            log=context.log.info,
        )

    def check(manifest: Manifest) -> dict[str, CheckOutcome]:
        matches = segments_cover(manifest.segments, frames.metadata["frame_count"], source_stage=frames_stage.STAGE)
        return {MATCHES_VIDEO_FRAMES: matches}

    return materialize_derived(
        context,
        store,
        stage,
        inputs=(frames, tracks),
        build=build,
        check=check,
    )
