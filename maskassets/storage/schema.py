"""What a stage stores that another reads: table, column and file names, pyarrow schemas and manifest entries,
shared by writers, readers and tests."""

import pyarrow as pa

#: The frame tables, each stored as parquet shards (sharded_tables): the decoded frames, the detections per
#: frame, and the tracked detections per frame.
FRAMES_TABLE = "frames"
PREDICTIONS_TABLE = "predictions"
TRACKS_TABLE = "tracks"
#: annotated_frames' folder of encoded video segments (listed in its manifest's ``segments``).
ANNOTATED_SEGMENTS_FOLDER = "segments"
#: video_frames' folder of the source's packets copied per segment, when frames are stored as such.
SOURCE_SEGMENTS_FOLDER = "source_segments"
#: source_audio's folder of the sound's parts, Matroska files in time order (listed in its metadata's ``parts``).
AUDIO_FOLDER = "audio"

#: Files an artifact holds beside its frame tables, read by the stages after it.
CHECKPOINT_FILE = "checkpoint.pt"
TRACK_SPANS_FILE = "track_spans.parquet"
MASK_SUMMARY_FILE = "summary.parquet"
MASK_TIMELINE_FILE = "timeline.parquet"
VIDEOS_SUMMARY_FILE = "videos_mask_summary.parquet"
#: The annotated video's middle frame (JPEG), shown before it plays.
POSTER_FILE = "poster.jpg"

#: video_frames' manifest entry: the time of the source's first frame, which its sound is aligned to.
SOURCE_START_SECONDS = "source_start_seconds"

FRAME_INDEX = "frame_index"
PTS_SECONDS = "pts_seconds"
WIDTH = "width"
HEIGHT = "height"
IMAGE = "image"

BOXES = "boxes"
LABELS = "labels"
SCORES = "scores"
CLASS_NAMES = "class_names"
TRACK_IDS = "track_ids"
TRAILS = "trails"

#: One row per decoded frame, when its pixels are in the source's copied packets (see packet_copy).
FRAME_TIMES_SCHEMA = pa.schema(
    [
        pa.field(FRAME_INDEX, pa.int64(), nullable=False),
        pa.field(PTS_SECONDS, pa.float64(), nullable=False),
        pa.field(WIDTH, pa.int32(), nullable=False),
        pa.field(HEIGHT, pa.int32(), nullable=False),
    ]
)
#: One row per decoded frame; ``image`` holds the frame as JPEG or PNG (see frame_codec).
VIDEO_FRAMES_SCHEMA = FRAME_TIMES_SCHEMA.append(pa.field(IMAGE, pa.binary(), nullable=False))

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

#: The detections of each frame (as frame_predictions stores them) with the track id of each (-1: untracked) and
#: its trail: the box centres of its track's latest detections up to this one, oldest first, as x, y, x, y, ...
#: (empty when untracked).
FACE_TRACKS_SCHEMA = FRAME_PREDICTIONS_SCHEMA.append(pa.field(TRACK_IDS, pa.list_(pa.int64()), nullable=False)).append(
    pa.field(TRAILS, pa.list_(pa.list_(pa.float32())), nullable=False)
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
TRACK_ID = "track_id"
TRACK_CLASS = "track_class"
FIRST_FRAME = "first_frame"
LAST_FRAME = "last_frame"
SECONDS_ON_SCREEN = "seconds_on_screen"
DISTINCT_TRACKS = "distinct_tracks"
TRACK_SECONDS_TOTAL = "track_seconds_total"
TRACK_SECONDS_MEDIAN = "track_seconds_median"

#: Per track and class it was detected as: when, and how often. ``track_class`` is the class of most of the
#: track's detections, so a face that puts its mask on midway has a row per class and one track_class.
TRACK_SPANS_SCHEMA = pa.schema(
    [
        pa.field(TRACK_ID, pa.int64(), nullable=False),
        pa.field(TRACK_CLASS, pa.string(), nullable=False),
        pa.field(CLASS_NAME, pa.string(), nullable=False),
        pa.field(DETECTIONS, pa.int64(), nullable=False),
        pa.field(FIRST_FRAME, pa.int64(), nullable=False),
        pa.field(LAST_FRAME, pa.int64(), nullable=False),
        pa.field(FIRST_SEEN_SECONDS, pa.float64(), nullable=False),
        pa.field(LAST_SEEN_SECONDS, pa.float64(), nullable=False),
    ]
)

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
    # The faces: tracks whose detections are mostly of this class, and how long each was on screen
    # (empty in summaries made before tracking).
    pa.field(DISTINCT_TRACKS, pa.int64()),
    pa.field(TRACK_SECONDS_TOTAL, pa.float64()),
    pa.field(TRACK_SECONDS_MEDIAN, pa.float64()),
]

#: One row per object class of one video: in how many frames (and which share of them) it appears.
MASK_SUMMARY_SCHEMA = pa.schema(_CLASS_SUMMARY_FIELDS)

#: The per-video summaries of every video, one row per video and class.
VIDEOS_MASK_SUMMARY_SCHEMA = pa.schema([pa.field(VIDEO, pa.string(), nullable=False), *_CLASS_SUMMARY_FIELDS])
