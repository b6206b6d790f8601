import dagster as dg

from maskassets.defs.assets.frame_predictions import frame_predictions
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource, TrackerResource
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import face_tracks as stage


@video_stage_asset(
    stage,
    deps=[video_frames, frame_predictions],
    kinds={"parquet"},
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
    frames, predictions = read_inputs(context, store, video_frames, frame_predictions)

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

    return materialize_derived(
        context,
        store,
        stage,
        inputs=(frames, predictions),
        build=build,
    )
