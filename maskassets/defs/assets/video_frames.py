import dagster as dg

from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.checks import FRAMES_CONTIGUOUS
from maskassets.defs.code_versions import settings_record, stage_settings
from maskassets.defs.materialization import materialize_or_reuse
from maskassets.defs.presentation import frames_metadata, stored_image
from maskassets.defs.resources import ArtifactStoreResource, RayClusterResource, VideoFolderResource
from maskassets.defs.source_provenance import source_version
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import video_frames as stage
from maskassets.storage.artifact_checks import CheckOutcome, frame_indices, frames_are_contiguous, segments_cover
from maskassets.storage.artifact_store import Manifest
from maskassets.storage.schema import FRAMES_TABLE
from maskassets.storage.versions import fingerprint


@video_stage_asset(
    stage,
    deps=[source_video],
    kinds={"ray", "pyav", "parquet"},
    checks=(FRAMES_CONTIGUOUS,),
    description=(
        "Every decoded frame of the video, upright, as JPEG (or lossless PNG) in parquet shards, with frame_index, "
        "presentation time, width and height, or (frame format `source`) those columns and a copy of the "
        "source's packets per segment that decodes to the frames; cut at keyframes and decoded by parallel Ray "
        "tasks (PyAV), each writing its own shards. Packets that cannot be decoded "
        "are skipped and counted (packets_lost) unless strict decoding is on. Its metadata shows a contact "
        "sheet of evenly spaced frames."
    ),
)
def video_frames(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    videos: VideoFolderResource,
    ray_cluster: RayClusterResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    source = videos.folder().resolve(context.partition_key)
    provenance = source_version(
        store,
        stage.STAGE,
        source,
        context.partition_key,
        lambda content: fingerprint(
            stage.STAGE, stage.CODE_VERSION, content, stage_settings(stage.STAGE, context.resources)
        ),
    )

    def build(staged):
        ray_cluster.ensure_connected(context, artifacts=artifacts, videos=videos)
        provenance.record(staged, source)
        settings = videos.decode_settings(artifacts.layout())
        stage.extract_frames(store, source.path, staged, settings=settings, log=context.log.info)

    def describe(manifest: Manifest) -> dict:
        contact_sheet = stored_image(store, manifest, stage.CONTACT_SHEET_FILE, alt="contact_sheet")
        return frames_metadata(manifest) | contact_sheet

    def check(manifest: Manifest) -> dict[str, CheckOutcome]:
        indices = frame_indices(store, manifest, FRAMES_TABLE)
        outcome = frames_are_contiguous(indices)
        if outcome.passed and manifest.segments:
            # Frames kept as the source's packets: the copies must hold the table's frames, in order.
            outcome = segments_cover(manifest.segments, len(indices), source_stage="the frames table")
        return {FRAMES_CONTIGUOUS: outcome}

    result = materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key,
        version=provenance.version,
        build=build,
        describe=describe,
        check=check,
        settings=settings_record(stage.STAGE, context.resources),
    )
    if videos.strict_decoding:
        stage.refuse_damaged(store.require_manifest(stage.STAGE, context.partition_key), source.path)
    return result
