"""What the UI shows of each asset comes from the stored artifacts: previews that decode, per-class
tables that add up to the stored detections, summaries across videos, checks and progress lines."""

from __future__ import annotations

import base64
import re
import subprocess

import cv2
import dagster as dg
import numpy as np
import pytest

from maskassets.model.detector_spec import DEFAULT_CLASS_NAMES
from maskassets.storage import schema
from maskassets.storage.schema import MASK_SUMMARY_FILE, MASK_TIMELINE_FILE, PREDICTIONS_TABLE, VIDEOS_SUMMARY_FILE
from maskassets_tests.support.commands import command_line, run_command
from maskassets_tests.support.pipeline_run import stored_parquet, stored_table
from maskassets_tests.support.published import CLIPS

THRESHOLD = 0.5  # the drawing threshold the published videos use (the default)


def _latest_metadata(published, asset: str, partition: str | None) -> dict:
    records_filter = dg.AssetRecordsFilter(
        asset_key=dg.AssetKey(asset), asset_partitions=[partition] if partition else None
    )
    with published.instance() as instance:
        records = instance.fetch_materializations(records_filter, limit=1, ascending=False).records
    assert records, f"{asset} [{partition}] was never materialized"
    return records[0].asset_materialization.metadata


def _embedded_image(markdown: str) -> np.ndarray:
    match = re.fullmatch(r"!\[\w+\]\(data:image/(?:jpeg|png);base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert match, markdown[:80]
    image = cv2.imdecode(np.frombuffer(base64.b64decode(match.group(1)), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


@pytest.mark.parametrize("video", sorted(CLIPS))
def test_video_frames_shows_a_contact_sheet_and_the_video_geometry(published_videos, video):
    metadata = _latest_metadata(published_videos, "video_frames", video)
    clip = CLIPS[video]
    sheet = _embedded_image(metadata["contact_sheet"].value)
    rows = -(-clip["frames"] // 4)
    assert sheet.shape[1] == 4 * 160
    assert sheet.shape[0] == rows * (round(clip["height"] * 160 / clip["width"]) + 16)
    assert metadata["resolution"].value == f"{clip['width']}x{clip['height']}"
    assert metadata["fps"].value == 12
    assert metadata["dagster/row_count"].value == clip["frames"]


def test_frame_predictions_class_table_adds_up_to_the_stored_detections(published_videos):
    metadata = _latest_metadata(published_videos, "frame_predictions", "a.mp4")
    predictions = stored_table(published_videos.store, "frame_predictions", "a.mp4", PREDICTIONS_TABLE)
    names = [name for row in predictions.column(schema.CLASS_NAMES).to_pylist() for name in row]
    table = {record.data["class"]: record.data for record in metadata["stored_detections_by_class"].value.records}

    assert list(table) == list(DEFAULT_CLASS_NAMES[1:])
    for name, row in table.items():
        assert row["detections"] == names.count(name)
        frames_with = sum(name in row_names for row_names in predictions.column(schema.CLASS_NAMES).to_pylist())
        assert row["frames_with_class"] == frames_with
    assert metadata["device"].value == "cpu"
    assert metadata["frames_per_second"].value > 0


def test_output_webm_shows_its_poster_size_and_type(published_videos):
    metadata = _latest_metadata(published_videos, "output_webm", "a.mp4")
    poster = _embedded_image(metadata["poster"].value)
    assert poster.shape[:2] == (120, 160)
    assert metadata["mime_type"].value == "video/webm"
    assert metadata["duration_seconds"].value == pytest.approx(1.0, abs=0.01)
    assert metadata["size_mib"].value == pytest.approx(metadata["bytes"].value / 2**20, abs=0.001)


def test_mask_summary_counts_the_detections_the_video_shows(published_videos):
    store = published_videos.store
    predictions = stored_table(store, "frame_predictions", "a.mp4", PREDICTIONS_TABLE).to_pylist()
    summary = {
        row[schema.CLASS_NAME]: row
        for row in stored_parquet(store, "mask_summary", "a.mp4", MASK_SUMMARY_FILE).to_pylist()
    }
    timeline = stored_parquet(store, "mask_summary", "a.mp4", MASK_TIMELINE_FILE).to_pylist()

    for name in DEFAULT_CLASS_NAMES[1:]:
        per_frame = [
            sum(
                score > THRESHOLD and found == name
                for score, found in zip(row["scores"], row["class_names"], strict=True)
            )
            for row in predictions
        ]
        shown = [index for index, count in enumerate(per_frame) if count]
        assert summary[name][schema.FRAMES_WITH_CLASS] == len(shown)
        assert summary[name][schema.SHARE_OF_FRAMES] == pytest.approx(len(shown) / 12)
        assert summary[name][schema.DETECTIONS] == sum(per_frame)
        assert summary[name][schema.FIRST_SEEN_SECONDS] == (pytest.approx(shown[0] / 12) if shown else None)
        assert [row[schema.COUNT] for row in timeline if row[schema.CLASS_NAME] == name] == per_frame
    assert sum(row[schema.FRAMES_WITH_CLASS] for row in summary.values()) > 0

    metadata = _latest_metadata(published_videos, "mask_summary", "a.mp4")
    plot = _embedded_image(metadata["timeline"].value)
    assert plot.shape[0] > 100 and plot.shape[1] > 400
    shown_rows = {record.data["class_name"]: record.data for record in metadata["shown_by_class"].value.records}
    assert {name: row["frames_with_class"] for name, row in shown_rows.items()} == {
        name: row[schema.FRAMES_WITH_CLASS] for name, row in summary.items()
    }


def test_the_cross_video_table_holds_every_video_and_class(published_videos):
    store = published_videos.store
    combined = stored_parquet(store, "videos_mask_summary", None, VIDEOS_SUMMARY_FILE).to_pylist()
    assert [(row[schema.VIDEO], row[schema.CLASS_NAME]) for row in combined] == [
        (video, name) for video in sorted(CLIPS) for name in DEFAULT_CLASS_NAMES[1:]
    ]
    for video in CLIPS:
        own = stored_parquet(store, "mask_summary", video, MASK_SUMMARY_FILE).to_pylist()
        assert [{**row, schema.VIDEO: video} for row in own] == [row for row in combined if row[schema.VIDEO] == video]
    metadata = _latest_metadata(published_videos, "videos_mask_summary", None)
    assert metadata["dagster/row_count"].value == 2 * 3
    assert "all videos: videos_mask_summary built" in published_videos.output


def test_every_check_of_both_videos_passed(published_videos):
    with published_videos.instance() as instance:
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), limit=100
        )
    evaluations = [record.event_log_entry.dagster_event.event_specific_data for record in records]
    checked = sorted((e.asset_key.to_user_string(), e.check_name) for e in evaluations)
    assert checked == sorted(
        2
        * [
            ("video_frames", "frame_index_contiguous"),
            ("frame_predictions", "frames_match_video_frames"),
            ("frame_predictions", "detections_valid"),
            ("annotated_frames", "frames_match_video_frames"),
            ("output_webm", "plays_like_source"),
        ]
    )
    assert all(evaluation.passed for evaluation in evaluations), [e.description for e in evaluations]


def test_long_steps_log_frames_done_rate_and_time_left(published_videos):
    for stage in ("video_frames", "frame_predictions", "annotated_frames"):
        assert re.search(rf"{stage}: 12/12 frames \(100%\), [\d.]+ frames/s, ETA 0 s", published_videos.output), (
            f"no final progress line for {stage}"
        )
    assert re.search(r"frame_predictions: \d+/12 frames \(\d+%\), [\d.]+ frames/s, ETA \d+", published_videos.output)
    assert re.search(r"output_webm: joining 12 frames in \d+ segment\(s\)", published_videos.output)


def test_maskassets_summary_prints_the_table_across_videos(published_videos, tmp_path):
    printed = run_command(["maskassets", "summary"], **published_videos.env).stdout.splitlines()
    combined = stored_parquet(published_videos.store, "videos_mask_summary", None, VIDEOS_SUMMARY_FILE).to_pylist()
    header = ["video", "class", "faces", "frames", "share", "first", "seen", "(s)", "last", "seen", "(s)"]
    assert printed[0].split() == header
    assert [line.split()[:5] for line in printed[1:]] == [
        [
            row[schema.VIDEO],
            row[schema.CLASS_NAME],
            str(row[schema.DISTINCT_TRACKS]),
            str(row[schema.FRAMES_WITH_CLASS]),
            f"{row[schema.SHARE_OF_FRAMES]:.1%}",
        ]
        for row in combined
    ]

    nothing_yet = subprocess.run(
        command_line(["maskassets", "summary", "--artifacts", str(tmp_path)]), capture_output=True, text=True
    )
    assert nothing_yet.returncode == 1
    assert "No committed 'videos_mask_summary' artifact" in nothing_yet.stderr
    assert "`maskassets update` builds it." in nothing_yet.stderr
