import dagster as dg

#: The whole chain for one video; model_checkpoint rides along and is reused when unchanged.
video_pipeline_job = dg.define_asset_job(
    "video_pipeline",
    selection=dg.AssetSelection.assets(
        "model_checkpoint", "video_frames", "frame_predictions", "annotated_frames", "output_webm"
    ),
    description="Builds (or reuses) every stage for one video partition.",
)
