"""The sensor that turns new (or replaced) files in the videos folder into partitions and runs."""

import json
import time
from dataclasses import dataclass

import dagster as dg

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.jobs import video_pipeline_job
from maskassets.defs.observations import observed_version
from maskassets.defs.partitions import video_partitions
from maskassets.defs.resources import VideoFolderResource
from maskassets.defs.settings import variables_named
from maskassets.storage.arrivals import Look, look_again, looks_from_json, looks_to_json
from maskassets.storage.sources import change_marker


@dg.sensor(
    job=video_pipeline_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Registers each new video in the watched folder as a partition and launches its run once, when the file "
        "has stopped changing; a replaced file gets a new source data version and one more run."
    ),
)
def new_videos_sensor(context: dg.SensorEvaluationContext, videos: VideoFolderResource) -> dg.SensorResult:
    with variables_named():
        scan = videos.folder().scan()
    found = scan.videos
    markers = {key: change_marker(video.path) for key, video in found.items()}
    now = time.time()
    cursor = _read_cursor(context.cursor)
    looks = look_again(cursor.looks, markers, now)
    settled = {key: look.marker for key, look in looks.items() if look.settled(now, videos.settle_seconds)}
    arriving = sorted(looks.keys() - settled.keys())
    if arriving:
        context.log.info(
            f"Still arriving (changed in the last {videos.settle_seconds:g} s, MASKASSETS_SETTLE_SECONDS), "
            f"taken once they stop changing: {arriving}"
        )
    registered = set(context.instance.get_dynamic_partitions(video_partitions.name))
    new_keys = sorted(key for key in settled if key not in registered)
    replaced = sorted(key for key in settled if key in registered and cursor.taken.get(key) not in (None, settled[key]))
    gone = sorted(registered - set(found))
    if gone:
        context.log.info(f"Registered videos no longer in the folder (artifacts kept): {gone}")
    newly_skipped = {name: reason for name, reason in scan.skipped.items() if cursor.skipped.get(name) != reason}
    if newly_skipped:
        context.log.info(
            "Skipped, not videos: " + "; ".join(f"{name}: {reason}" for name, reason in newly_skipped.items())
        )
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=f"{key}@{markers[key]}") for key in new_keys + replaced],
        dynamic_partitions_requests=[video_partitions.build_add_request(new_keys)] if new_keys else [],
        # Lineage for the UI: video_frames records which version of its source it was built from.
        asset_events=[observed_version(source_video.key, markers[key], partition=key) for key in new_keys + replaced],
        cursor=json.dumps(
            {"looks": looks_to_json(looks), "taken": {**cursor.taken, **settled}, "skipped": scan.skipped},
            sort_keys=True,
        ),
    )


@dataclass(frozen=True)
class _Cursor:
    #: The last look at each file found.
    looks: dict[str, Look]
    #: Each settled file's marker when the sensor last took it (or found it registered by another entry point).
    taken: dict[str, str]
    #: The files last reported as skipped, with the reason: each is logged once, and again if it changes.
    skipped: dict[str, str]


def _read_cursor(text: str | None) -> _Cursor:
    data = json.loads(text) if text else {}
    return _Cursor(
        looks=looks_from_json(data.get("looks", {})), taken=data.get("taken", {}), skipped=data.get("skipped", {})
    )
