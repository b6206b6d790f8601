"""Dagster definitions: partitions, resources, assets, sensors and jobs. Everything they call lives
in the plain modules of the package."""
