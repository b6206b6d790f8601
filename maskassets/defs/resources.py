"""The resources every asset uses: what each setting means, its type, range and default (``defs/settings.py``
binds them to the MASKASSETS_* variables)."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from typing import Annotated, Any, Literal, get_args

import dagster as dg
import ray
from dagster_ray import LocalRay
from pydantic import AfterValidator, Field, model_validator

from maskassets.batch.cluster import (
    alive_nodes,
    hint_if_joining_lingers,
    require_head_answering,
    require_reachable_from_every_node,
)
from maskassets.batch.runner import MIN_READ_AHEAD_BYTES, STORE_SHARE, ActorPoolSettings
from maskassets.batch.segment_annotation import Drawing
from maskassets.detection.box_drawing import DEFAULT_CLASS_COLORS, BoxAnnotator
from maskassets.detection.tracking import TrackerSettings
from maskassets.media.frame_codec import FrameFormat, FrameFormatName
from maskassets.media.video_writing import EncoderSettings, OutputCodec
from maskassets.model.detector_spec import DEFAULT_ARCHITECTURE, DEFAULT_CLASS_NAMES, DetectorSpec, Precision
from maskassets.stages.face_tracks import TRAIL_POINTS
from maskassets.stages.video_frames import DecodeSettings
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.sharded_tables import ShardLayout
from maskassets.storage.sources import VideoFolder
from maskassets.storage.versions import fingerprint

DEFAULT_CHECKPOINT_URI = "s3://face-masks-data/finetuned-models/fasterrcnn_model_mask_detection.pth"

AudioChoice = Literal["keep", "drop"]


def one_of(choices: Any) -> Any:
    """Text limited to the values of the ``Literal`` type ``choices``. Typed as text for Dagster: its config schema
    of a Literal field keeps the class's default and drops the value the deployment gives it."""
    allowed = get_args(choices)

    def check(value: str) -> str:
        if value not in allowed:
            listed = ", ".join(repr(choice) for choice in allowed[:-1])
            raise ValueError(f"Input should be {listed} or {allowed[-1]!r}")
        return value

    return Annotated[str, AfterValidator(check)]


class ArtifactStoreResource(dg.ConfigurableResource):
    """Where every stage's artifacts live: a local folder or an s3://bucket/prefix."""

    root: str = "artifacts"
    max_shard_mib: float = Field(
        default=512, gt=0, le=1024, description="Largest parquet shard of a frame table, in MiB (at most 1 GiB)."
    )
    row_group_mib: float = Field(default=32, gt=0, description="Parquet row groups of about this many MiB.")
    gc_grace_hours: float = Field(
        default=24,
        ge=0,
        description="Folders no manifest names are collected once unchanged this long (and no run of their "
        "partition is in progress): longer than any run, so a reader on an older commit is never cut off.",
    )
    shared_by_all_nodes: bool = Field(
        default=False,
        description="A local root that every Ray node mounts at the same path (NFS, a shared disk); without it a "
        "local root is refused on a cluster of more than one node.",
    )

    def store(self) -> ArtifactStore:
        return ArtifactStore(self.root)

    def layout(self) -> ShardLayout:
        return ShardLayout(
            max_shard_bytes=int(self.max_shard_mib * 2**20),
            row_group_bytes=int(min(self.row_group_mib, self.max_shard_mib / 2) * 2**20),
        )


class VideoFolderResource(dg.ConfigurableResource):
    """The folder or s3:// prefix watched for videos, and how their frames are decoded and stored."""

    location: str = "videos"
    strict_decoding: bool = Field(
        default=False, description="Fail a video with any undecodable packet instead of skipping the lost frames."
    )
    frame_format: one_of(FrameFormatName) = Field(
        default="source",
        description="How frames are stored: source (the source's own packets copied per segment: about the "
        "source's bytes, every pixel as it decodes, decoded again by each stage that reads them), jpeg "
        "(decoded on the GPU in batches) or png (lossless images).",
    )
    jpeg_quality: int = Field(default=95, ge=1, le=100)
    segment_frames: int = Field(
        default=300,
        ge=1,
        description="A video is cut for parallel decoding at keyframes into as many segments of at least this many "
        "frames as it holds, the cuts at the keyframes nearest even shares (a segment may come out a little shorter).",
    )

    settle_seconds: float = Field(
        default=30.0,
        ge=0,
        description="The sensor takes a file once its size and mtime (ETag on S3) stayed the same this long.",
    )

    def folder(self) -> VideoFolder:
        return VideoFolder(self.location)

    def image_format(self) -> FrameFormat:
        return FrameFormat(name=self.frame_format, jpeg_quality=self.jpeg_quality)

    def decode_settings(self, layout: ShardLayout) -> DecodeSettings:
        return DecodeSettings(
            strict=self.strict_decoding,
            frame_format=self.image_format(),
            min_segment_frames=self.segment_frames,
            layout=layout,
        )

    def frames_fingerprint(self) -> str:
        """What decides the stored frames' bytes: their image format (how the video is cut does not)."""
        return fingerprint(self.image_format().identity())


