import dagster as dg

from maskassets.defs.assets.model_checkpoint import model_checkpoint
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource, RayClusterResource
from maskassets.stages import frame_predictions as stage
from maskassets.stages import model_checkpoint as checkpoint_stage
from maskassets.stages import video_frames as frames_stage
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[video_frames, model_checkpoint],
    group_name=GROUP,
    kinds={"ray", "pytorch", "parquet"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
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
    frames = store.require_manifest(frames_stage.STAGE, context.partition_key)
    checkpoint = store.require_manifest(checkpoint_stage.STAGE)
    version = fingerprint(
        stage.STAGE, stage.CODE_VERSION, frames.version, checkpoint.version, detector.results_fingerprint()
    )

    def build(staged):
        ray_cluster.ensure_connected(context)
        summary = stage.predict_frames(
            store,
            frames=frames,
            checkpoint=checkpoint,
            spec=detector.spec(),
            pool=detector.pool(),
            device=detector.device,
            staged=staged,
        )
        context.log.info(f"{summary['frame_count']} frames at {summary['frames_per_second']} frames/s")

    return materialize_or_reuse(
        context, store, stage=stage.STAGE, partition=context.partition_key, version=version, build=build
    )
