"""The S3 and HTTP paths against real servers on loopback: moto in server mode and http.server."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import dagster as dg
import pytest
import ray

from maskassets.stages.model_checkpoint import download_checkpoint
from maskassets.stages.output_webm import WEBM_FILE
from maskassets.storage import ArtifactStore
from maskassets_tests.media import decode_rgb_frames, make_clip
from maskassets_tests.pipeline_run import register_and_run
from maskassets_tests.s3_server import FAKE_CREDENTIALS, admin_client, make_public_bucket, s3_server

AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@pytest.fixture
def s3_endpoint(monkeypatch, tmp_path):
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with s3_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint


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
    with pytest.raises(FileNotFoundError, match=r"s3://models/absent.pth cannot be read.*MASKASSETS_CHECKPOINT"):
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
    for name, value in FAKE_CREDENTIALS.items():
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
        assert result.success
    finally:
        ray.shutdown()
    store = ArtifactStore("s3://media/artifacts")
    manifest = store.require_manifest("output_webm", "clip.mp4")
    local_copy = Path(pipeline_env["MASKASSETS_ARTIFACTS"]) / "downloaded.webm"
    local_copy.parent.mkdir(parents=True, exist_ok=True)
    local_copy.write_bytes(store.artifact_path(manifest, WEBM_FILE).read_bytes())
    assert len(decode_rgb_frames(local_copy)) == 4
    listed = client.list_objects_v2(Bucket="media", Prefix="artifacts/")["Contents"]
    assert {item["Key"].split("/")[1] for item in listed} == {
        "model_checkpoint",
        "video_frames",
        "frame_predictions",
        "annotated_frames",
        "output_webm",
    }
