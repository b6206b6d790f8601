import dagster as dg

from maskassets.defs.assets.annotated_frames import annotated_frames
from maskassets.defs.assets.source_audio import source_audio
from maskassets.defs.assets.video_frames import video_frames
from maskassets.defs.checks import PLAYS_LIKE_SOURCE
from maskassets.defs.materialization import materialize_derived, read_inputs
from maskassets.defs.presentation import output_metadata, stored_image
from maskassets.defs.resources import ArtifactStoreResource, EncoderResource, RayClusterResource
from maskassets.defs.video_stage import video_stage_asset
from maskassets.stages import output_webm as stage
from maskassets.stages import source_audio as source_audio_stage
from maskassets.storage.artifact_checks import CheckOutcome, output_plays_like_source
from maskassets.storage.artifact_store import Manifest
from maskassets.storage.schema import FRAMES_TABLE, POSTER_FILE, PTS_SECONDS
from maskassets.storage.sharded_tables import read_table


@video_stage_asset(
    stage,
    deps=[video_frames, annotated_frames, source_audio],
    kinds={"ray", "pyav", "webm"},
    checks=(PLAYS_LIKE_SOURCE,),
    blocking_checks=False,
    description=(
        "The annotated video, browser-playable: WebM (VP8 by default, or VP9) or, with MASKASSETS_CODEC=h264, "
        "an MP4 with its index first (faststart); at the source's frame rate and timestamps, with its sound (Opus "
        "in WebM, AAC in MP4, as source_audio keeps it): annotated_frames' segments and that sound joined by a Ray "
        "task without re-encoding either. Its metadata shows the middle frame as a poster."
    ),
)
def output_webm(
    context: dg.AssetExecutionContext,
    artifacts: ArtifactStoreResource,
    encoder: EncoderResource,
    ray_cluster: RayClusterResource,
) -> dg.MaterializeResult:
    store = artifacts.store()
    annotated, sound, frames = read_inputs(context, store, annotated_frames, source_audio, video_frames)
    settings = encoder.settings()
    stage.require_codec(annotated, settings.codec)
    source_audio_stage.require_ready(sound, settings)
    audio = source_audio_stage.sound_parts(store, sound) if settings.audio else []

    def build(staged):
        ray_cluster.ensure_connected(context, artifacts=artifacts)
        stage.publish_video(store, annotated=annotated, staged=staged, audio=audio, log=context.log.info)

    def describe(manifest: Manifest) -> dict:
        return output_metadata(manifest) | stored_image(store, manifest, POSTER_FILE, alt="poster")

    def check(manifest: Manifest) -> dict[str, CheckOutcome]:
        source_pts = read_table(store, frames, FRAMES_TABLE, columns=[PTS_SECONDS]).column(PTS_SECONDS)
        outcome = output_plays_like_source(
            store, manifest, manifest.metadata["file"], source_pts_seconds=source_pts.to_numpy()
        )
        return {PLAYS_LIKE_SOURCE: outcome}

    return materialize_derived(
        context,
        store,
        stage,
        inputs=(annotated, sound, frames),
        build=build,
        describe=describe,
        check=check,
    )
