import dagster as dg

#: The whole chain for one video; model_checkpoint rides along and is reused when unchanged.
video_pipeline_job = dg.define_asset_job(
    "video_pipeline",
    selection=dg.AssetSelection.assets(
        "model_checkpoint", "video_frames", "frame_predictions", "annotated_frames", "output_webm", "mask_summary"
    ),
    description="Builds (or reuses) every stage for one video partition.",
)

#: The table across videos; it has no partitions, so it runs apart from the per-video job.
videos_summary_job = dg.define_asset_job(
    "videos_summary",
    selection=dg.AssetSelection.assets("videos_mask_summary"),
    description="Rebuilds the per-class table of every video from their mask_summary artifacts.",
)
