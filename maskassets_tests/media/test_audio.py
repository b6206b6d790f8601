"""The output video carries the source's sound, in sync with its pictures: copied where the output container
takes the source's codec, encoded once by source_audio where it does not and copied by every output made from
it; a silent source gives a silent output, dropped sound is neither read nor kept, and the output's container
rebuilds the kept sound."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import av
import dagster as dg
import numpy as np
import pytest

from maskassets.stages.source_audio import sound_parts
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.schema import AUDIO_FOLDER
from maskassets_tests.support.media import (
    ffmpeg_test_pattern,
    ffprobe_frames,
    make_clip,
    pipeline_settings,
    with_beep,
)
from maskassets_tests.support.pipeline_run import (
    materialize_only,
    register_and_run,
    reused_by_stage,
    step_failure,
)
from maskassets_tests.support.published import CLIPS, WITH_SOUND

pytestmark = pytest.mark.slow
SECONDS, BEEP_AT, PART_SECONDS = 2.0, 1.0, 0.5
#: Per source: how its picture is made, and the encoder of its sound (None: no sound).
SOURCES = {
    "aac.mp4": ("h264", ["-c:a", "aac"]),
    # MPEG-TS starts its clock at 1.4 s and puts audio and video at different times from there.
    "aac.ts": ("h264", ["-c:a", "aac"]),
    # QuickTime's IMA ADPCM (1990s), which neither output container takes (nor Matroska holds): encoded.
    "adpcm.mov": ("h264", ["-c:a", "adpcm_ima_qt"]),
    "opus.mkv": ("vp8", ["-c:a", "libopus"]),
}


@dataclass(frozen=True)
class Sound:
    #: When the beep starts, counted from the first video frame's time.
    beep_after_first_frame: float
    duration_seconds: float
    codec: str
    #: The packets' bytes, in order, less any that begins before the first video frame.
    packets_from_first_frame: list[bytes]


def _sound(path: Path) -> Sound | None:
    """The first audio stream of ``path`` as decoded by FFmpeg, on the clock of its first video frame."""
    first_frame = min(frame.seconds for frame in ffprobe_frames(path) if frame.seconds is not None)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        packets = [
            bytes(packet)
            for packet in container.demux(stream)
            if packet.size and packet.pts * packet.time_base >= first_frame
        ]
    onset, samples = None, 0
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            loud = np.flatnonzero(np.abs(frame.to_ndarray().astype(np.float64)).max(axis=0) > 0.3 * _full_scale(frame))
            if onset is None and loud.size:
                onset = float(frame.time) + loud[0] / frame.sample_rate
            samples += frame.samples
            rate = frame.sample_rate
    assert onset is not None, f"no beep in {path}"
    return Sound(onset - first_frame, samples / rate, stream.codec_context.name, packets)


def _full_scale(frame: av.AudioFrame) -> float:
    return {"s16": 2**15, "s16p": 2**15, "s32": 2**31, "s32p": 2**31}.get(frame.format.name, 1.0)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, checkpoint_path: Path) -> Path:
    """Every source through the whole chain once (WebM output); tests work on copies."""
    base = tmp_path_factory.mktemp("audio")
    (base / "videos").mkdir()
    for name, (video_codec, audio_args) in SOURCES.items():
        picture = base / f"picture-{name}.{'webm' if video_codec == 'vp8' else 'mp4'}"
        if video_codec == "vp8":
            ffmpeg_test_pattern(picture, encoder_args=["-c:v", "libvpx"], seconds=SECONDS, rate=12)
        else:
            make_clip(picture, frames=int(SECONDS * 12), fps=12)
        target = base / "videos" / name
        if audio_args is None:
            shutil.copy(picture, target)
        else:
            with_beep(picture, target, seconds=SECONDS, beep_at=BEEP_AT, audio_args=audio_args)
    (base / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in _settings(base, checkpoint_path).items():
            patch.setenv(variable, value)
        with dg.DagsterInstance.get() as instance:
            runs = register_and_run(instance, list(SOURCES))
    assert all(run.success for run in runs.values())
    return base


@pytest.fixture
def copy_of_built(built: Path, tmp_path: Path, checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for folder in ("videos", "artifacts", "home"):
        shutil.copytree(built / folder, tmp_path / folder)
    for variable, value in _settings(tmp_path, checkpoint_path).items():
        monkeypatch.setenv(variable, value)
    return tmp_path


def _settings(root: Path, checkpoint_path: Path) -> dict[str, str]:
    # Sound in parts of half a second: 4 parts of each clip, kept side by side and joined in the output.
    return {
        "DAGSTER_HOME": str(root / "home"),
        "MASKASSETS_SOUND_PART_SECONDS": str(PART_SECONDS),
        **pipeline_settings(root, checkpoint_path),
    }


def _output(root: Path, name: str) -> Path:
    store = ArtifactStore(str(root / "artifacts"))
    manifest = store.require_manifest("output_webm", name)
    return Path(store.artifact_path(manifest, manifest.metadata["file"]).path)


@pytest.mark.parametrize("name", [name for name, (_, audio) in SOURCES.items() if audio])
def test_the_output_plays_the_source_sound_in_sync_for_its_whole_length(built, name):
    source, output = _sound(built / "videos" / name), _sound(_output(built, name))

    assert output is not None and output.codec == "opus"
    assert output.beep_after_first_frame == pytest.approx(source.beep_after_first_frame, abs=0.025)
    assert output.duration_seconds == pytest.approx(source.duration_seconds, abs=0.05)
    if name == "aac.mp4":
        # The picture's clock starts at 0 in an MP4, so the beep is where it was put.
        assert output.beep_after_first_frame == pytest.approx(BEEP_AT, abs=0.025)


def test_opus_is_copied_into_the_webm_packet_for_packet(built):
    source, output = _sound(built / "videos" / "opus.mkv"), _sound(_output(built, "opus.mkv"))
    assert output.packets_from_first_frame == source.packets_from_first_frame


def test_a_source_without_sound_gives_a_silent_output(published_videos):
    (silent,) = set(CLIPS) - {WITH_SOUND}
    store = published_videos.store
    assert store.require_manifest("source_audio", silent).metadata["has_audio"] is False
    output = store.require_manifest("output_webm", silent)
    assert output.metadata["audio"] is False
    assert _sound(Path(store.artifact_path(output, output.metadata["file"]).path)) is None


def test_sound_encoded_for_the_webm_is_copied_by_an_output_made_again(copy_of_built, monkeypatch):
    monkeypatch.setenv("MASKASSETS_LINE_WIDTH", "5")
    with dg.DagsterInstance.get() as instance:
        (redrawn_run,) = register_and_run(instance, ["aac.mp4"]).values()

    store = ArtifactStore(str(copy_of_built / "artifacts"))
    kept = store.require_manifest("source_audio", "aac.mp4")
    assert (kept.metadata["source_codec"], kept.metadata["codec"], kept.metadata["container"]) == (
        "aac",
        "opus",
        "webm",
    )
    assert {stage for stage, reused in reused_by_stage(redrawn_run).items() if not reused} == {
        "annotated_frames",
        "output_webm",
    }
    assert len(kept.metadata["parts"]) == SECONDS / PART_SECONDS
    stored = [packet for part in sound_parts(store, kept) for packet in _packets(Path(part.path))]
    assert stored == _packets(_output(copy_of_built, "aac.mp4"))


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(packet) for packet in container.demux(audio=0) if packet.size]


def test_an_mp4_output_copies_aac_and_dropped_sound_is_neither_read_nor_kept(copy_of_built, monkeypatch):
    source = _sound(copy_of_built / "videos" / "aac.mp4")
    store = ArtifactStore(str(copy_of_built / "artifacts"))
    monkeypatch.setenv("MASKASSETS_CODEC", "h264")
    with dg.DagsterInstance.get() as instance:
        webm_sound = step_failure(materialize_only(instance, "aac.mp4", ["annotated_frames", "output_webm"]))
        (mp4_run,) = register_and_run(instance, ["aac.mp4"]).values()
        mp4 = _sound(_output(copy_of_built, "aac.mp4"))
        monkeypatch.setenv("MASKASSETS_AUDIO", "drop")
        (silent_run,) = register_and_run(instance, ["aac.mp4"]).values()
        silent = _sound(_output(copy_of_built, "aac.mp4"))
        dropped = store.require_manifest("source_audio", "aac.mp4")
        monkeypatch.setenv("MASKASSETS_AUDIO", "keep")
        no_sound_kept = step_failure(materialize_only(instance, "aac.mp4", ["output_webm"]))
        (sound_again_run,) = register_and_run(instance, ["aac.mp4"]).values()

    assert mp4.codec == "aac" and mp4.packets_from_first_frame == source.packets_from_first_frame
    assert mp4.beep_after_first_frame == pytest.approx(source.beep_after_first_frame, abs=0.025)
    assert silent is None
    assert (dropped.metadata["has_audio"], dropped.metadata["dropped"]) == (False, True)
    assert not Path(store.artifact_path(dropped, AUDIO_FOLDER).path).exists()
    assert _sound(_output(copy_of_built, "aac.mp4")).packets_from_first_frame == source.packets_from_first_frame
    rebuilt = [
        {stage for stage, reused in reused_by_stage(run).items() if not reused}
        for run in (mp4_run, silent_run, sound_again_run)
    ]
    # annotated_frames was drawn for the MP4 by the refused run.
    assert rebuilt == [{"source_audio", "output_webm"}] * 3
    assert "was dropped (`encoder.audio` (MASKASSETS_AUDIO) was drop when source_audio was made)" in no_sound_kept
    # The sound kept for the WebM is Opus, which the MP4 must not be given.
    assert "was kept for webm, but `encoder.codec` (MASKASSETS_CODEC) writes mp4: materialize source_audio" in (
        webm_sound
    )
