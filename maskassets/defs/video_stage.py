"""The declaration every per-video stage shares: one partition per video, the pipeline's group, its stage
module's code version, kept up to date by automation, and the checks it runs on each partition."""

from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.checks import check_specs
from maskassets.defs.materialization import GROUP, Stage
from maskassets.defs.partitions import video_partitions


def video_stage_asset(
    stage: Stage,
    *,
    deps: Sequence[dg.AssetsDefinition | dg.AssetSpec],
    kinds: set[str],
    description: str,
    checks: Sequence[str] = (),
    blocking_checks: bool = True,
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """``dg.asset`` for a stage of each video: ``deps`` are what it reads, ``checks`` the names of its checks
    (``defs/checks.py``)."""
    return dg.asset(
        name=stage.STAGE,
        partitions_def=video_partitions,
        deps=deps,
        group_name=GROUP,
        kinds=kinds,
        code_version=stage.CODE_VERSION,
        automation_condition=keep_up_to_date,
        check_specs=check_specs(stage.STAGE, *checks, blocking=blocking_checks),
        description=description,
    )
