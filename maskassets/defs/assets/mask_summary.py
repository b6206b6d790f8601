import dagster as dg

from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.presentation import stored_image, summary_table
from maskassets.defs.resources import ArtifactStoreResource, DetectorResource, DrawingResource
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import mask_summary as stage
from maskassets.storage.artifact_store import Manifest


@video_stage_asset(
    stage,
    deps=[video_frames, face_tracks],
    kinds={"parquet", "matplotlib"},
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
    frames, tracks = read_inputs(context, store, video_frames, face_tracks)

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
        return {"shown_by_class": summary_table(summary)} | timeline

    return materialize_derived(
        context,
        store,
        stage,
        inputs=(frames, tracks),
        build=build,
        describe=describe,
    )
