"""Per stage, the settings that change what it computes, stated once: they are part of its artifacts' version
(``materialize_derived``, video_frames' provenance) and of its code version, so the UI marks exactly the
partitions a settings change made stale."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from maskassets.stages.model_checkpoint import detector_shape
from maskassets.versions import fingerprint

#: Per stage, a fingerprint of its settings, read from the resources (a run's ``context.resources``, or the
#: definitions' resources by key as attributes). Stages missing here depend on no setting.
_SETTINGS: dict[str, Callable[[Any], str]] = {
    # Loading depends on the architecture and class count only; the other detector settings decide how it runs.
    "model_checkpoint": lambda resources: fingerprint(
        resources.detector.checkpoint_uri, detector_shape(resources.detector.spec())
    ),
    "video_frames": lambda resources: resources.videos.frames_fingerprint(),
    "frame_predictions": lambda resources: resources.detector.results_fingerprint(),
    "face_tracks": lambda resources: resources.tracker.results_fingerprint(),
    "annotated_frames": lambda resources: resources.drawing.results_fingerprint(),
    "output_webm": lambda resources: resources.encoder.results_fingerprint(),
    "mask_summary": lambda resources: resources.drawing.summary_fingerprint(),
    "detections_export": lambda resources: fingerprint(resources.detector.class_names),
}


def stage_settings(stage: str, resources: Any) -> str | None:
    """The fingerprint of the settings ``stage`` reads, as ``resources`` hold them (None: it reads none)."""
    read = _SETTINGS.get(stage)
    return read(resources) if read else None


def with_settings_versions(asset: dg.AssetsDefinition, resources: Any) -> dg.AssetsDefinition:
    """``asset`` with the fingerprint of its settings appended to its code version (if it has settings)."""

    def add_settings(spec: dg.AssetSpec) -> dg.AssetSpec:
        extra = stage_settings(spec.key.to_user_string(), resources)
        return spec.replace_attributes(code_version=f"{spec.code_version}+{extra[:12]}") if extra else spec

    return asset.map_asset_specs(add_settings)
