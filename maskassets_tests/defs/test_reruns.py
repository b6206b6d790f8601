"""Reruns recompute only what a change made stale: one test per kind of change, on real runs.

What ran is read from the artifacts themselves (a rebuilt stage commits a new folder, a reused one
keeps its folder) and from the materializations, which say reused or not."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from inotify_simple import INotify, flags

from maskassets.cli.update import update_all
from maskassets.definitions import build_definitions
from maskassets.defs.jobs import STAGES
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.media import make_clip, pipeline_settings, save_random_checkpoint
from maskassets_tests.support.pipeline_run import reused_by_stage, stale_statuses

pytestmark = pytest.mark.slow
ALL_BUILT = dict.fromkeys(STAGES, "built")
ALL_REUSED = dict.fromkeys(STAGES, "reused")
AFTER_INFERENCE = set(STAGES[STAGES.index("frame_predictions") :])


@pytest.fixture(scope="module")
def prebuilt(tmp_path_factory: pytest.TempPathFactory, checkpoint_path: Path) -> Path:
    """Two videos built once; each test works on its own copy of the videos, artifacts and instance."""
    base = tmp_path_factory.mktemp("prebuilt")
    (base / "videos").mkdir()
    make_clip(base / "videos" / "a.mp4", frames=4)
    make_clip(base / "videos" / "b.mp4", frames=3, width=96)
    (base / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in _settings(base, checkpoint_path).items():
            patch.setenv(name, value)
        with dg.DagsterInstance.get() as instance:
            assert not update_all(instance).failures
    return base


@pytest.fixture
def built(prebuilt: Path, tmp_path: Path, checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch):
    for folder in ("videos", "artifacts", "home"):
        shutil.copytree(prebuilt / folder, tmp_path / folder)
    for name, value in _settings(tmp_path, checkpoint_path).items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as instance:
        yield instance


@pytest.fixture
def pipeline_env(built, tmp_path: Path, checkpoint_path: Path) -> dict[str, str]:
    return _settings(tmp_path, checkpoint_path)


def _settings(root: Path, checkpoint_path: Path) -> dict[str, str]:
    return {"DAGSTER_HOME": str(root / "home"), **pipeline_settings(root, checkpoint_path)}


def _folders(env: dict[str, str]) -> dict[tuple[str, str], str]:
    store = ArtifactStore(env["MASKASSETS_ARTIFACTS"])
    return {
        (stage, key): store.require_manifest(stage, None if stage == "model_checkpoint" else key).directory
        for stage in STAGES
        for key in ("a.mp4", "b.mp4")
    }


def _expect(built_stages: set[str]) -> dict[str, str]:
    return {stage: "built" if stage in built_stages else "reused" for stage in STAGES}


def _assert_rebuilt_exactly(before: dict, after: dict, rebuilt: set[tuple[str, str]]) -> None:
    assert {place for place in before if before[place] != after[place]} == rebuilt


def test_nothing_changed_reruns_nothing(built, pipeline_env):
    before = _folders(pipeline_env)
    report = update_all(built)
    assert report.outcomes == {"a.mp4": ALL_REUSED, "b.mp4": ALL_REUSED}
    assert _folders(pipeline_env) == before


def test_an_unchanged_rerun_reads_no_source_checkpoint_or_table_bytes(built, pipeline_env, checkpoint_path):
    """Watched with inotify, which sees every open and read of a file by any process, C libraries included."""
    # The fixture copied the videos: new inodes, so the first rerun hashes them once (same bytes: all reused)
    # and records their new markers.
    assert update_all(built).outcomes == {"a.mp4": ALL_REUSED, "b.mp4": ALL_REUSED}
    artifacts = Path(pipeline_env["MASKASSETS_ARTIFACTS"])
    folders = [Path(pipeline_env["MASKASSETS_VIDEOS"]), checkpoint_path.parent, artifacts]
    folders += [path for path in artifacts.rglob("*") if path.is_dir()]
    with INotify() as inotify:
        watched = {inotify.add_watch(folder, flags.OPEN | flags.ACCESS): folder for folder in folders}
        report = update_all(built)
        events = inotify.read(timeout=0)
    opened = {watched[event.wd] / event.name for event in events if event.name and not event.mask & flags.ISDIR}

    assert report.outcomes == {"a.mp4": ALL_REUSED, "b.mp4": ALL_REUSED}
    assert artifacts / "video_frames" / "a.mp4" / "manifest.json" in opened  # the watch sees what is read
    # The table across videos (a row per video and class) is what its materialization shows, so it is read.
    read_data = sorted(
        str(path)
        for path in opened
        if path.suffix in (".mp4", ".mka", ".parquet", ".pt") and path.name != "videos_mask_summary.parquet"
    )
    assert read_data == [], "an unchanged rerun read these"


@pytest.mark.parametrize(
    ("setting", "value", "rebuilt", "videos_summary"),
    [
        # The threshold decides what the video shows, which the summary counts.
        ("MASKASSETS_THRESHOLD", "0.9", {"annotated_frames", "output_webm", "mask_summary"}, "built"),
        ("MASKASSETS_LINE_WIDTH", "3", {"annotated_frames", "output_webm"}, "reused"),
    ],
)
def test_a_drawing_change_reruns_only_what_draws_or_counts_the_boxes(
    built, pipeline_env, monkeypatch, setting, value, rebuilt, videos_summary
):
    before = _folders(pipeline_env)
    monkeypatch.setenv(setting, value)
    assert stale_statuses(built, "a.mp4") == {
        "model_checkpoint": "FRESH",
        "video_frames": "FRESH",
        "frame_predictions": "FRESH",
        "annotated_frames": "STALE",
    }
    report = update_all(built)
    assert report.outcomes == {"a.mp4": _expect(rebuilt), "b.mp4": _expect(rebuilt)}
    _assert_rebuilt_exactly(before, _folders(pipeline_env), {(s, k) for s in rebuilt for k in ("a.mp4", "b.mp4")})
    assert report.videos_summary == videos_summary


def test_a_run_that_overrides_the_threshold_rebuilds_the_drawing_and_the_next_default_run_restores_it(
    built, pipeline_env
):
    """Overrides are a run's own: its artifacts record the settings they were made with, and a run under the
    defaults finds them differ and rebuilds."""
    before = _folders(pipeline_env)
    drawing = {"annotated_frames", "output_webm", "mask_summary"}
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    # What the launchpad submits: one field of one resource; the others keep the defaults the variables set.
    launched = (
        build_definitions()
        .resolve_job_def("video_pipeline")
        .execute_in_process(
            run_config={"resources": {"drawing": {"config": {"threshold": 0.9}}}}, partition_key="a.mp4", instance=built
        )
    )
    assert {stage: "reused" if reused else "built" for stage, reused in reused_by_stage(launched).items()} == _expect(
        drawing
    )
    recorded = store.require_manifest("annotated_frames", "a.mp4").metadata["settings"]["drawing"]
    assert (recorded["threshold"], recorded["line_width"]) == (0.9, 2)
    # The CLI's `--set drawing.threshold=0.9`: the launched video is current under it, the other is drawn anew.
    overridden = update_all(built, overrides={"drawing": {"threshold": 0.9}})
    assert overridden.outcomes == {"a.mp4": ALL_REUSED, "b.mp4": _expect(drawing)}
    restored = update_all(built)
    assert restored.outcomes == {"a.mp4": _expect(drawing), "b.mp4": _expect(drawing)}
    assert store.require_manifest("annotated_frames", "a.mp4").metadata["settings"]["drawing"]["threshold"] == 0.5
    after = _folders(pipeline_env)
    _assert_rebuilt_exactly(before, after, {(stage, key) for stage in drawing for key in ("a.mp4", "b.mp4")})


@pytest.mark.parametrize(("setting", "value"), [("MASKASSETS_PRECISION", "bf16"), ("MASKASSETS_FRAME_STRIDE", "2")])
def test_how_the_model_runs_leaves_the_checkpoint_fresh(built, monkeypatch, setting, value):
    monkeypatch.setenv(setting, value)
    statuses = stale_statuses(built, "a.mp4")
    assert (statuses["model_checkpoint"], statuses["frame_predictions"]) == ("FRESH", "STALE")


def test_a_jpeg_quality_change_leaves_frames_kept_as_the_sources_packets_fresh(built, monkeypatch):
    monkeypatch.setenv("MASKASSETS_JPEG_QUALITY", "80")
    assert set(stale_statuses(built, "a.mp4").values()) == {"FRESH"}
    monkeypatch.setenv("MASKASSETS_FRAME_FORMAT", "jpeg")
    assert stale_statuses(built, "a.mp4")["video_frames"] == "STALE"


def test_a_tracker_change_reruns_the_tracks_and_what_reads_them_not_inference(built, pipeline_env, monkeypatch):
    before = _folders(pipeline_env)
    monkeypatch.setenv("MASKASSETS_TRACK_LOST_SECONDS", "2.5")
    rebuilt = {"face_tracks", "annotated_frames", "output_webm", "mask_summary", "detections_export"}
    report = update_all(built)
    assert report.outcomes == {"a.mp4": _expect(rebuilt), "b.mp4": _expect(rebuilt)}
    _assert_rebuilt_exactly(before, _folders(pipeline_env), {(s, k) for s in rebuilt for k in ("a.mp4", "b.mp4")})


def test_an_encoder_change_reruns_only_drawing_and_publishing(built, pipeline_env, monkeypatch):
    before = _folders(pipeline_env)
    monkeypatch.setenv("MASKASSETS_CODEC", "vp9")
    report = update_all(built)
    encoding = {"annotated_frames", "output_webm"}
    assert report.outcomes == {"a.mp4": _expect(encoding), "b.mp4": _expect(encoding)}
    _assert_rebuilt_exactly(before, _folders(pipeline_env), {(s, k) for s in encoding for k in ("a.mp4", "b.mp4")})


def test_batch_and_pool_sizes_change_no_result(built, pipeline_env, monkeypatch):
    before = _folders(pipeline_env)
    monkeypatch.setenv("MASKASSETS_BATCH_SIZE", "3")
    monkeypatch.setenv("MASKASSETS_POOL_SIZE", "1")
    assert update_all(built).outcomes == {"a.mp4": ALL_REUSED, "b.mp4": ALL_REUSED}
    assert _folders(pipeline_env) == before


@pytest.mark.parametrize("change", ["inference_setting", "new_checkpoint_file"])
def test_a_model_change_reruns_inference_and_everything_after_it(built, pipeline_env, monkeypatch, tmp_path, change):
    before = _folders(pipeline_env)
    if change == "inference_setting":
        monkeypatch.setenv("MASKASSETS_BOX_SCORE_THRESH", "0.2")
        downstream = AFTER_INFERENCE
        # Loading the checkpoint does not depend on how the model runs.
        statuses = stale_statuses(built, "a.mp4")
        assert (statuses["model_checkpoint"], statuses["frame_predictions"]) == ("FRESH", "STALE")
    else:
        monkeypatch.setenv("MASKASSETS_CHECKPOINT", str(save_random_checkpoint(tmp_path / "retrained.pt", seed=1)))
        downstream = AFTER_INFERENCE | {"model_checkpoint"}
    report = update_all(built)
    first = _expect(downstream)
    second = first | {"model_checkpoint": "reused"}
    assert report.outcomes == {"a.mp4": first, "b.mp4": second}
    rebuilt = {(s, k) for s in downstream for k in ("a.mp4", "b.mp4")}
    _assert_rebuilt_exactly(before, _folders(pipeline_env), rebuilt)


def test_a_replaced_video_reruns_only_its_own_chain(built, pipeline_env):
    before = _folders(pipeline_env)
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "a.mp4", frames=6)
    report = update_all(built)
    assert report.outcomes == {"a.mp4": ALL_BUILT | {"model_checkpoint": "reused"}, "b.mp4": ALL_REUSED}
    _assert_rebuilt_exactly(before, _folders(pipeline_env), {(s, "a.mp4") for s in STAGES[1:]})
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    assert store.require_manifest("output_webm", "a.mp4").metadata["frame_count"] == 6


def test_a_new_video_is_built_once_and_nothing_else_reruns(built, pipeline_env):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "c.mp4", frames=3)
    first = update_all(built)
    assert first.new == ["c.mp4"]
    assert first.outcomes["c.mp4"] == ALL_BUILT | {"model_checkpoint": "reused"}
    assert first.outcomes["a.mp4"] == first.outcomes["b.mp4"] == ALL_REUSED
    assert update_all(built).outcomes["c.mp4"] == ALL_REUSED


def test_a_deleted_video_is_reported_and_its_artifacts_kept(built, pipeline_env):
    before = _folders(pipeline_env)
    (Path(pipeline_env["MASKASSETS_VIDEOS"]) / "b.mp4").unlink()
    report = update_all(built)
    assert report.gone == ["b.mp4"]
    assert report.outcomes == {"a.mp4": ALL_REUSED}
    assert _folders(pipeline_env) == before
