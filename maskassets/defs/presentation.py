"""The metadata people read in the Dagster UI: previews shown inline, per-class tables, sizes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import pyarrow as pa

from maskassets.detection.detections import detected_classes
from maskassets.media.previews import markdown_image
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest

_CLASS_TABLE_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("class", "string"),
        dg.TableColumn("detections", "int"),
        dg.TableColumn("frames_with_class", "int"),
        dg.TableColumn("share_of_frames", "float"),
    ]
)


def stored_image(store: ArtifactStore, manifest: Manifest, file_name: str, *, alt: str) -> dict[str, Any]:
    """``{alt: image}`` when the artifact holds the image; artifacts made before it existed hold none."""
    if file_name not in manifest.files:
        return {}
    mime_type = "image/png" if file_name.endswith(".png") else "image/jpeg"
    image = store.artifact_path(manifest, file_name).read_bytes()
    return {alt: dg.MetadataValue.md(markdown_image(image, alt=alt, mime_type=mime_type))}


def frames_metadata(manifest: Manifest) -> dict[str, Any]:
    meta = manifest.metadata
    return {
        "resolution": dg.MetadataValue.text(f"{meta['width']}x{meta['height']}"),
        "dagster/row_count": dg.MetadataValue.int(meta["frame_count"]),
    }


def predictions_metadata(manifest: Manifest, class_names: Sequence[str]) -> dict[str, Any]:
    """Per object class: the stored detections (every score the model returned) and the frames holding one."""
    meta = manifest.metadata
    frame_count = meta["frame_count"]
    detections, frames_with = meta.get("detections_per_class", {}), meta.get("frames_with_class", {})
    records = [
        dg.TableRecord(
            {
                "class": name,
                "detections": detections.get(name, 0),
                "frames_with_class": frames_with.get(name, 0),
                "share_of_frames": round(frames_with.get(name, 0) / frame_count, 4) if frame_count else 0.0,
            }
        )
        for name in [*(name for _, name in detected_classes(class_names)), *sorted(set(detections) - set(class_names))]
    ]
    return {
        "stored_detections_by_class": dg.MetadataValue.table(records, schema=_CLASS_TABLE_SCHEMA),
        "dagster/row_count": dg.MetadataValue.int(frame_count),
    }


def output_metadata(manifest: Manifest) -> dict[str, Any]:
    meta = manifest.metadata
    return {"size_mib": dg.MetadataValue.float(round(meta["bytes"] / 2**20, 3))}


def summary_table(table: pa.Table, *, with_video: bool = False) -> dg.MetadataValue:
    """A mask_summary table (one video's, or every video's) as a table the UI renders."""
    columns = ([schema.VIDEO] if with_video else []) + [
        schema.CLASS_NAME,
        schema.FRAMES_WITH_CLASS,
        schema.SHARE_OF_FRAMES,
        schema.DETECTIONS,
        schema.FIRST_SEEN_SECONDS,
        schema.LAST_SEEN_SECONDS,
        schema.DISTINCT_TRACKS,
        schema.TRACK_SECONDS_TOTAL,
        schema.TRACK_SECONDS_MEDIAN,
    ]
    types = {
        schema.SHARE_OF_FRAMES: "float",
        schema.FRAMES_WITH_CLASS: "int",
        schema.DETECTIONS: "int",
        schema.DISTINCT_TRACKS: "int",
    }
    records = [
        dg.TableRecord({name: _shown(row[name]) for name in columns}) for row in table.select(columns).to_pylist()
    ]
    return dg.MetadataValue.table(
        records, schema=dg.TableSchema(columns=[dg.TableColumn(name, types.get(name, "string")) for name in columns])
    )


def _shown(value: Any) -> Any:
    """Table cells for people; a class never seen has no first or last time (every record needs each field)."""
    if value is None:
        return "never"
    return round(value, 4) if isinstance(value, float) else value
