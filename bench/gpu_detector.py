"""The detector on a GPU: frames per second of maskassets's detector actor (``FrameDetector``: stored JPEG frames
decoded on the GPU in one batch, the detector tuned for inference, fp32 / fp16 / bf16, batch 1, 4 and 8)
against the tutorial's inference step (the frame sent from host memory, one forward per frame, fp32) on the
same GPU, with the GPU's utilisation, the host CPU each frame costs and the GPU memory each run peaks at.

    python bench/gpu_detector.py --video CLIP.mp4 --frames 240 --resolutions 720 1080

It needs torch, torchvision, OpenCV and maskassets's detector modules, not Ray or Dagster, so it runs on a GPU
machine that has no more than those (PYTHONPATH=. from the repository's root). The detector is a randomly
initialised R50, which returns 100 boxes a frame: the box heads and NMS work as hard as they ever do. Prints a
table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import torch
import torchvision

from maskassets.batch.detector_actor import FrameDetector
from maskassets.media.frame_codec import FrameFormat, decode_frame
from maskassets.model.detector_spec import DetectorSpec
from maskassets.storage import schema

RESOLUTIONS = {720: (1280, 720), 1080: (1920, 1080)}
TUTORIAL_BATCH = 8


@dataclass
class Measurement:
    resolution: int
    contender: str
    precision: str
    batch_size: int
    frames: int
    wall_seconds: float
    frames_per_second: float
    host_cpu_ms_per_frame: float
    gpu_utilisation_percent: float | None
    peak_gpu_memory_mib: float | None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", required=True, help="a clip; its frames are looped to --frames")
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--resolutions", type=int, nargs="+", choices=sorted(RESOLUTIONS), default=[720, 1080])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--precisions", nargs="+", default=["fp32", "fp16", "bf16"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--min-size", type=int, default=800, help="the detector's resize (torchvision's default)")
    parser.add_argument("--out", default="bench/results/gpu_detector.json")
    args = parser.parse_args()

    device = torch.device(args.device)
    spec = DetectorSpec(min_size=args.min_size)
    source_frames = read_frames(Path(args.video), args.frames)
    measurements: list[Measurement] = []
    with tempfile.TemporaryDirectory() as scratch:
        checkpoint = Path(scratch) / "random_r50.pth"
        torch.save(random_detector(spec).state_dict(), checkpoint)
        for resolution in args.resolutions:
            frames = [cv2.resize(frame, RESOLUTIONS[resolution]) for frame in source_frames]
            jpegs = [FrameFormat("jpeg").encode(frame) for frame in frames]
            measurements.append(
                measure(
                    resolution,
                    "tutorial step",
                    "fp32",
                    TUTORIAL_BATCH,
                    device,
                    tutorial_step(checkpoint, spec, device, frames),
                )
            )
            for precision in args.precisions:
                detector = FrameDetector(
                    checkpoint_uri=str(checkpoint), spec=spec, device=args.device, precision=precision
                )
                for batch_size in args.batch_sizes:
                    measurements.append(
                        measure(
                            resolution,
                            "maskassets actor",
                            precision,
                            batch_size,
                            device,
                            actor_batches(detector, jpegs, batch_size),
                        )
                    )
                del detector
        decoding = jpeg_decoding(jpegs, device)
    print_table(measurements, decoding)
    report = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "video": Path(args.video).name,
        "min_size": args.min_size,
        "measurements": [asdict(measurement) for measurement in measurements],
        "jpeg_decoding_ms_per_frame": decoding,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


def read_frames(video: Path, count: int) -> list[np.ndarray]:
    """``count`` RGB frames of ``video``, from its start again whenever it ends."""
    capture = cv2.VideoCapture(str(video))
    frames: list[np.ndarray] = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            if not frames:
                raise SystemExit(f"OpenCV decoded no frame of {video}")
            capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def random_detector(spec: DetectorSpec) -> torch.nn.Module:
    return torchvision.models.detection.fasterrcnn_resnet50_fpn(
        weights=None,
        weights_backbone=None,
        num_classes=len(spec.class_names),
        min_size=spec.min_size,
        max_size=spec.max_size,
    )


def tutorial_step(
    checkpoint: Path, spec: DetectorSpec, device: torch.device, frames: list[np.ndarray]
) -> Iterator[int]:
    """The tutorial's detector step: its actors get batches of 8 decoded frames and run the plain model once per
    frame, each frame made a float tensor on the host and then copied to the GPU."""
    model = random_detector(spec)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    model.eval().to(device)
    for start in range(0, len(frames), TUTORIAL_BATCH):
        batch = frames[start : start + TUTORIAL_BATCH]
        for frame in batch:
            image = (torch.from_numpy(frame).permute(2, 0, 1).float() / 255.0).to(device)
            with torch.no_grad():
                output = model([image])[0]
            _ = {key: value.detach().cpu().numpy() for key, value in output.items()}
        yield len(batch)


def actor_batches(detector: FrameDetector, jpegs: list[bytes], batch_size: int) -> Iterator[int]:
    """What a frame_predictions actor does with each batch Ray Data hands it: stored JPEG frames in, a
    predictions table out."""
    for start in range(0, len(jpegs), batch_size):
        images = jpegs[start : start + batch_size]
        batch = {
            schema.FRAME_INDEX: np.arange(start, start + len(images)),
            schema.IMAGE: np.array(images, dtype=object),
        }
        detector(batch)
        yield len(images)


def measure(
    resolution: int, contender: str, precision: str, batch_size: int, device: torch.device, batches: Iterator[int]
) -> Measurement:
    """Times ``batches`` after its first two (cuDNN's algorithm search and the allocator's growth)."""
    for _ in range(2):
        next(batches)
    synchronise(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with UtilisationSampler(device) as sampler:
        wall_started, cpu_started = time.perf_counter(), time.process_time()
        frames = sum(batches)
        synchronise(device)
        wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    measurement = Measurement(
        resolution=resolution,
        contender=contender,
        precision=precision,
        batch_size=batch_size,
        frames=frames,
        wall_seconds=round(wall, 3),
        frames_per_second=round(frames / wall, 2),
        host_cpu_ms_per_frame=round(1000 * cpu / frames, 2),
        gpu_utilisation_percent=sampler.mean(),
        peak_gpu_memory_mib=round(peak, 1) if peak is not None else None,
    )
    print(measurement, flush=True)
    return measurement


def jpeg_decoding(jpegs: list[bytes], device: torch.device) -> dict[str, float]:
    """Milliseconds per stored frame to decode: OpenCV on one host core, and torchvision on the device in
    batches of 8 (what FrameDetector does)."""
    decoded = {"opencv_one_core": timed_per_frame(lambda: [decode_frame(image) for image in jpegs], len(jpegs))}
    if device.type == "cuda":
        encoded = [torch.frombuffer(bytearray(image), dtype=torch.uint8) for image in jpegs]

        def on_device() -> None:
            for start in range(0, len(encoded), 8):
                torchvision.io.decode_jpeg(encoded[start : start + 8], device=device)
            synchronise(device)

        on_device()
        decoded["torchvision_on_gpu_batch_8"] = timed_per_frame(on_device, len(jpegs))
    return decoded


def timed_per_frame(work: Callable[[], object], frames: int) -> float:
    started = time.perf_counter()
    work()
    return round(1000 * (time.perf_counter() - started) / frames, 3)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class UtilisationSampler:
    """The GPU's utilisation as NVML reports it, sampled every 50 ms while the block runs (None off a GPU)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> UtilisationSampler:
        if self.device.type == "cuda":
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(self.device.index or 0)
            self._thread = threading.Thread(target=self._sample, args=(pynvml, handle), daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _sample(self, pynvml: ModuleType, handle: object) -> None:
        while not self._stop.wait(0.05):
            self.samples.append(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)

    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def print_table(measurements: list[Measurement], decoding: dict[str, float]) -> None:
    header = ("res", "contender", "precision", "batch", "frames/s", "host CPU ms/frame", "GPU util %", "GPU MiB")
    print(" | ".join(header))
    for m in measurements:
        row = (
            f"{m.resolution}p",
            m.contender,
            m.precision,
            m.batch_size,
            m.frames_per_second,
            m.host_cpu_ms_per_frame,
            m.gpu_utilisation_percent,
            m.peak_gpu_memory_mib,
        )
        print(" | ".join(str(value) for value in row))
    print("JPEG decoding, ms per frame (last resolution):", decoding)


if __name__ == "__main__":
    main()
