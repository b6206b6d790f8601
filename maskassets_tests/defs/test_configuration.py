"""Bad settings are refused when the definitions load (or before a run that overrides them), before any work,
naming the variable or the overridden field."""

from __future__ import annotations

import pytest

from maskassets.definitions import build_definitions
from maskassets.defs.settings import Settings


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MASKASSETS_THRESHOLD": "1.5"}, r"MASKASSETS_THRESHOLD=1.5 \(drawing.threshold\): .*less than or equal to 1"),
        ({"MASKASSETS_THRESHOLD": "-0.1"}, r"MASKASSETS_THRESHOLD=-0.1 .*greater than or equal to 0"),
        ({"MASKASSETS_BATCH_SIZE": "0"}, r"MASKASSETS_BATCH_SIZE=0 \(detector.batch_size\): .*greater than or equal"),
        ({"MASKASSETS_POOL_SIZE": "-2"}, r"MASKASSETS_POOL_SIZE=-2 .*greater than or equal to 0"),
        ({"MASKASSETS_CODEC": "h265"}, r"MASKASSETS_CODEC='h265' \(encoder.codec\): .*'vp8', 'vp9' or 'h264'"),
        ({"MASKASSETS_CODEC": "h264", "MASKASSETS_CRF": "60"}, r"crf 60 is outside 0-51, the range of h264"),
        ({"MASKASSETS_CRF": "2"}, r"crf 2 is outside 4-63, the range of vp8"),
        ({"MASKASSETS_MIN_SIZE": "large"}, r"MASKASSETS_MIN_SIZE='large' is not a valid int"),
        ({"MASKASSETS_STRICT_DECODING": "maybe"}, r"MASKASSETS_STRICT_DECODING='maybe' is not a flag; use 1 or 0"),
        ({"MASKASSETS_CLASS_COLORS": "{red"}, r"MASKASSETS_CLASS_COLORS='\{red' is not JSON"),
        ({"MASKASSETS_ROW_GROUP_MIB": "0"}, r"MASKASSETS_ROW_GROUP_MIB=0.0 \(artifacts.row_group_mib\)"),
        (
            {"MASKASSETS_RAY_ADDRESS": "127.0.0.1:6379", "MASKASSETS_RAY_NUM_CPUS": "2"},
            r"MASKASSETS_RAY_NUM_CPUS sizes a local Ray",
        ),
        ({"MASKASSETS_RAY_CONNECT_WAIT_SECONDS": "-1"}, r"MASKASSETS_RAY_CONNECT_WAIT_SECONDS=-1.0: .*greater than or"),
        ({"MASKASSETS_RAY_CONNECT_WAIT_SECONDS": "soon"}, r"MASKASSETS_RAY_CONNECT_WAIT_SECONDS='soon' is not a valid"),
        (
            {"MASKASSETS_RAY_ADDRESS": "127.0.0.1:6379", "MASKASSETS_RAY_OBJECT_STORE_MB": "4096"},
            r"MASKASSETS_RAY_OBJECT_STORE_MB sizes a local Ray's object store .*`ray start --object-store-memory`",
        ),
        (
            {"MASKASSETS_RAY_OBJECT_STORE_MB": "1024"},
            r"MASKASSETS_RAY_OBJECT_STORE_MB=1024: .*greater than or equal to 2048",
        ),
        ({"MASKASSETS_RAY_OBJECT_STORE_MB": "2GB"}, r"MASKASSETS_RAY_OBJECT_STORE_MB='2GB' is not a valid int"),
        ({"MASKASSETS_PROPOSALS": "0"}, r"MASKASSETS_PROPOSALS=0 \(detector.proposals\): .*greater than or equal to 1"),
        (
            {"MASKASSETS_ARCHITECTURE": "retinanet_resnet50_fpn", "MASKASSETS_PROPOSALS": "300"},
            r"retinanet_resnet50_fpn proposes no regions, .*unset MASKASSETS_PROPOSALS or choose an R-CNN",
        ),
    ],
)
def test_bad_settings_are_refused_when_the_definitions_load(monkeypatch, settings, message):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        build_definitions()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"drawing": {"threshold": 2}}, r"drawing.threshold=2: Input should be less than or equal to 1"),
        ({"drawing": {"thresh": 0.2}}, r"drawing has no setting thresh; its settings are threshold, "),
        ({"painting": {"threshold": 0.2}}, r"No settings named painting; the settings are artifacts, videos, "),
    ],
)
def test_bad_overrides_are_refused_before_a_run(overrides, message):
    with pytest.raises(ValueError, match=message):
        Settings.from_environment().run_config(overrides)


def test_every_variable_sets_its_field(monkeypatch):
    monkeypatch.setenv("MASKASSETS_CLASS_COLORS", '{"with_mask": [1, 2, 3]}')
    monkeypatch.setenv("MASKASSETS_SHOW_LABELS", "0")
    monkeypatch.setenv("MASKASSETS_TRACK_MATCH_IOU", "0.4")
    monkeypatch.setenv("MASKASSETS_BATCH_SIZE", "")
    monkeypatch.setenv("MASKASSETS_RAY_CONNECT_WAIT_SECONDS", "90")
    monkeypatch.setenv("MASKASSETS_RAY_OBJECT_STORE_MB", "3072")
    resources = Settings.from_environment().resolved({"encoder": {"codec": "vp9"}})
    assert resources.drawing.class_colors == {"with_mask": [1, 2, 3]}
    assert resources.drawing.show_labels is False
    assert resources.tracker.match_iou == 0.4
    assert resources.detector.batch_size is None
    assert resources.encoder.codec == "vp9"
    assert resources.ray_cluster.connect_wait_seconds == 90
    assert resources.ray_cluster.local_object_store_mb == 3072
