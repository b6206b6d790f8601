import dagster as dg

from maskassets.defs.assets.model_checkpoint import model_checkpoint
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.checks import DETECTIONS_VALID, MATCHES_VIDEO_FRAMES
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.presentation import predictions_metadata
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource, RayClusterResource
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import frame_predictions as stage
from maskassets.stages import video_frames as frames_stage
from maskassets.storage.artifact_checks import CheckOutcome, detections_are_valid, frame_indices, frames_match
from maskassets.storage.artifact_store import Manifest
from maskassets.storage.schema import FRAMES_TABLE, PREDICTIONS_TABLE


@video_stage_asset(
    stage,
    deps=[video_frames, model_checkpoint],
    kinds={"ray", "pytorch", "parquet"},
    checks=(
        MATCHES_VIDEO_FRAMES,
        DETECTIONS_VALID,
    ),
    description=(
        "Every detection the model returns for every frame (boxes in frame pixels, labels, scores), one row "
        "per frame keyed by frame_index; computed by Ray Data map_batches over an actor pool, on GPU when present."
    ),
)
def frame_predictions(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    detector: DetectorResource,
    ray_cluster: RayClusterResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    frames, checkpoint = read_inputs(context, store, video_frames, model_checkpoint)

    def build(staged):
        ray_cluster.ensure_connected(context, artifacts=artifacts)
        summary = stage.predict_frames(
            store,
            frames=frames,
            checkpoint=checkpoint,
            spec=detector.spec(),
            pool=detector.pool(),
            device=detector.device,
            precision=detector.precision,
            frame_stride=detector.frame_stride,
            layout=artifacts.layout(),
            staged=staged,
            log=context.log.info,
        )
        context.log.info(f"{summary['frame_count']} frames at {summary['frames_per_second']} frames/s")

    def check(manifest: Manifest) -> dict[str, CheckOutcome]:
        matches = frames_match(
            frame_indices(store, manifest, PREDICTIONS_TABLE),
            frame_indices(store, frames, FRAMES_TABLE),
            source_stage=frames_stage.STAGE,
        )
        valid = detections_are_valid(
            store,
            manifest,
            PREDICTIONS_TABLE,
            width=frames.metadata["width"],
            height=frames.metadata["height"],
            class_names=detector.class_names,
        )
        return {MATCHES_VIDEO_FRAMES: matches, DETECTIONS_VALID: valid}

    return materialize_derived(
        context,
        store,
        stage,
        inputs=(frames, checkpoint),
        build=build,
        describe=lambda manifest: predictions_metadata(manifest, detector.class_names),
        check=check,
    )
