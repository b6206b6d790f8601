import warnings

import dagster as dg

from maskassets.defs.materialization import GROUP
from maskassets.stages.model_checkpoint import checkpoint_marker

#: The data version of a checkpoint whose source tells no ETag, size or mtime: a change there is seen only when
#: model_checkpoint runs and hashes it.
UNOBSERVABLE = "unobservable"


# Dagster calls observable source assets beta; the warning is for this project, not for each CLI and UI user.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.observable_source_asset(
        group_name=GROUP,
        tags={"dagster/kind/pytorch": ""},
        required_resource_keys={"detector"},
        description=(
            "The checkpoint at MASKASSETS_CHECKPOINT (path, s3:// or https://), not built here: observed by "
            "checkpoint_sensor, its data version is its ETag (or size and mtime), so a checkpoint overwritten at the "
            "same URI makes automation rebuild model_checkpoint and what uses it."
        ),
    )
    def checkpoint_file(context: dg.AssetExecutionContext) -> dg.DataVersion:
        return dg.DataVersion(checkpoint_marker(context.resources.detector.checkpoint_uri) or UNOBSERVABLE)
