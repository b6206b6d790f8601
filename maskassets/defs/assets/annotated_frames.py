import dagster as dg

from maskassets.artifact_checks import CheckOutcome, frame_indices, frames_match
from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.checks import MATCHES_VIDEO_FRAMES, check_specs
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import (
    ArtifactStoreResource,
    DetectorResource,
    DrawingResource,
    RayClusterResource,
    VideoFolderResource,
)
from maskassets.schema import ANNOTATED_TABLE, FRAMES_TABLE
from maskassets.stages import annotated_frames as stage
from maskassets.stages import face_tracks as tracks_stage
from maskassets.stages import video_frames as frames_stage
from maskassets.storage import Manifest
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[video_frames, face_tracks],
    group_name=GROUP,
    kinds={"ray", "opencv", "parquet"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    check_specs=check_specs(stage.STAGE, MATCHES_VIDEO_FRAMES),
    description=(
        "The frames with every detection above the threshold drawn: box outline and a 'class #track score' label "
        "on a filled background (with_mask green, without_mask red, mask_weared_incorrect yellow)."
    ),
)
def annotated_frames(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    detector: DetectorResource,
    drawing: DrawingResource,
    ray_cluster: RayClusterResource,
    videos: VideoFolderResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    frames = store.require_manifest(frames_stage.STAGE, context.partition_key)
    tracks = store.require_manifest(tracks_stage.STAGE, context.partition_key)
    version = fingerprint(
        stage.STAGE, stage.CODE_VERSION, frames.version, tracks.version, drawing.results_fingerprint()
    )

    def build(staged):
        ray_cluster.ensure_connected(context, artifacts=artifacts)
        stage.annotate_frames(
            store,
            frames=frames,
            tracks=tracks,
            annotator=drawing.annotator(detector.class_names),
            frame_format=videos.image_format(),
            pool=drawing.pool(),
            layout=artifacts.layout(),
            staged=staged,
            log=context.log.info,
        )

    def check(manifest: Manifest) -> dict[str, CheckOutcome]:
        matches = frames_match(
            frame_indices(store, manifest, ANNOTATED_TABLE),
            frame_indices(store, frames, FRAMES_TABLE),
            source_stage=frames_stage.STAGE,
        )
        return {MATCHES_VIDEO_FRAMES: matches}

    return materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key,
        version=version,
        build=build,
        check=check,
    )
