"""The asset graph every entry point must show: each asset's parents, and which are partitioned."""

EXPECTED_PARENTS = {
    "source_video": [],
    "checkpoint_file": [],
    "model_checkpoint": ["checkpoint_file"],
    "video_frames": ["source_video"],
    "frame_predictions": ["model_checkpoint", "video_frames"],
    "annotated_frames": ["frame_predictions", "video_frames"],
    "output_webm": ["annotated_frames", "video_frames"],
    "mask_summary": ["frame_predictions", "video_frames"],
    "videos_mask_summary": ["mask_summary"],
}
PARTITIONED_PER_VIDEO = {
    "source_video",
    "video_frames",
    "frame_predictions",
    "annotated_frames",
    "output_webm",
    "mask_summary",
}
#: Per asset, its checks, run in the asset's own step on every partition.
EXPECTED_CHECKS = {
    "video_frames": {"frame_index_contiguous"},
    "frame_predictions": {"frames_match_video_frames", "detections_valid"},
    "annotated_frames": {"frames_match_video_frames"},
    "output_webm": {"plays_like_source"},
}
