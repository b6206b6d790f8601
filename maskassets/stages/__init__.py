"""The work of each asset, as plain functions over the artifact store (no Dagster here)."""
