"""The S3 and HTTP paths against real servers on loopback: moto in server mode and http.server."""

from __future__ import annotations

import base64
import functools
import http.server
import threading
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import ray
from dagster_shared.serdes import serialize_value
from upath import UPath

from maskassets.batch.stored_frames import iter_stored_frames
from maskassets.cli.update import update_all
from maskassets.definitions import build_definitions
from maskassets.defs.jobs import STAGES
from maskassets.media.frame_codec import FrameFormat
from maskassets.media.video import iter_frames
from maskassets.media.video_writing import output_file_name
from maskassets.stages.model_checkpoint import download_checkpoint
from maskassets.stages.video_frames import DecodeSettings, extract_frames
from maskassets.storage.artifact_store import ArtifactStore
from maskassets.storage.errors import StorageAccessError
from maskassets.storage.sources import VideoFolder
from maskassets_tests.support.loopback import free_port
from maskassets_tests.support.media import OPEN_GOP_H264, decode_rgb_frames, ffmpeg_test_pattern, make_clip
from maskassets_tests.support.pipeline_run import register_and_run
from maskassets_tests.support.s3_server import (
    FAKE_CREDENTIALS,
    admin_client,
    credentials_under_policy,
    make_public_bucket,
)


def test_a_checkpoint_in_a_public_bucket_is_read_without_credentials(s3_endpoint, checkpoint_path, tmp_path):
    client = admin_client(s3_endpoint)
    make_public_bucket(client, "face-masks-data")
    client.upload_file(str(checkpoint_path), "face-masks-data", "models/ckpt.pth")
    sha256, size = download_checkpoint("s3://face-masks-data/models/ckpt.pth", str(tmp_path / "copy.pth"))
    assert size == checkpoint_path.stat().st_size
    assert (tmp_path / "copy.pth").read_bytes() == checkpoint_path.read_bytes()
    assert len(sha256) == 64


def test_a_missing_s3_checkpoint_names_the_uri_and_the_fix(s3_endpoint, tmp_path):
    admin_client(s3_endpoint).create_bucket(Bucket="models")
    with pytest.raises(FileNotFoundError, match=r"s3://models/absent.pth cannot be read.*`detector.checkpoint_uri`"):
        download_checkpoint("s3://models/absent.pth", str(tmp_path / "copy.pth"))


