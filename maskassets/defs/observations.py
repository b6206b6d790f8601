"""Data versions that sensors record for assets built outside Dagster (the videos, the checkpoint file)."""

import dagster as dg

#: The tag under which Dagster stores an observed data version (dagster/data_version in every instance's event
#: log); an observation carrying it is what an observable source asset's own function would have reported.
DATA_VERSION_TAG = "dagster/data_version"


def observed_version(key: dg.AssetKey, version: str, *, partition: str | None = None) -> dg.AssetObservation:
    """An observation of ``key`` (one ``partition`` of it) at data version ``version``."""
    return dg.AssetObservation(key, partition=partition, tags={DATA_VERSION_TAG: version})