#: A detector actor imports torch and loads the model before its first frame (seconds on a CPU or a GPU): a video
#: of fewer batches than this is run by one actor, and one more starts for each further this many.
_DETECTOR_BATCHES_PER_ACTOR = 8


class DetectorResource(dg.ConfigurableResource):
    """The checkpoint, the model settings that decide its detections, and how inference is spread on Ray."""

    checkpoint_uri: str = DEFAULT_CHECKPOINT_URI
    architecture: str = DEFAULT_ARCHITECTURE
    class_names: list[str] = Field(default_factory=lambda: list(DEFAULT_CLASS_NAMES), min_length=2)
    min_size: int = Field(default=800, ge=32)
    max_size: int = Field(default=1333, ge=32)
    box_score_thresh: float = Field(default=0.05, ge=0.0, le=1.0)
    box_detections_per_img: int = Field(default=100, ge=1)
    proposals: int | None = Field(
        default=None,
        ge=1,
        description="Region proposals the RPN hands the box head per frame (R-CNN architectures); unset: the "
        "architecture's default, 1000. Fewer is faster, as the box head runs once per proposal.",
    )
    device: str = "auto"
    batch_size: int | None = Field(default=None, ge=1, description="Frames per forward; unset: 8 on GPU, 1 on CPU.")
    pool_size: int = Field(
        default=0, ge=0, description="Actors running the model; 0 sizes the pool to the cluster and the video."
    )
    cpus_per_actor: float = Field(default=1.0, gt=0)
    gpus_per_actor: float | None = Field(
        default=None, ge=0, description="GPUs each actor reserves; unset: 1 when the cluster has GPUs, else 0."
    )
    precision: one_of(Precision) = Field(
        default="fp32", description="fp32, or autocast to bf16 (CPUs with AVX-512 BF16/AMX, GPUs) or fp16 (GPUs)."
    )
    frame_stride: int = Field(
        default=1, ge=1, description="Run the model on every Nth frame; the frames between keep the last boxes."
    )

    def spec(self) -> DetectorSpec:
        return DetectorSpec(
            architecture=self.architecture,
            class_names=tuple(self.class_names),
            min_size=self.min_size,
            max_size=self.max_size,
            box_score_thresh=self.box_score_thresh,
            box_detections_per_img=self.box_detections_per_img,
            proposals=self.proposals,
        )

    @model_validator(mode="after")
    def _proposals_need_a_proposal_network(self) -> DetectorResource:
        if self.proposals is not None and not self.spec().has_region_proposals():
            raise ValueError(
                f"{self.architecture} proposes no regions, so `proposals` does not apply to it; unset "
                "MASKASSETS_PROPOSALS or choose an R-CNN architecture."
            )
        return self

    def pool(self) -> ActorPoolSettings:
        return ActorPoolSettings(
            batch_size=self.batch_size,
            pool_size=self.pool_size,
            cpus_per_actor=self.cpus_per_actor,
            gpus_per_actor=self.gpus_per_actor,
            min_batches_per_actor=_DETECTOR_BATCHES_PER_ACTOR,
        )

    def results_fingerprint(self) -> str:
        """What decides the detections; batch and pool sizes only decide the speed."""
        fast_settings = {
            name: value
            for name, value, exact in (("precision", self.precision, "fp32"), ("frame_stride", self.frame_stride, 1))
            if value != exact
        }
        if "precision" in fast_settings:
            # Predictions made when autocast also covered box decoding and NMS are rebuilt; fp32 ones are not.
            fast_settings["precision_scope"] = "backbone and heads"
        # Without fast settings the fingerprint is the one artifacts made before they existed carry.
        return (
            fingerprint(self.spec().as_dict(), fast_settings) if fast_settings else fingerprint(self.spec().as_dict())
        )