def test_a_checkpoint_is_read_over_http(checkpoint_path, tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(checkpoint_path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{checkpoint_path.name}"
        download_checkpoint(url, str(tmp_path / "copy.pth"))
    finally:
        server.shutdown()
    assert (tmp_path / "copy.pth").read_bytes() == checkpoint_path.read_bytes()


@pytest.mark.slow
def test_the_whole_chain_runs_with_videos_and_artifacts_on_s3(s3_endpoint, pipeline_env, dagster_home, monkeypatch):
    # Distinctive credentials (moto accepts any while its IAM checks are off), to look for them afterwards.
    credentials = {"AWS_ACCESS_KEY_ID": "AKIAMASKASSETSTEST01", "AWS_SECRET_ACCESS_KEY": "never-log-this-7f3c9a"}
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    client = admin_client(s3_endpoint)
    client.create_bucket(Bucket="media")
    clip = make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / "clip.mp4", frames=4)
    client.upload_file(str(clip), "media", "incoming/clip.mp4")
    monkeypatch.setenv("MASKASSETS_VIDEOS", "s3://media/incoming")
    monkeypatch.setenv("MASKASSETS_ARTIFACTS", "s3://media/artifacts")
    # Ray workers take the environment of the Ray they belong to: start one that has the S3 settings.
    ray.shutdown()
    try:
        with dg.instance_for_test(temp_dir=str(dagster_home)) as instance:
            result = register_and_run(instance, ["clip.mp4"])["clip.mp4"]
            everything_recorded = serialize_value(instance.all_logs(result.run_id)) + str(
                instance.get_run_by_id(result.run_id)
            )
        assert result.success
        for secret in credentials.values():
            assert secret not in everything_recorded
    finally:
        ray.shutdown()
    store = ArtifactStore("s3://media/artifacts")
    manifest = store.require_manifest("output_webm", "clip.mp4")
    local_copy = Path(pipeline_env["MASKASSETS_ARTIFACTS"]) / "downloaded.webm"
    local_copy.parent.mkdir(parents=True, exist_ok=True)
    local_copy.write_bytes(store.artifact_path(manifest, output_file_name("vp8")).read_bytes())
    assert len(decode_rgb_frames(local_copy)) == 4
    for item in client.list_objects_v2(Bucket="media", Prefix="artifacts/")["Contents"]:
        if item["Key"].endswith("manifest.json"):
            manifest_text = client.get_object(Bucket="media", Key=item["Key"])["Body"].read().decode()
            assert not any(secret in manifest_text for secret in credentials.values())
    listed = client.list_objects_v2(Bucket="media", Prefix="artifacts/")["Contents"]
    assert {item["Key"].split("/")[1] for item in listed} == set(STAGES)


NO_ACCESS = [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]


def test_locations_the_credentials_may_not_read_are_named_with_the_fix(s3_endpoint, checkpoint_path, monkeypatch):
    client = admin_client(s3_endpoint)
    client.create_bucket(Bucket="media")
    client.upload_file(str(checkpoint_path), "media", "models/ckpt.pth")
    with credentials_under_policy(s3_endpoint, NO_ACCESS) as credentials:
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(StorageAccessError, match=r"The videos folder s3://media/incoming refused access"):
            VideoFolder("s3://media/incoming").list_videos()
        with pytest.raises(
            StorageAccessError, match=r"The artifact root s3://media/artifacts refused access.*AWS chain"
        ):
            ArtifactStore("s3://media/artifacts").read_manifest("video_frames", "clip.mp4")
        with pytest.raises(FileNotFoundError, match=r"s3://media/models/ckpt.pth cannot be read \(.*AccessDenied"):
            download_checkpoint("s3://media/models/ckpt.pth", "/dev/null")


def test_an_unreachable_endpoint_is_named_with_the_setting_to_fix(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(
        StorageAccessError, match=r"The videos folder s3://media/incoming cannot be reached.*AWS_ENDPOINT_URL"
    ):
        VideoFolder("s3://media/incoming").list_videos()
    with pytest.raises(FileNotFoundError, match=r"s3://media/models/ckpt.pth cannot be read.*AWS_ENDPOINT_URL"):
        download_checkpoint("s3://media/models/ckpt.pth", "/dev/null")


@pytest.mark.slow
def test_a_video_the_credentials_may_not_read_fails_alone(s3_endpoint, pipeline_env, dagster_home, monkeypatch):
    client = admin_client(s3_endpoint)
    client.create_bucket(Bucket="media")
    for key in ("readable.mp4", "forbidden.mp4"):
        clip = make_clip(Path(pipeline_env["MASKASSETS_VIDEOS"]) / key, frames=3)
        client.upload_file(str(clip), "media", f"incoming/{key}")
    monkeypatch.setenv("MASKASSETS_VIDEOS", "s3://media/incoming")
    policy = [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::media/incoming/forbidden.mp4"},
    ]
    with credentials_under_policy(s3_endpoint, policy) as credentials:
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        with dg.DagsterInstance.get() as instance:
            report = update_all(instance)
    assert report.outcomes["readable.mp4"]["output_webm"] == "built"
    (failure,) = report.failures["forbidden.mp4"]
    assert failure.startswith("video_frames: The video s3://media/incoming/forbidden.mp4 refused access"), failure
    assert "standard AWS chain" in failure
    assert credentials["AWS_SECRET_ACCESS_KEY"] not in failure


@pytest.mark.parametrize("frame_format", ["png", "source"])
def test_segments_of_a_video_on_s3_decode_like_the_local_file(frame_format, s3_endpoint, tmp_path, monkeypatch):
    """Each segment task opens the object and seeks in it: S3 range reads, not a download of the whole file;
    frames kept as the source's packets are copied to S3 and decoded from there."""
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    client = admin_client(s3_endpoint)
    client.create_bucket(Bucket=f"media-{frame_format}")
    clip = ffmpeg_test_pattern(tmp_path / "open_gop.mp4", encoder_args=OPEN_GOP_H264)
    client.upload_file(str(clip), f"media-{frame_format}", "incoming/open_gop.mp4")
    sequential = list(iter_frames(UPath(str(clip))))
    # Ray workers take the environment of the Ray they belong to: start one that has the S3 settings.
    ray.shutdown()
    try:
        store = ArtifactStore(f"s3://media-{frame_format}/artifacts")
        with store.commit("video_frames", "open_gop.mp4", version="v1") as staged:
            settings = DecodeSettings(frame_format=FrameFormat(frame_format), min_segment_frames=12)
            source = UPath(f"s3://media-{frame_format}/incoming/open_gop.mp4")
            summary = extract_frames(store, source, staged, settings=settings)
        stored = list(iter_stored_frames(store, store.require_manifest("video_frames", "open_gop.mp4")))
    finally:
        ray.shutdown()
    assert summary.segments == 9
    assert [frame.pts_seconds for frame in stored] == [frame.pts_seconds for frame in sequential]
    for frame, read in zip(sequential, stored, strict=True):
        np.testing.assert_array_equal(read.rgb, frame.rgb)


class _TokenCheckingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files only to requests that carry the test's Basic credentials."""

    expected_authorization = "Basic " + base64.b64encode(b"reader:s3cr3t-t0ken").decode()

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != self.expected_authorization:
            self.send_error(401, "credentials required")
            return
        super().do_GET()

    do_HEAD = do_GET


@pytest.mark.parametrize("password", ["s3cr3t-t0ken", "wr0ng-t0ken"])
def test_credentials_in_the_checkpoint_uri_are_used_but_never_shown_or_stored(
    checkpoint_path, pipeline_env, dagster_home, monkeypatch, password
):
    handler = functools.partial(_TokenCheckingHandler, directory=str(checkpoint_path.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    signature = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
    host = f"127.0.0.1:{server.server_address[1]}"
    uri = f"http://reader:{password}@{host}/{checkpoint_path.name}?X-Amz-Signature={signature}&X-Amz-Expires=3600"
    monkeypatch.setenv("MASKASSETS_CHECKPOINT", uri)
    defs = build_definitions()
    try:
        with dg.DagsterInstance.get() as instance:
            result = dg.materialize(
                defs.assets,
                selection="model_checkpoint",
                resources=defs.resources,
                instance=instance,
                raise_on_error=False,
            )
            shown = serialize_value(list(instance.all_logs(result.run_id)))
    finally:
        server.shutdown()
    stored = Path(pipeline_env["MASKASSETS_ARTIFACTS"]) / "model_checkpoint" / "_all" / "manifest.json"
    if password == "s3cr3t-t0ken":
        assert result.success
        assert f"http://***@{host}/{checkpoint_path.name}?X-Amz-Signature=***&X-Amz-Expires=***" in shown
        shown += stored.read_text()
    else:
        assert not result.success and not stored.exists()
        assert f"The checkpoint http://***@{host}/{checkpoint_path.name}?X-Amz-Signature=***" in shown
        assert "401" in shown
    assert password not in shown and signature not in shown
