"""The sensor that turns new (or replaced) files in the videos folder into partitions and runs."""

import json

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.jobs import video_pipeline_job
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import VideoFolderResource
from maskassets.sources import change_marker


@dg.sensor(
    job=video_pipeline_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Registers each new video in the watched folder as a partition and launches its run once; a replaced "
        "file gets a new source data version and one more run."
    ),
)
def new_videos_sensor(context: dg.SensorEvaluationContext, videos: VideoFolderResource) -> dg.SensorResult:
    found = videos.folder().list_videos()
    markers = {key: change_marker(video.path) for key, video in found.items()}
    previous = json.loads(context.cursor) if context.cursor else {}
    registered = set(context.instance.get_dynamic_partitions(video_partitions.name))
    new_keys = sorted(key for key in found if key not in registered)
    replaced = sorted(key for key in found if key in registered and previous.get(key) not in (None, markers[key]))
    gone = sorted(registered - set(found))
    if gone:
        context.log.info(f"Registered videos no longer in the folder (artifacts kept): {gone}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=f"{key}@{markers[key]}") for key in new_keys + replaced],
        dynamic_partitions_requests=[video_partitions.build_add_request(new_keys)] if new_keys else [],
        # Lineage for the UI: video_frames records which version of its source it was built from.
        asset_events=[
            dg.AssetObservation(source_video.key, partition=key, tags={DATA_VERSION_TAG: markers[key]})
            for key in new_keys + replaced
        ],
        cursor=json.dumps(markers, sort_keys=True),
    )
