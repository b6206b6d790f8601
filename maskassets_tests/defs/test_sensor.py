"""The sensor registers new videos as partitions and requests one run each, never twice, and never for a
file still being copied."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from maskassets_tests.support.media import make_clip, theora_with_repeated_frames, write_files_that_are_not_videos
from maskassets_tests.support.pipeline_run import sensor_tick

#: How long a file must stay unchanged here; the test sleeps this long between looks.
SETTLE_SECONDS = 1.0


def test_new_files_become_partitions_with_one_run_each(tmp_path: Path):
    folder = tmp_path / "videos"
    (folder / "nested").mkdir(parents=True)
    make_clip(folder / "first.mp4", frames=2)
    make_clip(folder / "nested" / "second clip.mp4", frames=2)
    (folder / "notes.txt").write_text("not a video")
    with dg.instance_for_test() as instance:
        first = sensor_tick(instance, str(folder), None)
        keys = sorted(request.partition_key for request in first.run_requests)
        assert keys == ["first.mp4", "nested_second_clip.mp4-" + keys[1].rsplit("-", 1)[1]]
        assert sorted(instance.get_dynamic_partitions("videos")) == keys

        unchanged = sensor_tick(instance, str(folder), first.cursor)
        assert unchanged.run_requests == []

        make_clip(folder / "third.mp4", frames=2)
        third = sensor_tick(instance, str(folder), unchanged.cursor)
        assert [request.partition_key for request in third.run_requests] == ["third.mp4"]


def test_a_replaced_file_is_rerun_with_a_new_data_version_and_a_deleted_one_keeps_its_partition(tmp_path: Path):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / "a.mp4", frames=2)
    make_clip(folder / "b.mp4", frames=2)
    with dg.instance_for_test() as instance:
        first = sensor_tick(instance, str(folder), None)
        make_clip(folder / "a.mp4", frames=5)
        (folder / "b.mp4").unlink()
        second = sensor_tick(instance, str(folder), first.cursor)
        assert [request.partition_key for request in second.run_requests] == ["a.mp4"]
        assert second.run_requests[0].run_key != first.run_requests[0].run_key
        versions = {event.partition: event.tags[DATA_VERSION_TAG] for event in second.asset_events}
        first_versions = {event.partition: event.tags[DATA_VERSION_TAG] for event in first.asset_events}
        assert list(versions) == ["a.mp4"] and versions["a.mp4"] != first_versions["a.mp4"]
        assert sorted(instance.get_dynamic_partitions("videos")) == ["a.mp4", "b.mp4"]


def test_a_file_still_being_copied_is_taken_once_it_stops_changing(tmp_path: Path):
    folder = tmp_path / "videos"
    folder.mkdir()
    whole = make_clip(tmp_path / "whole.mp4", frames=6).read_bytes()
    arriving = folder / "arriving.mp4"
    arriving.write_bytes(whole[: len(whole) // 3])
    make_clip(folder / "settled.mp4", frames=2)
    with dg.instance_for_test() as instance:
        first = sensor_tick(instance, str(folder), None, settle_seconds=SETTLE_SECONDS)
        assert first.run_requests == [] and instance.get_dynamic_partitions("videos") == []

        time.sleep(SETTLE_SECONDS)
        with arriving.open("ab") as copy:
            copy.write(whole[len(whole) // 3 :])
        second = sensor_tick(instance, str(folder), first.cursor, settle_seconds=SETTLE_SECONDS)
        assert [request.partition_key for request in second.run_requests] == ["settled.mp4"]

        time.sleep(SETTLE_SECONDS)
        third = sensor_tick(instance, str(folder), second.cursor, settle_seconds=SETTLE_SECONDS)
        assert [request.partition_key for request in third.run_requests] == ["arriving.mp4"]
        assert sorted(instance.get_dynamic_partitions("videos")) == ["arriving.mp4", "settled.mp4"]

        time.sleep(SETTLE_SECONDS)
        assert sensor_tick(instance, str(folder), third.cursor, settle_seconds=SETTLE_SECONDS).run_requests == []


def test_videos_are_recognised_by_ffmpeg_and_every_other_file_is_reported_once_with_its_reason(tmp_path, capfd):
    folder = tmp_path / "videos"
    folder.mkdir()
    theora_with_repeated_frames(folder / "lecture.ogv")
    make_clip(tmp_path / "capture.mp4", frames=2).rename(folder / "screen capture.dat")
    not_videos = write_files_that_are_not_videos(folder)
    with dg.instance_for_test() as instance:
        first = sensor_tick(instance, str(folder), None)
        requested = sorted(request.partition_key for request in first.run_requests)
        assert requested[0] == "lecture.ogv" and requested[1].startswith("screen_capture.dat-")
        (skip_line,) = [line for line in capfd.readouterr().err.splitlines() if "Skipped, not videos" in line]
        for name, reason in not_videos.items():
            assert re.search(rf"{re.escape(name)}: [^;]*{reason}", skip_line), skip_line

        again = sensor_tick(instance, str(folder), first.cursor)
        assert again.run_requests == []
        assert "Skipped" not in capfd.readouterr().err


def test_a_file_replaced_with_the_same_size_and_mtime_is_still_seen_as_replaced(tmp_path: Path):
    folder = tmp_path / "videos"
    folder.mkdir()
    original = make_clip(folder / "a.mp4", frames=4)
    with dg.instance_for_test() as instance:
        first = sensor_tick(instance, str(folder), None)
        data = bytearray(original.read_bytes())
        data[len(data) // 2] ^= 0xFF
        replacement = tmp_path / "a.mp4"
        replacement.write_bytes(bytes(data))
        mtime = original.stat().st_mtime_ns
        os.utime(replacement, ns=(mtime, mtime))
        os.replace(replacement, original)
        assert (original.stat().st_size, original.stat().st_mtime_ns) == (len(data), mtime)

        second = sensor_tick(instance, str(folder), first.cursor)
        assert [request.partition_key for request in second.run_requests] == ["a.mp4"]
