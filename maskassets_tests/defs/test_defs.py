"""The definitions load (also through workspace.yaml) and hold the graph, partitions, job and sensor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg

from maskassets.definitions import defs
from maskassets_tests.support.commands import REPO_ROOT
from maskassets_tests.support.graph_shape import EXPECTED_CHECKS, EXPECTED_PARENTS, PARTITIONED_PER_VIDEO


def test_workspace_yaml_loads_the_definitions(dagster_home: Path):
    completed = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_graph_runs_from_source_videos_and_the_checkpoint_to_the_webm():
    graph = defs.resolve_asset_graph()
    parents = {
        key.to_user_string(): sorted(parent.to_user_string() for parent in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
    }
    assert parents == EXPECTED_PARENTS


def test_every_video_stage_is_partitioned_per_video_and_the_checkpoint_is_not():
    graph = defs.resolve_asset_graph()
    for name in PARTITIONED_PER_VIDEO:
        partitions = graph.get(dg.AssetKey(name)).partitions_def
        assert isinstance(partitions, dg.DynamicPartitionsDefinition) and partitions.name == "videos"
    assert graph.get(dg.AssetKey("model_checkpoint")).partitions_def is None
    assert graph.get(dg.AssetKey("videos_mask_summary")).partitions_def is None


def test_every_stage_has_a_description_a_group_kinds_and_its_checks():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and node.group_name == "video_pipeline" and node.kinds, key
    checks: dict[str, set[str]] = {}
    for check_key in graph.asset_check_keys:
        checks.setdefault(check_key.asset_key.to_user_string(), set()).add(check_key.name)
        assert graph.get_check_spec(check_key).description
    assert checks == EXPECTED_CHECKS
    blocking = {key.name for key in graph.asset_check_keys if graph.get_check_spec(key).blocking}
    assert blocking == {"frame_index_contiguous", "frames_match_video_frames", "detections_valid"}


def test_the_sensor_runs_by_default_and_targets_the_whole_chain():
    sensor = defs.resolve_sensor_def("new_videos_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    job = defs.resolve_job_def("video_pipeline")
    selected = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert selected == {"model_checkpoint", *PARTITIONED_PER_VIDEO} - {"source_video"}


def test_definitions_load_without_torch():
    """The UI, sensors and reruns that reuse every artifact never wait for torch (about 2 s to import)."""
    probe = "import sys, maskassets.definitions; print(sorted({'torch', 'torchvision'} & set(sys.modules)))"
    completed = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
