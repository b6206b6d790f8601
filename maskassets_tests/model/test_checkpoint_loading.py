"""Checkpoints load only through weights_only=True into the configured detector; anything else is a
clear CheckpointError that names the file and the fix."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import dagster as dg
import pytest
import torch

from maskassets.definitions import build_definitions
from maskassets.model.detector_spec import DetectorSpec
from maskassets.model.loading import CheckpointError, build_detector
from maskassets.stages.model_checkpoint import verify_checkpoint
from maskassets_tests.support.media import TEST_SPEC
from maskassets_tests.support.pipeline_run import step_failure


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _write_text(path: Path) -> None:
    path.write_text("this is not a checkpoint")


def _write_code_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"model": _RunsCode()}))


def _write_two_class_model(path: Path) -> None:
    torch.save(build_detector(DetectorSpec(class_names=("background", "face"), min_size=96)).state_dict(), path)


def _write_other_architecture(path: Path) -> None:
    spec = DetectorSpec(architecture="fasterrcnn_mobilenet_v3_large_320_fpn", min_size=96)
    torch.save(build_detector(spec).state_dict(), path)


def _write_whole_model(path: Path) -> None:
    torch.save(build_detector(TEST_SPEC), path)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_write_text, r"not a loadable PyTorch checkpoint.*torch.save\(model.state_dict\(\), path\)"),
        (_write_code_pickle, r"not a loadable PyTorch checkpoint.*can run arbitrary code"),
        (_write_whole_model, r"not a loadable PyTorch checkpoint"),
        (_write_two_class_model, r"trained for 2 classes but 4 are configured.*set `detector.class_names`"),
        (_write_other_architecture, r"does not fit fasterrcnn_resnet50_fpn.*set `detector.architecture`"),
    ],
)
def test_bad_checkpoints_are_refused_with_the_fix(tmp_path: Path, write, message):
    path = tmp_path / "bad.pth"
    write(path)
    with pytest.raises(CheckpointError, match=message) as raised:
        verify_checkpoint(str(path), TEST_SPEC, name=str(path))
    assert str(path) in str(raised.value)


def test_a_state_dict_wrapped_by_a_training_script_loads(tmp_path: Path):
    path = tmp_path / "wrapped.pth"
    torch.save({"epoch": 3, "model": build_detector(TEST_SPEC).state_dict()}, path)
    verify_checkpoint(str(path), TEST_SPEC, name=str(path))


def _materialize_checkpoint(instance: dg.DagsterInstance) -> tuple[dg.ExecuteInProcessResult, list[str]]:
    defs = build_definitions()
    result = dg.materialize(
        defs.assets, selection="model_checkpoint", resources=defs.resources, instance=instance, raise_on_error=False
    )
    return result, [record.user_message for record in instance.all_logs(result.run_id)]


def test_a_checkpoint_is_loaded_once_per_detector_shape(pipeline_env, dagster_home: Path, monkeypatch):
    with dg.DagsterInstance.get() as instance:
        first, first_logs = _materialize_checkpoint(instance)
        assert first.success
        assert not [line for line in first_logs if "proven to load" in line]

        second, second_logs = _materialize_checkpoint(instance)
        assert second.success
        assert [line for line in second_logs if "proven to load into fasterrcnn_resnet50_fpn, 4 classes" in line]

        monkeypatch.setenv("MASKASSETS_CLASS_NAMES", "background,face")
        third, _ = _materialize_checkpoint(instance)
        assert not third.success
        assert "trained for 4 classes but 2 are configured" in step_failure(third)
