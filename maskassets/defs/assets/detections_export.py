import dagster as dg

from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource
from maskassets.stages import detections_export as stage
from maskassets.stages import face_tracks as tracks_stage
from maskassets.stages import video_frames as frames_stage
from maskassets.storage import Manifest
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[video_frames, face_tracks],
    group_name=GROUP,
    kinds={"json", "csv"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
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
    frames = store.require_manifest(frames_stage.STAGE, context.partition_key)
    tracks = store.require_manifest(tracks_stage.STAGE, context.partition_key)
    version = fingerprint(stage.STAGE, stage.CODE_VERSION, frames.version, tracks.version, detector.class_names)

    def build(staged):
        stage.export_detections(store, frames=frames, tracks=tracks, class_names=detector.class_names, staged=staged)

    def describe(manifest: Manifest) -> dict:
        return {
            f"{export_format}_file": dg.MetadataValue.path(str(store.artifact_path(manifest, file_name)))
            for export_format, file_name in stage.FILES.items()
        }

    return materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key,
        version=version,
        build=build,
        describe=describe,
    )
