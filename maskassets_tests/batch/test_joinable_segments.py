"""A drawing task refuses an encoded segment that output_webm could not join packet by packet, from the file's
packets and its first frame alone."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import av
import pytest
from upath import UPath

from maskassets.batch.segment_annotation import EncodedSegmentError, require_joinable
from maskassets.media import yuv420
from maskassets.media.video_writing import OutputCodec, VideoWriter
from maskassets_tests.support.media import moving_square


def _encode(target: Path, codec: OutputCodec, width: int, height: int, frames: int) -> VideoWriter:
    with VideoWriter(str(target), width=width, height=height, rate=Fraction(12), codec=codec) as writer:
        for index in range(frames):
            writer.write(yuv420.from_rgb(moving_square(index, width, height)), index / 12)
    return writer


@pytest.mark.parametrize(("codec", "suffix"), [("vp8", "webm"), ("vp9", "webm"), ("h264", "mp4")])
def test_a_segment_as_encoded_is_joinable(tmp_path, codec, suffix):
    target = tmp_path / f"segment.{suffix}"
    writer = _encode(target, codec, 65, 49, 6)

    require_joinable(UPath(target), frames=6, size=writer.encoded_size, name="segment")
    assert writer.encoded_size == ((66, 50) if codec == "h264" else (65, 49))


def test_a_segment_missing_frames_is_refused_naming_the_fix(tmp_path):
    target = tmp_path / "segment.webm"
    _encode(target, "vp8", 64, 48, 6)

    with pytest.raises(EncodedSegmentError) as refused:
        require_joinable(UPath(target), frames=7, size=(64, 48), name="annotated_frames/x/000003.webm")
    assert str(refused.value) == (
        "The encoder wrote 7 frames of 64x48 for annotated_frames/x/000003.webm, but the file holds 6 and opens on a "
        "64x48 keyframe: materialize annotated_frames again, and if it fails the same way, encode with another codec "
        "(MASKASSETS_CODEC)."
    )


def test_a_segment_of_another_size_is_refused(tmp_path):
    target = tmp_path / "segment.webm"
    _encode(target, "vp8", 64, 48, 3)

    with pytest.raises(EncodedSegmentError, match=re.escape("holds 3 and opens on a 64x48 keyframe")):
        require_joinable(UPath(target), frames=3, size=(66, 50), name="segment")


def test_a_segment_opening_past_its_keyframe_is_refused(tmp_path):
    encoded = tmp_path / "whole.webm"
    _encode(encoded, "vp8", 64, 48, 6)
    cut = tmp_path / "cut.webm"
    # The same packets less the keyframe: every frame left is predicted from one the file no longer has.
    with av.open(str(encoded)) as source, av.open(str(cut), mode="w", format="webm") as output:
        stream = output.add_stream_from_template(source.streams.video[0])
        for packet in list(source.demux(video=0))[1:]:
            if packet.size:
                packet.stream = stream
                output.mux(packet)

    with pytest.raises(EncodedSegmentError, match=re.escape("holds 5 and does not open on a keyframe")):
        require_joinable(UPath(cut), frames=5, size=(64, 48), name="segment")
