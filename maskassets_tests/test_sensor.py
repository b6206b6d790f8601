"""The sensor registers new videos as partitions and requests one run each, never twice."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from maskassets.defs.resources import VideoFolderResource
from maskassets.defs.sensors import new_videos_sensor
from maskassets_tests.media import make_clip


def _tick(instance: dg.DagsterInstance, folder: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"videos": VideoFolderResource(location=str(folder))}
    )
    result = new_videos_sensor(context)
    # What the sensor daemon does with the result: register the partitions it asks for.
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_new_files_become_partitions_with_one_run_each(tmp_path: Path):
    folder = tmp_path / "videos"
    (folder / "nested").mkdir(parents=True)
    make_clip(folder / "first.mp4", frames=2)
    make_clip(folder / "nested" / "second clip.mp4", frames=2)
    (folder / "notes.txt").write_text("not a video")
    with dg.instance_for_test() as instance:
        first = _tick(instance, folder, None)
        keys = sorted(request.partition_key for request in first.run_requests)
        assert keys == ["first.mp4", "nested_second_clip.mp4-" + keys[1].rsplit("-", 1)[1]]
        assert sorted(instance.get_dynamic_partitions("videos")) == keys

        unchanged = _tick(instance, folder, first.cursor)
        assert unchanged.run_requests == []

        make_clip(folder / "third.mp4", frames=2)
        third = _tick(instance, folder, unchanged.cursor)
        assert [request.partition_key for request in third.run_requests] == ["third.mp4"]


def test_a_replaced_file_is_rerun_and_a_deleted_one_is_only_reported(tmp_path: Path):
    folder = tmp_path / "videos"
    folder.mkdir()
    make_clip(folder / "a.mp4", frames=2)
    make_clip(folder / "b.mp4", frames=2)
    with dg.instance_for_test() as instance:
        first = _tick(instance, folder, None)
        make_clip(folder / "a.mp4", frames=5)
        (folder / "b.mp4").unlink()
        second = _tick(instance, folder, first.cursor)
        assert [request.partition_key for request in second.run_requests] == ["a.mp4"]
        assert second.run_requests[0].run_key != first.run_requests[0].run_key
        assert sorted(instance.get_dynamic_partitions("videos")) == ["a.mp4", "b.mp4"]
