"""A real S3-compatible server (moto in server mode) on loopback, for the S3 paths of the tests."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from moto.server import ThreadedMotoServer

from maskassets_tests.support.loopback import free_port

FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@contextmanager
def s3_server() -> Iterator[str]:
    """Start the server; yields its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    # moto keeps its buckets and users per process, not per server: start each server empty.
    _moto_api(endpoint, "reset", "")
    try:
        yield endpoint
    finally:
        server.stop()


def admin_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def make_public_bucket(client, bucket: str) -> None:
    client.create_bucket(Bucket=bucket)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        ],
    }
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


@contextmanager
def credentials_under_policy(endpoint: str, statements: list[dict]) -> Iterator[dict[str, str]]:
    """A user whose IAM policy is ``statements``, with moto's IAM checks on for as long as the block runs;
    yields that user's AWS_* credentials."""
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    iam.create_user(UserName="limited")
    iam.put_user_policy(
        UserName="limited",
        PolicyName="limited",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    key = iam.create_access_key(UserName="limited")["AccessKey"]
    # moto checks IAM only after this many requests; "inf", its default, turns the checks off.
    _moto_api(endpoint, "reset-auth", "0")
    try:
        yield {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    finally:
        _moto_api(endpoint, "reset-auth", "inf")


def _moto_api(endpoint: str, action: str, body: str) -> None:
    request = urllib.request.Request(
        f"{endpoint}/moto-api/{action}",
        data=body.encode(),
        method="POST",
        # Not form-encoded, or the server parses the body as a form and finds no count in it.
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
