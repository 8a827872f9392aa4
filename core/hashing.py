"""sha256 of a file, streamed: policy versions, adapters, detector weights and model folders are all identified by
the digest of their bytes, and some of those files are hundreds of MB, so they are never read whole."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
