"""Column names and pyarrow schemas of every stored table, shared by writers, readers and tests."""

import pyarrow as pa

FRAME_INDEX = "frame_index"
PTS_SECONDS = "pts_seconds"
WIDTH = "width"
HEIGHT = "height"
IMAGE = "image"

BOXES = "boxes"
LABELS = "labels"
SCORES = "scores"
CLASS_NAMES = "class_names"

#: One row per decoded frame; ``image`` holds the frame as lossless PNG (see frame_codec).
VIDEO_FRAMES_SCHEMA = pa.schema(
    [
        pa.field(FRAME_INDEX, pa.int64(), nullable=False),
        pa.field(PTS_SECONDS, pa.float64(), nullable=False),
        pa.field(WIDTH, pa.int32(), nullable=False),
        pa.field(HEIGHT, pa.int32(), nullable=False),
        pa.field(IMAGE, pa.binary(), nullable=False),
    ]
)

#: Annotated frames keep the layout of the frames they were drawn on.
ANNOTATED_FRAMES_SCHEMA = VIDEO_FRAMES_SCHEMA

#: One row per frame (frames without detections hold empty lists); boxes are x1, y1, x2, y2 in the
#: pixels of the original frame, ``class_names[i]`` spells out ``labels[i]``.
FRAME_PREDICTIONS_SCHEMA = pa.schema(
    [
        pa.field(FRAME_INDEX, pa.int64(), nullable=False),
        pa.field(BOXES, pa.list_(pa.list_(pa.float32(), 4)), nullable=False),
        pa.field(LABELS, pa.list_(pa.int32()), nullable=False),
        pa.field(SCORES, pa.list_(pa.float32()), nullable=False),
        pa.field(CLASS_NAMES, pa.list_(pa.string()), nullable=False),
    ]
)
