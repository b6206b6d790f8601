"""Materialize a stage or reuse its stored artifact when the inputs, code and settings it records match."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Protocol

import dagster as dg

from maskassets.defs.checks import check_result
from maskassets.defs.code_versions import settings_record, stage_settings
from maskassets.storage.artifact_checks import CheckOutcome
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.versions import fingerprint

GROUP = "video_pipeline"


def materialize_or_reuse(
    context: dg.AssetExecutionContext,
    store: ArtifactStore,
    *,
    stage: str,
    version: str,
    build: Callable[[StagedArtifact], Any],
    partition: str | None = None,
    describe: Callable[[Manifest], Mapping[str, Any]] | None = None,
    check: Callable[[Manifest], Mapping[str, CheckOutcome]] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dg.MaterializeResult:
    """Return the stored artifact of ``version`` if one is complete, else build and commit it.

    ``version`` is the provenance fingerprint of everything the artifact depends on, and becomes the
    Dagster data version, so downstream stages go stale exactly when it changes. ``describe`` adds the
    metadata people read (previews, tables) and ``check`` the asset's check outcomes, found from the data
    when it is built and stored in its manifest; a reused artifact reports them from there while its files
    are as committed (no table is read again), and is checked afresh when they are not. ``settings``, those the
    artifact is made with, are recorded in its manifest.
    """
    stored = store.read_manifest(stage, partition)
    if stored is not None and stored.version == version and store.is_complete(stored):
        context.log.info(f"{stage} [{partition or 'all'}]: inputs unchanged, reusing {stored.directory}")
        manifest, reused = stored, True
    else:
        with store.commit(stage, partition, version=version) as staged:
            if settings:
                staged.metadata[SETTINGS] = dict(settings)
            build(staged)
            if check:
                staged.metadata[_CHECKS] = {name: asdict(outcome) for name, outcome in check(staged.draft()).items()}
        manifest, reused = store.require_manifest(stage, partition), False
    outcomes = _check_outcomes(store, manifest, check, reused=reused)
    # What people look at first (previews, tables), then what the manifest records.
    metadata: dict[str, Any] = dict(describe(manifest)) if describe else {}
    metadata.update(
        {key: _metadata_value(value) for key, value in manifest.metadata.items() if not key.startswith(INTERNAL)}
    )
    metadata["reused"] = dg.MetadataValue.bool(reused)
    metadata["artifact_version"] = dg.MetadataValue.text(manifest.version)
    metadata["committed_at"] = dg.MetadataValue.text(manifest.created_at)
    return dg.MaterializeResult(
        metadata=metadata,
        data_version=dg.DataVersion(manifest.version),
        check_results=[check_result(name, outcome) for name, outcome in outcomes.items()] or None,
    )


class Stage(Protocol):
    """A stage's plain module (``maskassets.stages.*``): its name and the version of the code that builds it."""

    STAGE: str
    CODE_VERSION: str


def read_inputs(
    context: dg.AssetExecutionContext, store: ArtifactStore, *assets: dg.AssetsDefinition
) -> list[Manifest]:
    """The stored artifacts of ``assets``, which the asset being materialized reads: each must be one of its
    declared dependencies (so the graph shows everything it reads), and is read for this run's video where it
    is per video."""
    declared = set(context.assets_def.dependency_keys)
    manifests = []
    for asset in assets:
        if asset.key not in declared:
            raise dg.DagsterInvariantViolationError(
                f"{context.asset_key.to_user_string()} reads {asset.key.to_user_string()} but does not declare it "
                "as a dependency"
            )
        partition = context.partition_key if asset.partitions_def is not None else None
        manifests.append(store.require_manifest(asset.key.to_user_string(), partition))
    return manifests


def materialize_derived(
    context: dg.AssetExecutionContext,
    store: ArtifactStore,
    stage: Stage,
    *,
    inputs: Sequence[Manifest],
    build: Callable[[StagedArtifact], Any],
    describe: Callable[[Manifest], Mapping[str, Any]] | None = None,
    check: Callable[[Manifest], Mapping[str, CheckOutcome]] | None = None,
) -> dg.MaterializeResult:
    """``materialize_or_reuse`` for a stage built from other stages' artifacts, versioned by the one rule: its code
    version, the settings that change what it computes (``stage_settings``) and the versions of the ``inputs`` it
    reads."""
    settings = stage_settings(stage.STAGE, context.resources)
    return materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key if context.has_partition_key else None,
        version=fingerprint(stage.STAGE, stage.CODE_VERSION, *(manifest.version for manifest in inputs), settings),
        build=build,
        describe=describe,
        check=check,
        settings=settings_record(stage.STAGE, context.resources),
    )


#: Manifest metadata: the settings an artifact was made with, by resource key and field.
SETTINGS = "settings"
#: Manifest metadata whose key starts with this is for the code, not shown in the UI.
INTERNAL = "_"
_CHECKS = "_checks"


def _check_outcomes(
    store: ArtifactStore,
    manifest: Manifest,
    check: Callable[[Manifest], Mapping[str, CheckOutcome]] | None,
    *,
    reused: bool,
) -> dict[str, CheckOutcome]:
    if check is None:
        return {}
    recorded = manifest.metadata.get(_CHECKS)
    if recorded is not None and (not reused or store.is_intact(manifest)):
        return {name: CheckOutcome(**outcome) for name, outcome in recorded.items()}
    return dict(check(manifest))


def _metadata_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dg.MetadataValue.json(dict(value))
    if isinstance(value, str) and value.startswith(("/", "s3://")):
        return dg.MetadataValue.path(value)
    if isinstance(value, (list, tuple)):
        return dg.MetadataValue.json(json.loads(json.dumps(list(value))))
    return value
