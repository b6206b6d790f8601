"""Code versions that include the settings each stage depends on, so the UI marks exactly the
partitions a settings change made stale."""

import dagster as dg

from maskassets.defs.resources import DetectorResource, DrawingResource, EncoderResource, TrackerResource
from maskassets.stages.model_checkpoint import detector_shape
from maskassets.versions import fingerprint


def settings_fingerprints(
    detector: DetectorResource, tracker: TrackerResource, drawing: DrawingResource, encoder: EncoderResource
) -> dict[str, str]:
    """Per asset name, a fingerprint of the settings its output depends on."""
    return {
        # Loading depends on the architecture and class count only; the other detector settings decide how it runs.
        "model_checkpoint": fingerprint(detector.checkpoint_uri, detector_shape(detector.spec())),
        "frame_predictions": detector.results_fingerprint(),
        "face_tracks": tracker.results_fingerprint(),
        "annotated_frames": drawing.results_fingerprint(),
        "output_webm": encoder.results_fingerprint(),
        "mask_summary": drawing.summary_fingerprint(),
    }


def with_settings_versions(asset: dg.AssetsDefinition, settings: dict[str, str]) -> dg.AssetsDefinition:
    """``asset`` with its settings fingerprint appended to its code version (if it has settings)."""

    def add_settings(spec: dg.AssetSpec) -> dg.AssetSpec:
        extra = settings.get(spec.key.to_user_string())
        return spec.replace_attributes(code_version=f"{spec.code_version}+{extra[:12]}") if extra else spec

    return asset.map_asset_specs(add_settings)
