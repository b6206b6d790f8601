"""The declaration every per-video stage shares: one partition per video, the pipeline's group, its stage
module's code version, kept up to date by automation, and the checks it runs on each partition."""

import functools
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg

from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.checks import check_specs
from maskassets.defs.materialization import GROUP, Stage
from maskassets.defs.partitions import video_partitions
from maskassets.defs.settings import variables_named


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
    (``defs/checks.py``); its errors name the variables of the settings they mention."""
    asset = dg.asset(
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

    def declare(compute: Callable[..., Any]) -> dg.AssetsDefinition:
        @functools.wraps(compute)
        def compute_naming_variables(*args: Any, **kwargs: Any) -> Any:
            with variables_named():
                return compute(*args, **kwargs)

        return asset(compute_naming_variables)

    return declare