class DrawingResource(dg.ConfigurableResource):
    """How detections are drawn: the score threshold, colours and line width."""

    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    line_width: int = Field(default=2, ge=1)
    font_scale: float = Field(default=0.4, gt=0)
    show_labels: bool = True
    trail_frames: int = Field(
        default=0,
        ge=0,
        le=TRAIL_POINTS,
        description=f"Draw each face's path over its last this many frames (0: none; at most {TRAIL_POINTS}).",
    )
    class_colors: dict[str, list[int]] = Field(
        default_factory=lambda: {name: list(rgb) for name, rgb in DEFAULT_CLASS_COLORS.items()}
    )

    def drawing(self, class_names: list[str]) -> Drawing:
        annotator = BoxAnnotator(
            class_names=class_names,
            class_colors={name: (rgb[0], rgb[1], rgb[2]) for name, rgb in self.class_colors.items()},
            line_width=self.line_width,
            font_scale=self.font_scale,
            show_labels=self.show_labels,
            trail_points=self.trail_frames,
        )
        return Drawing(annotator=annotator, threshold=self.threshold)

    def results_fingerprint(self) -> str:
        return fingerprint(
            self.threshold, self.line_width, self.font_scale, self.show_labels, self.class_colors, self.trail_frames
        )

    def summary_fingerprint(self) -> str:
        """What decides mask_summary: the threshold (what the video shows) and the colours of its plot."""
        return fingerprint(self.threshold, self.class_colors)


class TrackerResource(dg.ConfigurableResource):
    """How detections are followed from frame to frame into face tracks (ByteTrack)."""

    threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Detections this confident start tracks and are matched first."
    )
    low_threshold: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Weaker detections down to this score only carry tracks on."
    )
    match_iou: float = Field(default=0.2, gt=0.0, le=1.0, description="Least overlap of a track and its detection.")
    lost_seconds: float = Field(default=1.0, ge=0.0, description="How long an unseen track waits to be found again.")

    @model_validator(mode="after")
    def _low_below_threshold(self) -> TrackerResource:
        if self.low_threshold > self.threshold:
            raise ValueError(
                f"the tracker's low threshold {self.low_threshold} is above its threshold {self.threshold}; set "
                "MASKASSETS_TRACK_LOW_THRESHOLD at most MASKASSETS_TRACK_THRESHOLD."
            )
        return self

    def settings(self) -> TrackerSettings:
        return TrackerSettings(
            threshold=self.threshold,
            low_threshold=self.low_threshold,
            match_iou=self.match_iou,
            lost_seconds=self.lost_seconds,
        )

    def results_fingerprint(self) -> str:
        return fingerprint(asdict(self.settings()))


class EncoderResource(dg.ConfigurableResource):
    """The output encoder: WebM with VP8 (the tutorial's) or VP9, or MP4 with H.264; and its constant-quality
    level (lower is better and bigger)."""

    codec: one_of(OutputCodec) = "vp8"
    crf: int | None = Field(default=None, description="Unset: 10 for VP8/VP9 (4-63), 20 for H.264 (0-51).")
    bitrate: int = Field(default=4_000_000, ge=100_000)
    segment_frames: int = Field(
        default=600,
        ge=1,
        description="Frames per segment encoded in parallel (VP8/VP9; H.264 is encoded in one piece). Segments "
        "start on a keyframe, so this is also the longest keyframe interval.",
    )
    audio: one_of(AudioChoice) = Field(
        default="keep",
        description="keep: the output carries the source's sound (if any); drop: it is silent, and no sound is read "
        "or kept.",
    )
    sound_part_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Seconds of sound per part that source_audio keeps in parallel; the parts play on from each "
        "other as one stream, so this lays the sound out but does not change it.",
    )

    @model_validator(mode="after")
    def _crf_in_codec_range(self) -> EncoderResource:
        low, high = _CRF_RANGES[self.codec]
        if self.crf is not None and not low <= self.crf <= high:
            raise ValueError(
                f"crf {self.crf} is outside {low}-{high}, the range of {self.codec}; set MASKASSETS_CRF in it."
            )
        return self

    def settings(self) -> EncoderSettings:
        crf = self.crf if self.crf is not None else _DEFAULT_CRF[self.codec]
        segment_frames = None if self.codec == "h264" else self.segment_frames
        return EncoderSettings(
            codec=self.codec,
            crf=crf,
            bitrate=self.bitrate,
            segment_frames=segment_frames,
            audio=self.audio == "keep",
        )

    def results_fingerprint(self) -> str:
        """What decides the encoded video: everything but its sound."""
        return fingerprint({key: value for key, value in asdict(self.settings()).items() if key != "audio"})

    def sound_fingerprint(self) -> str:
        """What decides whether the published video carries the source's sound."""
        return fingerprint(self.audio)

    def stored_sound_fingerprint(self) -> str:
        """What decides the sound kept for the output: whether any is, and its container (VP8 and VP9 share
        WebM's)."""
        settings = self.settings()
        return fingerprint(settings.container) if settings.audio else fingerprint(self.audio)


_CRF_RANGES = {"vp8": (4, 63), "vp9": (4, 63), "h264": (0, 51)}
_DEFAULT_CRF = {"vp8": 10, "vp9": 10, "h264": 20}


#: The address Ray reported for each cluster address this process joined. Ray names a cluster by its head node's
#: IP, not by the address it was reached at (`localhost:6379`, a DNS name), so comparing with that address would
#: leave and join the cluster again at every step, with a new job whose workers all start anew.
_REPORTED_ADDRESSES: dict[str | None, str] = {}


