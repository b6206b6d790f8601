from __future__ import annotations

import os

# Before anything imports Ray: keep every Ray process of the tests on loopback (on Linux Ray otherwise
# swaps 127.0.0.1 for the host's address), and let the test cluster accept clients without a token.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_AUTH_MODE"] = "disabled"

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import ray  # noqa: E402
import s3fs  # noqa: E402

from maskassets_tests.support.media import pipeline_settings, save_random_checkpoint  # noqa: E402
from maskassets_tests.support.postgres_server import postgres_server  # noqa: E402
from maskassets_tests.support.published import PublishedVideos, publish_two_videos  # noqa: E402
from maskassets_tests.support.s3_server import s3_server  # noqa: E402


@pytest.fixture(scope="session")
def checkpoint_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_checkpoint(tmp_path_factory.mktemp("checkpoint") / "random_r50.pt")


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def pipeline_env(tmp_path: Path, checkpoint_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """MASKASSETS_* settings for a small, fast model over a fresh videos folder and artifact root."""
    env = pipeline_settings(tmp_path, checkpoint_path)
    (tmp_path / "videos").mkdir()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty database on a PostgreSQL server of its own, on loopback."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def local_ray() -> None:
    """A local Ray for tests that start Ray work outside a Dagster run (a run connects on its own)."""
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False)


@pytest.fixture(scope="session")
def published_videos(tmp_path_factory: pytest.TempPathFactory, checkpoint_path: Path) -> PublishedVideos:
    """Two clips taken through `maskassets update` once for the session: what people then look at."""
    return publish_two_videos(tmp_path_factory.mktemp("published"), checkpoint_path)


AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


@pytest.fixture
def s3_endpoint(monkeypatch, tmp_path):
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    # s3fs keeps one filesystem (and its endpoint and credentials) per set of arguments for the process.
    s3fs.S3FileSystem.clear_instance_cache()
    with s3_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        yield endpoint
    s3fs.S3FileSystem.clear_instance_cache()
