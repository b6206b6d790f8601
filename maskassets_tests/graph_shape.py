"""The asset graph every entry point must show: each asset's parents, and which are partitioned."""

EXPECTED_PARENTS = {
    "source_video": [],
    "model_checkpoint": [],
    "video_frames": ["source_video"],
    "frame_predictions": ["model_checkpoint", "video_frames"],
    "annotated_frames": ["frame_predictions"],
    "output_webm": ["annotated_frames"],
}
PARTITIONED_PER_VIDEO = {"source_video", "video_frames", "frame_predictions", "annotated_frames", "output_webm"}
