"""Draw the tracked detections on the stored frames with Ray Data, joined by frame_index."""

from __future__ import annotations

from collections.abc import Callable

from maskassets.batch.datasource import FrameTableDatasource, TableRef
from maskassets.batch.drawing_actor import FrameAnnotatorBatch
from maskassets.batch.progress import ProgressLog
from maskassets.batch.runner import ActorPoolSettings, ShardTarget, map_frame_table
from maskassets.detection.box_drawing import BoxAnnotator
from maskassets.media.frame_codec import FrameFormat
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest, StagedArtifact
from maskassets.storage.schema import FRAMES_TABLE, TRACKS_TABLE
from maskassets.storage.sharded_tables import ShardLayout, check_contiguous

STAGE = "annotated_frames"
CODE_VERSION = "4"


def annotate_frames(
    store: ArtifactStore,
    *,
    frames: Manifest,
    tracks: Manifest,
    annotator: BoxAnnotator,
    threshold: float,
    frame_format: FrameFormat,
    pool: ActorPoolSettings,
    layout: ShardLayout,
    staged: StagedArtifact,
    log: Callable[[str], None] | None = None,
) -> dict:
    progress = ProgressLog(task=STAGE, total=frames.metadata["frame_count"], log=log)
    mapped = map_frame_table(
        store=store,
        source=FrameTableDatasource(
            store,
            TableRef(frames, FRAMES_TABLE, tuple(schema.VIDEO_FRAMES_SCHEMA.names)),
            joined=TableRef(
                tracks, TRACKS_TABLE, (schema.BOXES, schema.LABELS, schema.SCORES, schema.TRACK_IDS, schema.TRAILS)
            ),
        ),
        target=ShardTarget(
            store=store,
            directory=staged.directory,
            table=schema.ANNOTATED_TABLE,
            table_schema=schema.ANNOTATED_FRAMES_SCHEMA,
            layout=layout,
            rows_per_shard=rows_per_shard(frames, layout),
        ),
        batch_class=FrameAnnotatorBatch,
        constructor_kwargs={"annotator": annotator, "threshold": threshold, "frame_format": frame_format},
        pool=pool,
        progress=progress,
    )
    staged.add_table(schema.ANNOTATED_TABLE, [shard.as_dict() for shard in mapped.shards])
    summary = {
        "frame_count": check_contiguous(mapped.shards, table=schema.ANNOTATED_TABLE),
        "threshold": threshold,
        "stored_bytes": sum(shard.bytes for shard in mapped.shards),
        "ray_nodes": sorted(mapped.nodes),
        # The encoder needs the source's geometry and rate; carrying them here keeps it reading one stage.
        **{key: frames.metadata[key] for key in ("fps", "frame_rate", "width", "height")},
    }
    staged.metadata.update(summary)
    return summary


def rows_per_shard(frames: Manifest, layout: ShardLayout) -> int:
    """Frames per written shard: about half the shard bound, at the stored frames' mean size."""
    mean_frame_bytes = max(1, frames.metadata["stored_bytes"] // max(1, frames.metadata["frame_count"]))
    return max(1, layout.max_shard_bytes // 2 // mean_frame_bytes)
