"""Data versions derived from provenance: the same inputs, code and settings give the same version."""

import hashlib
import json
from typing import Any


def fingerprint(*parts: Any) -> str:
    """A short, stable hash of JSON-serialisable ``parts``."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
