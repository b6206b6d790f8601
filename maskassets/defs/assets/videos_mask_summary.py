import dagster as dg

from maskassets.defs.assets.mask_summary import mask_summary
from maskassets.defs.automation import refresh_after_videos_change
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.presentation import summary_table
from maskassets.defs.resources import ArtifactStoreResource
from maskassets.stages import mask_summary as summary_stage
from maskassets.stages import videos_mask_summary as stage
from maskassets.storage import schema
from maskassets.storage.artifact_store import Manifest
from maskassets.storage.parquet_io import read_parquet_table
from maskassets.storage.versions import fingerprint


@dg.asset(
    name=stage.STAGE,
    deps=[mask_summary],
    group_name=GROUP,
    kinds={"parquet"},
    code_version=stage.CODE_VERSION,
    automation_condition=refresh_after_videos_change,
    description=(
        "Every video's mask_summary in one table (one row per video and class), to compare videos and query "
        "across them; videos whose summary is not built yet are listed in its metadata."
    ),
)
def videos_mask_summary(context: dg.AssetExecutionContext, artifacts: ArtifactStoreResource) -> dg.MaterializeResult:
    store = artifacts.store()
    videos = sorted(context.instance.get_dynamic_partitions(video_partitions.name))
    summaries = {video: store.read_manifest(summary_stage.STAGE, video) for video in videos}
    version = fingerprint(
        stage.STAGE, stage.CODE_VERSION, {video: m.version if m else None for video, m in summaries.items()}
    )

    def build(staged):
        stage.combine_summaries(store, summaries=summaries, staged=staged)

    def describe(manifest: Manifest) -> dict:
        table = read_parquet_table(store, store.artifact_path(manifest, schema.VIDEOS_SUMMARY_FILE))
        return {"per_video_and_class": summary_table(table, with_video=True), "dagster/row_count": table.num_rows}

    return materialize_or_reuse(context, store, stage=stage.STAGE, version=version, build=build, describe=describe)
