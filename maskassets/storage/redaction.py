"""Credentials a URI may carry (``user:token@host``, a presigned query string) kept out of everything maskassets
shows or stores: manifests, metadata, logs and error messages."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

HIDDEN = "***"
#: Shorter values (``?v=2``) are left in free text, where replacing them would garble the words around them.
_SHORTEST_SECRET = 4


def redact_uri(uri: str) -> str:
    """``uri`` with its user information and every query value replaced by ``***``; paths are kept as they are."""
    parts = urlsplit(uri)
    if not parts.scheme or not (parts.username or parts.password or parts.query):
        return uri
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{HIDDEN}@{host}" if "@" in parts.netloc else host
    query = "&".join(f"{name}={HIDDEN}" for name, _ in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, uri: str) -> str:
    """``text`` (an error message, say) with ``uri`` and each secret it carries replaced, wherever a library put
    them."""
    parts = urlsplit(uri)
    text = text.replace(uri, redact_uri(uri))
    secrets = [parts.password, *(value for _, value in parse_qsl(parts.query))] if parts.scheme else []
    for secret in sorted(
        (secret for secret in secrets if secret and len(secret) >= _SHORTEST_SECRET), key=len, reverse=True
    ):
        text = text.replace(secret, HIDDEN)
    return text
