"""The 4:2:0 frames the annotated video is drawn on and encoded from: their planes, colours, padding and turning."""

from __future__ import annotations

import av
import numpy as np
import pytest

from maskassets.media import yuv420
from maskassets.media.video import DecodedFrame, upright_rgb


def _gradient(width: int, height: int) -> np.ndarray:
    rows, columns = np.mgrid[0:height, 0:width]
    return np.stack([rows * 255 // height, columns * 255 // width, (rows + columns) % 256], axis=-1).astype(np.uint8)


def test_the_planes_of_an_odd_sized_frame_are_its_pixels_and_drawing_on_them_changes_it():
    frame = yuv420.from_rgb(np.full((49, 65, 3), 90, dtype=np.uint8))
    luma, blue_difference, red_difference = yuv420.plane_arrays(frame)
    assert luma.shape == (49, 65) and blue_difference.shape == red_difference.shape == (25, 33)

    luma[:, -1] = 235
    assert (frame.to_ndarray(format="rgb24")[:, -1] > 200).all()
    assert (frame.to_ndarray(format="rgb24")[:, 0] < 100).all()


@pytest.mark.parametrize("color", [(0, 128, 0), (255, 0, 0), (255, 255, 0), (255, 255, 255), (0, 0, 0)])
def test_a_colour_takes_the_values_ffmpeg_converts_it_to(color):
    flat = av.VideoFrame.from_ndarray(np.full((4, 4, 3), color, dtype=np.uint8), format="rgb24")
    ffmpegs = [int(plane[0, 0]) for plane in yuv420.plane_arrays(flat.reformat(format=yuv420.FORMAT))]
    assert np.abs(np.array(yuv420.color_values(color)) - ffmpegs).max() <= 1


def test_padding_to_even_sides_repeats_the_last_row_and_column():
    picture = _gradient(65, 49)
    padded = yuv420.padded_to_even(yuv420.from_rgb(picture))
    assert (padded.width, padded.height) == (66, 50)
    luma = yuv420.plane_arrays(padded)[0]
    np.testing.assert_array_equal(luma[:, -1], luma[:, -2])
    np.testing.assert_array_equal(luma[-1], luma[-2])
    even = yuv420.from_rgb(_gradient(64, 48))
    assert yuv420.padded_to_even(even) is even


@pytest.mark.parametrize("rotation", [0, 90, 180, 270, -90])
def test_an_upright_4_2_0_copy_shows_what_the_upright_rgb_shows(rotation):
    decoded = yuv420.from_rgb(_gradient(64, 48))
    frame = DecodedFrame(0, 0.0, decoded, rotation)
    copy = frame.to_yuv420()
    expected = upright_rgb(decoded, rotation)
    assert (copy.width, copy.height) == frame.size
    assert np.abs(copy.to_ndarray(format="rgb24").astype(int) - expected).mean() < 1.5


def test_drawing_on_the_copy_leaves_the_decoders_frame_as_it_was():
    decoded = yuv420.from_rgb(_gradient(64, 48))
    before = decoded.to_ndarray().copy()
    yuv420.plane_arrays(DecodedFrame(0, 0.0, decoded).to_yuv420())[0][:] = 0
    np.testing.assert_array_equal(decoded.to_ndarray(), before)
