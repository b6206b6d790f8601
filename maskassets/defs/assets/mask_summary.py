import dagster as dg

from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.presentation import stored_image, summary_table
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource, DrawingResource
from maskassets.stages import face_tracks as tracks_stage
from maskassets.stages import mask_summary as stage
from maskassets.stages import video_frames as frames_stage
from maskassets.storage import Manifest
from maskassets.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[video_frames, face_tracks],
    group_name=GROUP,
    kinds={"parquet", "matplotlib"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    description=(
        "Per object class, the frames it appears in (scored above the drawing threshold, as the video shows it), "
        "their share of the video and the first and last time seen, and its distinct faces (face_tracks whose "
        "detections are mostly of the class) with their total and median seconds on screen; a per-frame timeline "
        "table and its plot."
    ),
)
def mask_summary(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    detector: DetectorResource,
    drawing: DrawingResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    frames = store.require_manifest(frames_stage.STAGE, context.partition_key)
    tracks = store.require_manifest(tracks_stage.STAGE, context.partition_key)
    version = fingerprint(
        stage.STAGE, stage.CODE_VERSION, frames.version, tracks.version, drawing.summary_fingerprint()
    )

    def build(staged):
        stage.summarize_video(
            store,
            frames=frames,
            tracks=tracks,
            class_names=detector.class_names,
            threshold=drawing.threshold,
            class_colors=drawing.class_colors,
            staged=staged,
        )

    def describe(manifest: Manifest) -> dict:
        summary = stage.stored_class_summary(manifest)
        timeline = stored_image(store, manifest, stage.TIMELINE_PLOT_FILE, alt="timeline")
        return {"per_class": summary_table(summary)} | timeline

    return materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key,
        version=version,
        build=build,
        describe=describe,
    )
