"""What a URI looks like wherever maskassets shows or stores it: credentials hidden, everything else kept."""

from __future__ import annotations

import pytest

from maskassets.storage.redaction import redact_text, redact_uri


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://user:token@models.example/ckpt.pt", "https://***@models.example/ckpt.pt"),
        ("https://token@models.example:8443/ckpt.pt", "https://***@models.example:8443/ckpt.pt"),
        (
            "https://bucket.s3.amazonaws.com/ckpt.pt?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abcd",
            "https://bucket.s3.amazonaws.com/ckpt.pt?X-Amz-Credential=***&X-Amz-Signature=***",
        ),
        ("s3://models/face-masks/ckpt.pt", "s3://models/face-masks/ckpt.pt"),
        ("/data/models/ckpt@2.pt", "/data/models/ckpt@2.pt"),
        ("models/ckpt.pt", "models/ckpt.pt"),
    ],
)
def test_credentials_are_hidden_and_the_rest_of_the_uri_kept(uri, shown):
    assert redact_uri(uri) == shown


def test_an_error_message_loses_the_secrets_a_library_quoted_in_its_own_way():
    uri = "https://reader:s3cr3t@host/ckpt.pt?sig=0a1b2c3d"
    message = "401 for url: https://host/ckpt.pt?sig=0a1b2c3d (auth reader:s3cr3t) while reading " + uri
    assert redact_text(message, uri) == (
        "401 for url: https://host/ckpt.pt?sig=*** (auth reader:***) while reading https://***@host/ckpt.pt?sig=***"
    )
