"""The asset graph every entry point must show: each asset's parents, and which are partitioned."""

EXPECTED_PARENTS = {
    "source_video": [],
    "checkpoint_file": [],
    "model_checkpoint": ["checkpoint_file"],
    "video_frames": ["source_video"],
    "source_audio": ["source_video", "video_frames"],
    "frame_predictions": ["model_checkpoint", "video_frames"],
    "face_tracks": ["frame_predictions", "video_frames"],
    "annotated_frames": ["face_tracks", "video_frames"],
    "output_webm": ["annotated_frames", "source_audio", "video_frames"],
    "mask_summary": ["face_tracks", "video_frames"],
    "videos_mask_summary": ["mask_summary"],
    "detections_export": ["face_tracks", "video_frames"],
}
PARTITIONED_PER_VIDEO = {
    "source_video",
    "video_frames",
    "source_audio",
    "frame_predictions",
    "face_tracks",
    "annotated_frames",
    "output_webm",
    "mask_summary",
    "detections_export",
}
#: Per asset, its checks, run in the asset's own step on every partition.
EXPECTED_CHECKS = {
    "video_frames": {"frame_index_contiguous"},
    "frame_predictions": {"frames_match_video_frames", "detections_valid"},
    "annotated_frames": {"frames_match_video_frames"},
    "output_webm": {"plays_like_source"},
}
