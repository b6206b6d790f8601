"""The sensor that observes the checkpoint at MASKASSETS_CHECKPOINT: when its change marker (ETag, or size and
mtime) differs from the last one seen, it records a new data version of checkpoint_file, which automation
follows by rebuilding model_checkpoint and, if the bytes changed, every video's predictions."""

import dagster as dg

from maskassets.defs.assets.checkpoint_file import UNOBSERVABLE, checkpoint_file
from maskassets.defs.observations import observed_version
from maskassets.defs.resources import DetectorResource
from maskassets.stages.model_checkpoint import checkpoint_marker
from maskassets.storage.redaction import redact_uri


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records a new data version of checkpoint_file when the checkpoint at MASKASSETS_CHECKPOINT "
    "changes (ETag, or size and mtime), so automation rebuilds model_checkpoint and what depends on it.",
)
def checkpoint_sensor(context: dg.SensorEvaluationContext, detector: DetectorResource) -> dg.SensorResult:
    marker = checkpoint_marker(detector.checkpoint_uri) or UNOBSERVABLE
    if marker == context.cursor:
        return dg.SensorResult(cursor=marker)
    context.log.info(f"{redact_uri(detector.checkpoint_uri)} changed: {marker}")
    return dg.SensorResult(asset_events=[observed_version(checkpoint_file.key, marker)], cursor=marker)
