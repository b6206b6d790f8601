"""Turns what S3 (or a local disk) says when it refuses a request into an error that names the location,
what maskassets used it for, and what to change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.exceptions

_CREDENTIALS_HINT = (
    "maskassets takes credentials only from the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, an instance or pod role)"
)
_REGION_ERROR_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
_DENIED_ERROR_CODES = {"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class StorageAccessError(OSError):
    """A location maskassets needs cannot be reached or is refused to the current credentials."""


@contextmanager
def explain_storage_errors(role: str, location: str) -> Iterator[None]:
    """Re-raise access and connection failures inside the block as a StorageAccessError about ``location``,
    which maskassets uses as ``role`` (for example "the videos folder")."""
    try:
        yield
    except StorageAccessError:
        raise
    except PermissionError as error:
        raise _denied(role, location, error) from error
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in _REGION_ERROR_CODES:
            raise StorageAccessError(
                f"{role} {location} is in another AWS region than the one asked ({error}); set AWS_DEFAULT_REGION "
                "(or AWS_REGION) to the bucket's region."
            ) from error
        if code in _DENIED_ERROR_CODES:
            raise _denied(role, location, error) from error
        raise
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError) as error:
        raise StorageAccessError(
            f"{role} {location} cannot be reached ({error}); check AWS_ENDPOINT_URL (unset it for AWS S3 itself, "
            "or give the URL of your S3-compatible server) and the network."
        ) from error


def _denied(role: str, location: str, error: Exception) -> StorageAccessError:
    return StorageAccessError(
        f"{role} {location} refused access ({error or 'access denied'}); grant the current credentials access to "
        f"it or use others: {_CREDENTIALS_HINT}."
    )
