"""The one Definitions object that workspace.yaml, `dagster dev` and the CLI load."""

from collections.abc import Mapping

import dagster as dg

from maskassets.defs.assets.annotated_frames import annotated_frames
from maskassets.defs.assets.checkpoint_file import checkpoint_file
from maskassets.defs.assets.detections_export import detections_export
from maskassets.defs.assets.face_tracks import face_tracks
from maskassets.defs.assets.frame_predictions import frame_predictions
from maskassets.defs.assets.mask_summary import mask_summary
from maskassets.defs.assets.model_checkpoint import model_checkpoint
from maskassets.defs.assets.output_webm import output_webm
from maskassets.defs.assets.source_audio import source_audio
from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.assets.videos_mask_summary import videos_mask_summary
from maskassets.defs.automation import automation_sensor
from maskassets.defs.checkpoint_sensor import checkpoint_sensor
from maskassets.defs.code_versions import with_settings_versions
from maskassets.defs.garbage_collection import artifact_gc, artifact_gc_schedule
from maskassets.defs.jobs import video_pipeline_job, videos_summary_job
from maskassets.defs.sensors import new_videos_sensor
from maskassets.defs.settings import Settings

BUILT_ASSETS = [
    model_checkpoint,
    video_frames,
    source_audio,
    frame_predictions,
    face_tracks,
    annotated_frames,
    output_webm,
    mask_summary,
    detections_export,
    videos_mask_summary,
]


def build_definitions(
    settings: Settings | None = None, loggers: Mapping[str, dg.LoggerDefinition] | None = None
) -> dg.Definitions:
    """The definitions under ``settings`` (by default the MASKASSETS_* variables set right now), which a run's
    config may override field by field; ``loggers`` replace Dagster's console logger in every job."""
    settings = settings or Settings.from_environment()
    defaults = settings.resolved()
    return dg.Definitions(
        assets=[source_video, checkpoint_file, *(with_settings_versions(asset, defaults) for asset in BUILT_ASSETS)],
        jobs=[video_pipeline_job, videos_summary_job, artifact_gc],
        schedules=[artifact_gc_schedule],
        sensors=[new_videos_sensor, checkpoint_sensor, automation_sensor],
        resources=settings.for_definitions(),
        # Ray spreads each stage's work; a subprocess per step would only add an import of torch and a
        # Ray connection per stage (seconds each) and leave Ray processes behind every step.
        executor=dg.in_process_executor,
        loggers=loggers,
    )


defs = build_definitions()