#: A dataset holds its share of the object store, so a smaller local store would cut the detector's read-ahead below
#: its floor and leave the actors waiting on reads.
_MIN_LOCAL_OBJECT_STORE_MB = round(MIN_READ_AHEAD_BYTES / STORE_SHARE) // 2**20


class RayClusterResource(LocalRay):
    """Starts a local Ray for the step, or joins a running cluster when ``address`` is set (for example
    ``127.0.0.1:6379`` after ``ray start --head``). It connects only when a stage has work for Ray, so
    a rerun that reuses every artifact starts no Ray at all."""

    address: str | None = None
    connect_wait_seconds: float = Field(
        default=30,
        ge=0,
        description="How long a stage waits for the head at `address` to answer (one still starting) before it "
        "fails, naming the address; and how long a join may take before the stage says what to check.",
    )
    local_object_store_mb: int = Field(
        default=2048,
        ge=_MIN_LOCAL_OBJECT_STORE_MB,
        description="The object store of the local Ray (MiB), where the detector's frames wait for its actors. Its "
        "pages stay resident once touched, so it is sized to the pipeline's read-ahead (1 GiB at least, in the half "
        "of the store Ray Data lets a dataset hold) rather than Ray's 30 % of the machine's memory; a cluster's "
        "nodes size their own (`ray start --object-store-memory`).",
    )

    @property
    def ray_address(self) -> str:  # type: ignore[override]
        """``address``, or "local": a Ray of this process's own, sized by ``ray_init_options`` and
        ``local_object_store_mb``, rather than the cluster Ray's own RAY_ADDRESS or the machine's last `ray start`
        would have it join (where those sizes would be refused)."""
        return self.address or "local"

    def ensure_connected(
        self,
        context: dg.AssetExecutionContext,
        *,
        artifacts: ArtifactStoreResource,
        videos: VideoFolderResource | None = None,
    ) -> None:
        """Connect (once per process), then refuse before any work local paths that other nodes cannot read."""
        if not self._joined():
            if ray.is_initialized():
                ray.shutdown()
            self.connect(context)
            _REPORTED_ADDRESSES[self.address] = ray.get_runtime_context().gcs_address
            self.on_connect(context)
        require_reachable_from_every_node(
            artifact_root=None if artifacts.shared_by_all_nodes else artifacts.root,
            videos_location=None if videos is None or artifacts.shared_by_all_nodes else videos.location,
        )

    def connect(self, context: dg.AssetExecutionContext) -> None:
        """Join the cluster at ``address`` (or start a local Ray), with Ray Data's options set in this process,
        which runs every dataset. dagster-ray's own connect also sets them on a worker, through a task that
        imports Dagster there: 2.5 s a connection here, for options no dataset of this process reads."""
        options = dict(self.ray_init_options)
        if not self.address:
            options.setdefault("object_store_memory", self.local_object_store_mb * 2**20)
        if variables := self.get_env_vars_to_inject():
            runtime_env = options.get("runtime_env", {})
            options["runtime_env"] = runtime_env | {"env_vars": runtime_env.get("env_vars", {}) | variables}
        if self.address:
            require_head_answering(self.address, wait_seconds=self.connect_wait_seconds)
            stage = context.asset_key.to_user_string()
            hint = hint_if_joining_lingers(
                self.address,
                after_seconds=self.connect_wait_seconds,
                warn=lambda text: context.log.warning(f"{stage}: {text}"),
            )
        else:
            hint = contextlib.nullcontext()
        with hint:
            self._context = ray.init(address=self.ray_address, **options)
        self.data_execution_options.apply()

    def on_connect(self, context: dg.AssetExecutionContext) -> None:
        where = f"the Ray cluster at {self.address}" if self.address else "a local Ray"
        resources = ray.cluster_resources()
        context.log.info(
            f"Connected to {where}: {len(alive_nodes())} node(s), {resources.get('CPU', 0):g} CPU(s), "
            f"{resources.get('GPU', 0):g} GPU(s), {resources.get('object_store_memory', 0) / 2**30:.1f} GiB of object "
            "store."
        )

    def _joined(self) -> bool:
        """Whether this process is on the cluster at ``address`` (any Ray it runs when ``address`` is unset)."""
        if not ray.is_initialized():
            return False
        reported = ray.get_runtime_context().gcs_address
        return self.address is None or _REPORTED_ADDRESSES.get(self.address) == reported

    def cleanup(self, context: dg.InitResourceContext, exception: BaseException | None) -> None:
        """Keep the connection: the next run in this process (`maskassets update` runs one per video)
        reuses it instead of starting Ray again; Ray shuts it down when the process exits."""
