"""Fetch the checkpoint from its URI (local, s3://, https://) into the store and prove it loads."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
import botocore.exceptions
import smart_open
from botocore import UNSIGNED
from botocore.config import Config
from upath import UPath

from maskassets.model.detector_spec import DetectorSpec
from maskassets.storage import schema
from maskassets.storage.artifact_store import Manifest, StagedArtifact
from maskassets.storage.redaction import redact_text, redact_uri

STAGE = "model_checkpoint"
CODE_VERSION = "1"
#: Manifest metadata: the detector shape (architecture and class count) the stored file was proven to load into.
LOADS_INTO = "loads_into"
#: Manifest metadata: the source's change marker (checkpoint_marker) when the stored file was fetched.
SOURCE_MARKER = "source_marker"
_COPY_CHUNK_BYTES = 8 * 1024 * 1024


def download_checkpoint(uri: str, local_path: str) -> tuple[str, int]:
    """Copy ``uri`` to ``local_path``; returns the file's sha256 and size."""
    digest = hashlib.sha256()
    size = 0
    with _open_source(uri) as source, open(local_path, "wb") as sink:
        while chunk := source.read(_COPY_CHUNK_BYTES):
            digest.update(chunk)
            sink.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def checkpoint_marker(uri: str) -> str | None:
    """What changes when the file at ``uri`` is replaced, read without fetching it: ETag and size on S3, the
    server's ETag or Last-Modified and size over HTTP, size and mtime locally. None when the source tells
    nothing (the checkpoint is then fetched to be hashed)."""
    try:
        if uri.startswith("s3://"):
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            head = _s3_client().head_object(Bucket=bucket, Key=key)
            return f"etag:{head['ETag']}:{head['ContentLength']}"
        path = UPath(uri)
        info = path.fs.info(path.path)
    except (OSError, ValueError, botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        return None
    version = info.get("ETag") or info.get("Last-Modified") or info.get("mtime")
    return f"{version}:{info.get('size')}" if version is not None else None


def verify_checkpoint(local_path: str, spec: DetectorSpec, *, name: str) -> None:
    """Raise a CheckpointError unless the file loads into ``spec``'s detector."""
    # torch loads here, when a checkpoint changes, rather than with the definitions.
    from maskassets.model.loading import load_detector, read_state_dict

    with open(local_path, "rb") as stream:
        load_detector(spec, read_state_dict(stream, name=name), name=name)


def detector_shape(spec: DetectorSpec) -> str:
    """What loading a checkpoint depends on; the other settings only change how the detector runs."""
    return f"{spec.architecture}, {len(spec.class_names)} classes"


def already_proven(stored: Manifest | None, sha256: str, spec: DetectorSpec) -> bool:
    """Whether the stored checkpoint is this very file and was proven to load into ``spec``'s detector."""
    return stored is not None and stored.version == sha256 and stored.metadata.get(LOADS_INTO) == detector_shape(spec)


def unchanged_at_source(stored: Manifest | None, uri: str, marker: str | None, spec: DetectorSpec) -> bool:
    """Whether the stored checkpoint was fetched from ``uri`` when it had this very ``marker``, and proven to
    load into ``spec``'s detector: then there is nothing to fetch."""
    return (
        stored is not None
        and marker is not None
        and stored.metadata.get("source_uri") == redact_uri(uri)
        and stored.metadata.get(SOURCE_MARKER) == marker
        and already_proven(stored, stored.version, spec)
    )


def store_checkpoint(local_path: str, staged: StagedArtifact) -> None:
    target = staged.path(schema.CHECKPOINT_FILE)
    target.fs.put_file(local_path, target.path)


def _open_source(uri: str) -> Any:
    if not uri:
        raise ValueError(
            "No checkpoint URI is configured; set `detector.checkpoint_uri` to a path, s3:// or https:// URI."
        )
    try:
        if uri.startswith("s3://"):
            return smart_open.open(uri, "rb", transport_params={"client": _s3_client()})
        return smart_open.open(uri, "rb", compression="disable")
    except (OSError, botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise FileNotFoundError(
            f"The checkpoint {redact_uri(uri)} cannot be read ({redact_text(str(error), uri)}); check the URI and "
            "your access to it (`detector.checkpoint_uri`, AWS credentials or AWS_ENDPOINT_URL)."
        ) from None


def _s3_client() -> Any:
    """A client from the standard AWS credential chain, or an unsigned one for public buckets."""
    session = boto3.Session()
    if session.get_credentials() is None:
        return session.client("s3", config=Config(signature_version=UNSIGNED))
    return session.client("s3")
