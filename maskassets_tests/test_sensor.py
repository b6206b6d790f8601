"""The sensor registers new videos as partitions and requests one run each, never twice."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from maskassets_tests.media import make_clip
from maskassets_tests.pipeline_run import sensor_tick


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
