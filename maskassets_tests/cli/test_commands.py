"""The commands README.md shows, run as a user runs them: `maskassets update` and `dagster asset materialize`."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from maskassets.defs.jobs import STAGES
from maskassets.defs.partitions import video_partitions
from maskassets.media.video_writing import output_file_name
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.commands import REPO_ROOT, command_line, run_command
from maskassets_tests.support.media import make_clip

pytestmark = pytest.mark.slow


def test_maskassets_update_builds_every_video_then_reuses_everything(tmp_path, pipeline_env, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("MASKASSETS_RAY_OBJECT_STORE_MB", "3072")
    videos = Path(pipeline_env["MASKASSETS_VIDEOS"])
    make_clip(videos / "first.mp4", frames=5)
    make_clip(videos / "second.mp4", frames=3)

    completed = run_command(["maskassets", "update"], cwd=tmp_path)
    first = completed.stdout
    _assert_each_stage_was_printed_as_it_went(completed)
    assert "2 video(s); 2 new" in first
    assert "first.mp4: model_checkpoint built, video_frames built, source_audio built, frame_predictions built" in first
    assert "second.mp4: model_checkpoint reused, video_frames built" in first
    assert "done: 2 up to date, 0 failed" in first
    assert (tmp_path / ".dagster_home").is_dir()
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    for key in ("first.mp4", "second.mp4"):
        manifest = store.require_manifest("output_webm", key)
        assert store.artifact_path(manifest, output_file_name("vp8")).stat().st_size > 0

    again = run_command(["maskassets", "update"], cwd=tmp_path).stdout
    assert "0 new" in again
    for key in ("first.mp4", "second.mp4"):
        assert f"{key}: " + ", ".join(f"{stage} reused" for stage in STAGES) in again
    assert sorted(_stage_lines(again)) == sorted(
        f"{key}: {stage} reused" for key in ("first.mp4", "second.mp4") for stage in STAGES
    )
    assert not any(_PROGRESS.match(line) for line in again.splitlines()), "nothing was built, so no progress"


_PROGRESS = re.compile(r"(\S+): (\w+): (\d+)/(\d+) frames \(\d+%\), [\d.]+ frames/s, ETA .+")
_OUTCOME = re.compile(r"(\S+): (\w+) (built|reused|FAILED: .+)")


def _stage_lines(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if _OUTCOME.fullmatch(line) and not line.startswith("all videos")]


def _assert_each_stage_was_printed_as_it_went(completed: subprocess.CompletedProcess) -> None:
    """first.mp4 (5 frames) then second.mp4 (3 frames), built: each stage's progress then outcome, in run order;
    Dagster's events in the log file named last, not on the terminal."""
    lines = completed.stdout.splitlines()
    outcomes = _stage_lines(completed.stdout)
    assert set(outcomes[: len(STAGES)]) == {f"first.mp4: {stage} built" for stage in STAGES}
    assert set(outcomes[len(STAGES) :]) == {"second.mp4: model_checkpoint reused"} | {
        f"second.mp4: {stage} built" for stage in STAGES[1:]
    }
    progress = [(lines.index(line), _PROGRESS.fullmatch(line).groups()) for line in lines if _PROGRESS.fullmatch(line)]
    for position, (video, stage, _, _) in progress:
        assert position < lines.index(f"{video}: {stage} built"), "progress comes before the outcome"
    finals = {groups for _, groups in progress}
    for stage in ("video_frames", "frame_predictions", "annotated_frames"):
        assert ("first.mp4", stage, "5", "5") in finals and ("second.mp4", stage, "3", "3") in finals
    assert "first.mp4: output_webm: joining 5 frames in 1 segment(s)" in lines
    assert "all videos: videos_mask_summary built" in lines

    assert "STEP_START" not in completed.stdout + completed.stderr, "Dagster's event stream is not printed"
    assert lines[-1].startswith("Dagster's log of this update: ")
    log = Path(lines[-1].removeprefix("Dagster's log of this update: ")).read_text()
    assert log.count("STEP_START") >= 2 * len(STAGES) and "ASSET_MATERIALIZATION" in log
    # Ray's own report of the local Ray the update started, sized by MASKASSETS_RAY_OBJECT_STORE_MB.
    assert "Connected to a local Ray: 1 node(s), 2 CPU(s), 0 GPU(s), 3.0 GiB of object store." in log
    assert "of frames ahead" not in completed.stdout, "half of 3 GiB holds the detector's read-ahead"


