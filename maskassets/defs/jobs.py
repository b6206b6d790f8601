import dagster as dg

#: The stages of one video, in the order they run; model_checkpoint rides along and is reused when unchanged.
STAGES = (
    "model_checkpoint",
    "video_frames",
    "source_audio",
    "frame_predictions",
    "face_tracks",
    "annotated_frames",
    "output_webm",
    "mask_summary",
    "detections_export",
)

#: The whole chain for one video.
video_pipeline_job = dg.define_asset_job(
    "video_pipeline",
    selection=dg.AssetSelection.assets(*STAGES),
    description="Builds (or reuses) every stage for one video partition.",
)

#: The table across videos; it has no partitions, so it runs apart from the per-video job.
videos_summary_job = dg.define_asset_job(
    "videos_summary",
    selection=dg.AssetSelection.assets("videos_mask_summary"),
    description="Rebuilds the per-class table of every video from their mask_summary artifacts.",
)
