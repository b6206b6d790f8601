"""Bad settings are refused when the definitions load, before any work, naming the setting."""

from __future__ import annotations

import pytest

from maskassets.definitions import build_definitions


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"MASKASSETS_THRESHOLD": "1.5"}, r"threshold\n.*less than or equal to 1"),
        ({"MASKASSETS_THRESHOLD": "-0.1"}, r"threshold\n.*greater than or equal to 0"),
        ({"MASKASSETS_BATCH_SIZE": "0"}, r"batch_size\n.*greater than or equal to 1"),
        ({"MASKASSETS_POOL_SIZE": "-2"}, r"pool_size\n.*greater than or equal to 0"),
        ({"MASKASSETS_CODEC": "h265"}, r"codec\n.*'vp8', 'vp9' or 'h264'"),
        ({"MASKASSETS_CODEC": "h264", "MASKASSETS_CRF": "60"}, r"crf 60 is outside 0-51, the range of h264"),
        ({"MASKASSETS_CRF": "2"}, r"crf 2 is outside 4-63, the range of vp8"),
        ({"MASKASSETS_MIN_SIZE": "large"}, r"MASKASSETS_MIN_SIZE='large' is not a valid int"),
        ({"MASKASSETS_STRICT_DECODING": "maybe"}, r"MASKASSETS_STRICT_DECODING='maybe' is not a flag; use 1 or 0"),
        (
            {"MASKASSETS_RAY_ADDRESS": "127.0.0.1:6379", "MASKASSETS_RAY_NUM_CPUS": "2"},
            r"MASKASSETS_RAY_NUM_CPUS sizes a local Ray",
        ),
    ],
)
def test_bad_settings_are_refused_when_the_definitions_load(monkeypatch, settings, message):
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        build_definitions()
