import dagster as dg

from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import detections_export as stage
from maskassets.storage.artifact_store import Manifest


@video_stage_asset(
    stage,
    deps=[video_frames, face_tracks],
    kinds={"json", "csv"},
    description=(
        "Every stored detection of the video with its track id, for other tools: COCO-style JSON (an image per "
        "frame with its frame_index and time, bbox as x, y, width, height, a score and track_id per annotation) "
        "and CSV (a row per detection with frame_index, time, track_id, class and x1, y1, x2, y2). "
        "`maskassets export` writes the same files anywhere."
    ),
)
def detections_export(
    context: dg.AssetExecutionContext, artifacts: ArtifactStoreResource, detector: DetectorResource
) -> dg.MaterializeResult:
    store = artifacts.store()
    frames, tracks = read_inputs(context, store, video_frames, face_tracks)

    def build(staged):
        stage.export_detections(store, frames=frames, tracks=tracks, class_names=detector.class_names, staged=staged)

    def describe(manifest: Manifest) -> dict:
        return {
            f"{export_format}_file": dg.MetadataValue.path(str(store.artifact_path(manifest, file_name)))
            for export_format, file_name in stage.FILES.items()
        }

    return materialize_derived(
        context,
        store,
        stage,
        inputs=(frames, tracks),
        build=build,
        describe=describe,
    )
