"""Column names and pyarrow schemas of every stored table, shared by writers, readers and tests."""

import pyarrow as pa

#: The frame tables, each stored as parquet shards (sharded_tables): the decoded frames, the detections per
#: frame, and the frames with the detections drawn.
FRAMES_TABLE = "frames"
PREDICTIONS_TABLE = "predictions"
ANNOTATED_TABLE = "annotated"

FRAME_INDEX = "frame_index"
PTS_SECONDS = "pts_seconds"
WIDTH = "width"
HEIGHT = "height"
IMAGE = "image"

BOXES = "boxes"
LABELS = "labels"
SCORES = "scores"
CLASS_NAMES = "class_names"

#: One row per decoded frame; ``image`` holds the frame as JPEG or PNG (see frame_codec).
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

CLASS_NAME = "class_name"
COUNT = "count"
FRAMES_WITH_CLASS = "frames_with_class"
SHARE_OF_FRAMES = "share_of_frames"
DETECTIONS = "detections"
MAX_IN_ONE_FRAME = "max_in_one_frame"
FIRST_SEEN_SECONDS = "first_seen_seconds"
LAST_SEEN_SECONDS = "last_seen_seconds"
VIDEO = "video"

#: Per frame and object class, the detections above the drawing threshold (a row even when 0).
MASK_TIMELINE_SCHEMA = pa.schema(
    [
        pa.field(FRAME_INDEX, pa.int64(), nullable=False),
        pa.field(PTS_SECONDS, pa.float64(), nullable=False),
        pa.field(CLASS_NAME, pa.string(), nullable=False),
        pa.field(COUNT, pa.int32(), nullable=False),
    ]
)

_CLASS_SUMMARY_FIELDS = [
    pa.field(CLASS_NAME, pa.string(), nullable=False),
    pa.field(FRAMES_WITH_CLASS, pa.int64(), nullable=False),
    pa.field(SHARE_OF_FRAMES, pa.float64(), nullable=False),
    pa.field(DETECTIONS, pa.int64(), nullable=False),
    pa.field(MAX_IN_ONE_FRAME, pa.int64(), nullable=False),
    pa.field(FIRST_SEEN_SECONDS, pa.float64()),
    pa.field(LAST_SEEN_SECONDS, pa.float64()),
]

#: One row per object class of one video: in how many frames (and which share of them) it appears.
MASK_SUMMARY_SCHEMA = pa.schema(_CLASS_SUMMARY_FIELDS)

#: The per-video summaries of every video, one row per video and class.
VIDEOS_MASK_SUMMARY_SCHEMA = pa.schema([pa.field(VIDEO, pa.string(), nullable=False), *_CLASS_SUMMARY_FIELDS])
