"""The Ray task that makes one segment of the annotated video: it reads its frames and those frames' tracks from
the stored tables, draws the detections above the threshold and encodes the frames into a file that starts on a
keyframe, so output_webm joins it to the others without re-encoding. It checks the file it wrote from its packets
and its first frame, never decoding it in full."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise

import av
import cv2
import ray
from upath import UPath

from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.detection.box_drawing import BoxAnnotator
from maskassets.detection.detections import Detections
from maskassets.media.even_cuts import even_cuts
from maskassets.media.previews import encode_jpeg
from maskassets.media.video import opening_keyframe_size, stream_timing
from maskassets.media.video_writing import EncoderSettings, VideoWriter
from maskassets.storage import schema
from maskassets.storage.artifact_store import ArtifactStore, Manifest
from maskassets.storage.sharded_tables import iter_table_batches

_TRACK_COLUMNS = [schema.FRAME_INDEX, schema.BOXES, schema.LABELS, schema.SCORES, schema.TRACK_IDS, schema.TRAILS]


@dataclass(frozen=True)
class FrameRange:
    first_frame: int
    end_frame: int

    @property
    def frames(self) -> int:
        return self.end_frame - self.first_frame


@dataclass(frozen=True)
class Drawing:
    annotator: BoxAnnotator
    threshold: float


@dataclass(frozen=True)
class Picture:
    """The size and frame rate every segment of one video is encoded at."""

    width: int
    height: int
    rate: Fraction


@dataclass(frozen=True)
class AnnotatedSegment:
    """One encoded segment, where it sits in the artifact's folder, and what was seen making it."""

    file: str
    first_frame: int
    frames: int
    bytes: int
    last_pts_seconds: float
    node_id: str
    #: The poster frame (JPEG), when this segment holds it.
    poster_jpeg: bytes | None

    def record(self) -> dict:
        """What the manifest lists of it."""
        return {"file": self.file, "first_frame": self.first_frame, "frames": self.frames, "bytes": self.bytes}


def segment_ranges(frame_count: int, segment_frames: int | None, *, cuts: Sequence[int] = ()) -> list[FrameRange]:
    """Consecutive ranges of at most ``segment_frames`` frames (one range when None): with ``cuts``, each ending at
    the last of them within its reach, if any: where video_frames' copied packets start (already spread evenly),
    so that a range decodes no frame it does not draw (a copy decodes only from its start); without, of even
    lengths."""
    size = segment_frames or max(frame_count, 1)
    if not cuts:
        bounds = [0, *even_cuts(range(1, frame_count), frame_count, -(-frame_count // size)), frame_count]
        return [FrameRange(first, end) for first, end in pairwise(bounds) if first < end]
    boundaries = sorted({*cuts, frame_count})
    ranges, first = [], 0
    while first < frame_count:
        limit = min(first + size, frame_count)
        reachable = [boundary for boundary in boundaries if first < boundary <= limit]
        end = reachable[-1] if reachable else limit
        ranges.append(FrameRange(first, end))
        first = end
    return ranges


@ray.remote(num_cpus=1, max_retries=3)
def annotate_segment(
    store: ArtifactStore,
    frames: Manifest,
    tracks: Manifest,
    frame_range: FrameRange,
    directory: UPath,
    file: str,
    *,
    drawing: Drawing,
    encoder: EncoderSettings,
    picture: Picture,
    poster_index: int,
) -> AnnotatedSegment:
    """Draw and encode frames ``first_frame``..``end_frame - 1`` into ``directory / file``."""
    # Segments run side by side, a CPU each (Ray reserves one per task): threads within one would compete with
    # the other segments for the same cores (libvpx's own took about a tenth more CPU per 720p frame here). A
    # video encoded in one piece keeps the encoder's threads.
    cv2.setNumThreads(1)
    encoder_threads = 1 if encoder.segment_frames else 0
    poster, last_pts = None, 0.0
    target = directory / file
    # The muxers seek back to write their index, which S3 objects cannot do: encode locally, then upload.
    with tempfile.TemporaryDirectory(prefix="maskassets-segment-") as scratch:
        local_path = os.path.join(scratch, target.name)
        with VideoWriter(
            local_path,
            width=picture.width,
            height=picture.height,
            rate=picture.rate,
            codec=encoder.codec,
            crf=encoder.crf,
            bitrate=encoder.bitrate,
            threads=encoder_threads,
        ) as writer:
            for index, pts_seconds, picture in _drawn_frames(store, frames, tracks, frame_range, drawing):
                writer.write(picture, pts_seconds)
                if index == poster_index:
                    poster = encode_jpeg(picture.to_ndarray(format="rgb24"))
                last_pts = pts_seconds
        encoded_bytes = os.path.getsize(local_path)
        require_joinable(UPath(local_path), frames=writer.frames_written, size=writer.encoded_size, name=str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.fs.put_file(local_path, target.path)
    return AnnotatedSegment(
        file=file,
        first_frame=frame_range.first_frame,
        frames=writer.frames_written,
        bytes=encoded_bytes,
        last_pts_seconds=last_pts,
        node_id=ray.get_runtime_context().get_node_id(),
        poster_jpeg=poster,
    )


def require_joinable(encoded: UPath, *, frames: int, size: tuple[int, int], name: str) -> None:
    """Refuse an encoded segment (``name``) that output_webm could not join packet by packet: it must hold a packet
    for each of the ``frames`` written (no encoder here makes hidden frames) and open on a keyframe of ``size``.
    Decoding every frame would re-prove the encoder's own output for 3.5 to 4.7 ms of CPU a 720p frame, a sixth
    of the task's."""
    packets = stream_timing(encoded).frame_count
    opening = opening_keyframe_size(encoded)
    if packets != frames or opening != size:
        found = f"opens on a {opening[0]}x{opening[1]} keyframe" if opening else "does not open on a keyframe"
        raise EncodedSegmentError(
            f"The encoder wrote {frames} frames of {size[0]}x{size[1]} for {name}, but the file holds {packets} and "
            f"{found}: materialize annotated_frames again, and if it fails the same way, encode with another codec "
            "(MASKASSETS_CODEC)."
        )


class EncodedSegmentError(RuntimeError):
    """An encoded segment that cannot be joined to the others as it is."""


def _drawn_frames(
    store: ArtifactStore, frames: Manifest, tracks: Manifest, frame_range: FrameRange, drawing: Drawing
) -> Iterator[tuple[int, float, av.VideoFrame]]:
    """Each frame of the range, in order, with its time and its picture (4:2:0) with the detections drawn on it."""
    span = {"first_frame": frame_range.first_frame, "end_frame": frame_range.end_frame}
    track_rows = (
        row
        for batch in iter_table_batches(store, tracks, schema.TRACKS_TABLE, columns=_TRACK_COLUMNS, **span)
        for row in batch.to_pylist()
    )
    for frame in iter_stored_frames(store, frames, **span):
        found = next(track_rows, None)
        if found is None or found[schema.FRAME_INDEX] != frame.index:
            raise ValueError(
                f"frame {frame.index} of '{frames.partition}' has no row of its own in face_tracks; rebuild face_tracks"
            )
        detections = Detections.from_row(
            found[schema.BOXES],
            found[schema.LABELS],
            found[schema.SCORES],
            track_ids=found[schema.TRACK_IDS],
            trails=found[schema.TRAILS],
        ).above(drawing.threshold)
        picture = frame.to_yuv420()
        drawing.annotator.annotate(picture, detections)
        yield frame.index, frame.pts_seconds, picture
