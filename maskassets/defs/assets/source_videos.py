import dagster as dg

from maskassets.defs.materialization import GROUP
from maskassets.defs.partitions import video_partitions

#: The graph's roots: the video files themselves, one partition each, registered by the sensor.
source_video = dg.AssetSpec(
    "source_video",
    partitions_def=video_partitions,
    group_name=GROUP,
    kinds={"video"},
    description="A video file in the watched folder or S3 prefix (MASKASSETS_VIDEOS); not built here.",
)
