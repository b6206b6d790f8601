"""MP4 (H.264, index first) for players that want it, WebM by default; switching between them draws and encodes
the annotated frames again, and publishing alone refuses segments of the other codec."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import dagster as dg
import pytest

from maskassets.storage.artifact_store import ArtifactStore
from maskassets_tests.support.media import ffprobe, make_clip
from maskassets_tests.support.pipeline_run import (
    materialize_only,
    register_and_run,
    reused_by_stage,
    step_failure,
)

_STREAM_ENTRIES = "codec_name,profile,pix_fmt,width,height,nb_read_frames"


def _top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level box types, in file order."""
    boxes, data, offset = [], path.read_bytes(), 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("ascii"))
        offset += size
    return boxes


def test_h264_output_is_a_faststart_mp4_that_plays_like_the_source(pipeline_env, dagster_home, monkeypatch):
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "odd.mp4", frames=6, width=129, height=97)
    monkeypatch.setenv("MASKASSETS_CODEC", "h264")
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        (mp4_run,) = register_and_run(instance, ["odd.mp4"]).values()
        output = store.require_manifest("output_webm", "odd.mp4")
        mp4 = Path(store.artifact_path(output, "annotated.mp4").path)

        assert output.metadata["mime_type"] == "video/mp4"
        boxes = _top_level_boxes(mp4)
        assert boxes[0] == "ftyp" and boxes.index("moov") < boxes.index("mdat"), boxes
        # 4:2:0 H.264 needs even sides: the odd source gains one edge pixel row and column.
        assert ffprobe(mp4, stream=_STREAM_ENTRIES, count_frames=True) == {
            "codec_name": "h264",
            "profile": "Main",
            "pix_fmt": "yuv420p",
            "width": 130,
            "height": 98,
            "nb_read_frames": "6",
        }
        (plays,) = [e for e in mp4_run.get_asset_check_evaluations() if e.check_name == "plays_like_source"]
        assert plays.passed, plays.description

        monkeypatch.setenv("MASKASSETS_CODEC", "vp8")
        alone = materialize_only(instance, "odd.mp4", ["output_webm"])
        (webm_run,) = register_and_run(instance, ["odd.mp4"]).values()

    # The segments are H.264: the published video cannot become a WebM without drawing them again.
    assert "are encoded as h264, but `encoder.codec` (MASKASSETS_CODEC) is vp8: materialize annotated_frames" in (
        step_failure(alone)
    )
    # The sound is kept for the output's container: the WebM's is made again (Opus, where the MP4's was AAC).
    assert reused_by_stage(webm_run) == {
        "model_checkpoint": True,
        "video_frames": True,
        "source_audio": False,
        "frame_predictions": True,
        "face_tracks": True,
        "annotated_frames": False,
        "output_webm": False,
        "mask_summary": True,
        "detections_export": True,
    }
    webm = store.require_manifest("output_webm", "odd.mp4")
    assert webm.metadata["mime_type"] == "video/webm"
    webm_file = Path(store.artifact_path(webm, "annotated.webm").path)
    assert ffprobe(webm_file, stream="nb_read_frames", count_frames=True)["nb_read_frames"] == "6"


@pytest.mark.parametrize("codec", ["vp8", "vp9"])
def test_segments_encoded_in_parallel_join_into_one_video_with_the_source_timestamps(
    codec, pipeline_env, dagster_home, monkeypatch
):
    timestamps = [0, 0.05, 0.2, 0.25, 0.5, 0.55, 0.6, 0.9, 1.0, 1.3, 1.35, 1.4, 1.8, 1.85]
    make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "vfr.mp4", timestamps=timestamps)
    monkeypatch.setenv("MASKASSETS_CODEC", codec)
    monkeypatch.setenv("MASKASSETS_ENCODE_SEGMENT_FRAMES", "4")
    store = ArtifactStore(pipeline_env["MASKASSETS_ARTIFACTS"])
    with dg.DagsterInstance.get() as instance:
        (run,) = register_and_run(instance, ["vfr.mp4"]).values()

    output = store.require_manifest("output_webm", "vfr.mp4")
    assert (output.metadata["segments"], output.metadata["frame_count"]) == (4, 14)
    annotated = store.require_manifest("annotated_frames", "vfr.mp4")
    assert [(segment["first_frame"], segment["frames"]) for segment in annotated.segments] == [
        (0, 4),
        (4, 4),
        (8, 4),
        (12, 2),
    ]
    webm = Path(store.artifact_path(output, "annotated.webm").path)
    with av.open(str(webm)) as container:
        frames = list(container.decode(video=0))
    assert [round(float(frame.time), 3) for frame in frames] == timestamps
    assert [index for index, frame in enumerate(frames) if frame.key_frame] == [0, 4, 8, 12]
    assert ffprobe(webm, stream="codec_name,nb_read_frames", count_frames=True) == {
        "codec_name": codec,
        "nb_read_frames": "14",
    }
    (plays,) = [e for e in run.get_asset_check_evaluations() if e.check_name == "plays_like_source"]
    assert plays.passed, plays.description