def test_maskassets_update_of_a_missing_folder_says_so_in_one_line_and_exits_2(tmp_path, pipeline_env):
    missing = tmp_path / "no-such-folder"
    completed = subprocess.run(
        command_line(["maskassets", "update", "--videos", str(missing)]),
        cwd=tmp_path,
        env={**os.environ, **pipeline_env},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.splitlines() == [
        f"maskassets update: The videos folder {missing} does not exist; create it or set `videos.location` "
        "(MASKASSETS_VIDEOS) to the folder or s3:// prefix that holds your videos."
    ]


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (
            ["--set", "drawing.threshold=2"],
            ["Settings refused:", "drawing.threshold=2: Input should be less than or equal to 1"],
        ),
        (["--set", "threshold"], ["--set 'threshold' is not RESOURCE.FIELD=VALUE, e.g. drawing.threshold=0.7."]),
    ],
)
def test_maskassets_update_refuses_a_bad_setting_before_any_work(tmp_path, pipeline_env, arguments, refusal):
    completed = subprocess.run(
        command_line(["maskassets", "update", *arguments]),
        cwd=tmp_path,
        env={**os.environ, **pipeline_env},
        capture_output=True,
        text=True,
    )
    assert (completed.returncode, completed.stdout) == (2, "")
    assert completed.stderr.splitlines() == [f"maskassets update: {refusal[0]}", *refusal[1:]]
    assert not (tmp_path / "artifacts").exists()


def test_dagster_cli_builds_a_whole_chain_then_rebuilds_only_the_annotated_video(tmp_path, pipeline_env, dagster_home):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=4)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, ["clip.mp4"])
    module = ["-m", "maskassets.definitions"]

    run_command(
        ["dagster", "asset", "materialize", *module, "--select", "*output_webm", "--partition", "clip.mp4"], REPO_ROOT
    )
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    chain = STAGES[1 : STAGES.index("output_webm") + 1]
    before = {stage: store.require_manifest(stage, "clip.mp4") for stage in chain}
    assert before["output_webm"].metadata["codec"] == "vp8"

    encoding = "annotated_frames,output_webm"
    run_command(
        ["dagster", "asset", "materialize", *module, "--select", encoding, "--partition", "clip.mp4"],
        REPO_ROOT,
        MASKASSETS_CODEC="vp9",
    )
    after = {stage: store.require_manifest(stage, "clip.mp4") for stage in chain}
    assert after["output_webm"].metadata["codec"] == after["annotated_frames"].metadata["codec"] == "vp9"
    for stage in ("annotated_frames", "output_webm"):
        assert after[stage].directory != before[stage].directory
    for stage in chain[:-2]:
        assert after[stage] == before[stage]

    # One run's own setting, from its config; the variables' other values hold (MASKASSETS_CODEC is unset again).
    override = {"resources": {"encoder": {"config": {"crf": 20}}}}
    run_command(
        [
            "dagster", "asset", "materialize", *module, "--select", encoding, "--partition", "clip.mp4",
            "--config-json", json.dumps(override),
        ],
        REPO_ROOT,
    )  # fmt: skip
    overridden = store.require_manifest("annotated_frames", "clip.mp4")
    assert overridden.directory != after["annotated_frames"].directory
    assert (overridden.metadata["codec"], overridden.metadata["settings"]["encoder"]["crf"]) == ("vp8", 20)
    assert store.require_manifest("output_webm", "clip.mp4").metadata["codec"] == "vp8"


def test_a_cli_backfill_of_many_videos_is_queued_under_the_run_bound(tmp_path, pipeline_env, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert run_command(["maskassets", "home"], cwd=tmp_path).stdout.strip() == str(tmp_path / "home")
    keys = ["a.mp4", "b.mp4", "c.mp4"]
    for key in keys:
        make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / key, frames=2)
    with dg.DagsterInstance.get() as instance:
        instance.add_dynamic_partitions(video_partitions.name, keys)

    run_command(
        [
            "dagster",
            "job",
            "backfill",
            "-m",
            "maskassets.definitions",
            "-j",
            "video_pipeline",
            "--partitions",
            ",".join(keys),
            "--noprompt",
        ],
        REPO_ROOT,
    )
    with dg.DagsterInstance.get() as instance:
        (backfill,) = instance.get_backfills()
        assert sorted(backfill.partition_names) == keys
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
