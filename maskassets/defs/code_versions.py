"""Per stage, the settings that change what it computes, stated once: they are part of its artifacts' version
(``materialize_derived``, video_frames' provenance) and of its code version, so the UI marks exactly the
partitions a settings change made stale."""

from collections.abc import Callable
from typing import Any

import dagster as dg

from maskassets.defs.settings import recorded_settings
from maskassets.stages.model_checkpoint import detector_shape
from maskassets.storage.versions import fingerprint

#: Per stage, the resources its settings are fields of, each with the fingerprint of those that change its
#: results. Stages missing here depend on no setting.
_SETTINGS: dict[str, tuple[tuple[str, Callable[[Any], str]], ...]] = {
    # Loading depends on the architecture and class count only; the other detector settings decide how it runs.
    "model_checkpoint": (
        ("detector", lambda detector: fingerprint(detector.checkpoint_uri, detector_shape(detector.spec()))),
    ),
    "video_frames": (("videos", lambda videos: videos.frames_fingerprint()),),
    "source_audio": (("encoder", lambda encoder: encoder.stored_sound_fingerprint()),),
    "frame_predictions": (("detector", lambda detector: detector.results_fingerprint()),),
    "face_tracks": (("tracker", lambda tracker: tracker.results_fingerprint()),),
    "annotated_frames": (
        ("drawing", lambda drawing: drawing.results_fingerprint()),
        ("encoder", lambda encoder: encoder.results_fingerprint()),
    ),
    "output_webm": (("encoder", lambda encoder: encoder.sound_fingerprint()),),
    "mask_summary": (("drawing", lambda drawing: drawing.summary_fingerprint()),),
    "detections_export": (("detector", lambda detector: fingerprint(detector.class_names)),),
}


def stage_settings(stage: str, resources: Any) -> str | None:
    """The fingerprint of the settings ``stage`` reads, as ``resources`` (a run's ``context.resources``, or the
    definitions' resolved ones) hold them; None: it reads none."""
    if stage not in _SETTINGS:
        return None
    parts = [results_fingerprint(getattr(resources, key)) for key, results_fingerprint in _SETTINGS[stage]]
    # A stage of one resource keeps that resource's fingerprint, so its stored artifacts keep their versions.
    return parts[0] if len(parts) == 1 else fingerprint(*parts)


def settings_record(stage: str, resources: Any) -> dict[str, dict[str, Any]] | None:
    """The settings ``stage``'s artifact records it was made with: its resources' fields, by resource key."""
    if stage not in _SETTINGS:
        return None
    return {key: recorded_settings(getattr(resources, key), key) for key, _ in _SETTINGS[stage]}


def with_settings_versions(asset: dg.AssetsDefinition, resources: Any) -> dg.AssetsDefinition:
    """``asset`` with the fingerprint of its settings appended to its code version (if it has settings)."""

    def add_settings(spec: dg.AssetSpec) -> dg.AssetSpec:
        extra = stage_settings(spec.key.to_user_string(), resources)
        return spec.replace_attributes(code_version=f"{spec.code_version}+{extra[:12]}") if extra else spec

    return asset.map_asset_specs(add_settings)
