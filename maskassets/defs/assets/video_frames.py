import dagster as dg

from maskassets.artifact_checks import CheckOutcome, frame_indices, frames_are_contiguous
from maskassets.defs.assets.source_videos import source_video
from maskassets.defs.automation import keep_up_to_date
from maskassets.defs.checks import FRAMES_CONTIGUOUS, check_specs
from maskassets.defs.materialization import GROUP, materialize_or_reuse
from maskassets.defs.partitions import video_partitions
from maskassets.defs.presentation import frames_metadata, stored_image
from maskassets.defs.resources import ArtifactStoreResource, RayClusterResource, VideoFolderResource
from maskassets.schema import FRAMES_TABLE
from maskassets.sources import fingerprint_source
from maskassets.stages import video_frames as stage
from maskassets.storage import Manifest
from maskassets.versions import fingerprint

#: Manifest metadata: the source's content fingerprint and the change marker it was taken under.
SOURCE_FINGERPRINT = "source_fingerprint"


@dg.asset(
    name=stage.STAGE,
    partitions_def=video_partitions,
    deps=[source_video],
    group_name=GROUP,
    kinds={"ray", "pyav", "parquet"},
    code_version=stage.CODE_VERSION,
    automation_condition=keep_up_to_date,
    check_specs=check_specs(stage.STAGE, FRAMES_CONTIGUOUS),
    description=(
        "Every decoded frame of the video, upright, as JPEG (or lossless PNG) in parquet shards, with frame_index, "
        "presentation time, width and height; cut at keyframes and decoded by parallel Ray tasks (PyAV), each "
        "writing its own shards. Packets that cannot be decoded "
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
    stored = store.read_manifest(stage.STAGE, context.partition_key)
    source_fingerprint = fingerprint_source(source.path, stored.metadata.get(SOURCE_FINGERPRINT) if stored else None)
    version = fingerprint(stage.STAGE, stage.CODE_VERSION, source_fingerprint.content, videos.frames_fingerprint())
    if (
        stored is not None
        and stored.version == version
        and stored.metadata.get(SOURCE_FINGERPRINT) != (recorded := source_fingerprint.as_dict())
    ):
        # The same bytes under a new marker (a copy or a restore): the next run knows them without reading them.
        store.update_metadata(stored, {SOURCE_FINGERPRINT: recorded})

    def build(staged):
        ray_cluster.ensure_connected(context, artifacts=artifacts, videos=videos)
        staged.metadata["source_uri"] = source.uri
        staged.metadata[SOURCE_FINGERPRINT] = source_fingerprint.as_dict()
        settings = videos.decode_settings(artifacts.layout())
        stage.extract_frames(store, source.path, staged, settings=settings, log=context.log.info)

    def describe(manifest: Manifest) -> dict:
        contact_sheet = stored_image(store, manifest, stage.CONTACT_SHEET_FILE, alt="contact_sheet")
        return frames_metadata(manifest) | contact_sheet

    def check(manifest: Manifest) -> dict[str, CheckOutcome]:
        return {FRAMES_CONTIGUOUS: frames_are_contiguous(frame_indices(store, manifest, FRAMES_TABLE))}

    result = materialize_or_reuse(
        context,
        store,
        stage=stage.STAGE,
        partition=context.partition_key,
        version=version,
        build=build,
        describe=describe,
        check=check,
    )
    if videos.strict_decoding:
        stage.refuse_damaged(store.require_manifest(stage.STAGE, context.partition_key), source.path)
    return result
