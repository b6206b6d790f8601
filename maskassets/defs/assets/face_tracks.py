import dagster as dg

from maskassets.defs.assets.frame_predictions import frame_predictions
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource, TrackerResource
from maskassets.stages import face_tracks as stage
from maskassets.stages import frame_predictions as predictions_stage
from maskassets.stages import video_frames as frames_stage
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[video_frames, frame_predictions],
    group_name=GROUP,
    kinds={"parquet"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    description=(
        "Every detection with the id of the face it belongs to, followed frame to frame by a ByteTrack tracker "
        "(Kalman motion model, confident detections matched first, weak ones then carry tracks on), class-blind "
        "so a face that puts its mask on keeps its id; and per track and class when it was seen "
        "(track_spans.parquet), its class being that of most of its detections."
    ),
)
def face_tracks(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    detector: DetectorResource,
    tracker: TrackerResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    frames = store.require_manifest(frames_stage.STAGE, context.partition_key)
    predictions = store.require_manifest(predictions_stage.STAGE, context.partition_key)
    version = fingerprint(
        stage.STAGE, stage.CODE_VERSION, frames.version, predictions.version, tracker.results_fingerprint()
    )

    def build(staged):
        stage.track_faces(
            store,
            frames=frames,
            predictions=predictions,
            settings=tracker.settings(),
            class_names=detector.class_names,
            layout=artifacts.layout(),
            staged=staged,
        )

    return materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key,
        version=version,
        build=build,
    )
