"""The detector's input when frames are kept as the source's packets: Ray Data read tasks decode the copies and
yield every Nth frame, in order, as the source decodes it."""

from __future__ import annotations

import numpy as np
import pytest
import ray.data
from upath import UPath

from maskassets.batch.copied_frames_datasource import DECODED_RGB, CopiedFramesDatasource
from maskassets.media.frame_codec import FrameFormat
from maskassets.media.video import iter_frames
from maskassets.stages.video_frames import DecodeSettings, extract_frames
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.media import OPEN_GOP_H264, ffmpeg_test_pattern


@pytest.mark.parametrize("every_nth", [1, 3])
def test_read_tasks_yield_every_nth_decoded_frame_in_order(every_nth, tmp_path, local_ray):
    source = UPath(str(ffmpeg_test_pattern(tmp_path / "open_gop.mp4", encoder_args=OPEN_GOP_H264, seconds=2)))
    sequential = list(iter_frames(source))
    store = ArtifactStore(str(tmp_path / "artifacts"))
    with store.commit("video_frames", "open_gop.mp4", version="v1") as staged:
        extract_frames(
            store, source, staged, settings=DecodeSettings(frame_format=FrameFormat("source"), min_segment_frames=12)
        )
    manifest = store.require_manifest("video_frames", "open_gop.mp4")
    assert len(manifest.segments) > 2

    datasource = CopiedFramesDatasource(store, manifest, every_nth=every_nth)
    dataset = ray.data.read_datasource(datasource, num_cpus=0)
    dataset.context.execution_options.preserve_order = True
    rows = dataset.take_all()

    expected = sequential[::every_nth]
    assert datasource.row_count() == len(expected)
    assert [row[schema.FRAME_INDEX] for row in rows] == [frame.index for frame in expected]
    for row, frame in zip(rows, expected, strict=True):
        np.testing.assert_array_equal(row[DECODED_RGB], frame.rgb)
