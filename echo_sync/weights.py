"""Policy checkpoints on disk: one safetensors file per version, identified by the sha256 of its bytes.

Why hash the file rather than the tensors: the sha256 recorded on chain must be checkable by anyone who
downloads the URI with any tool (`sha256sum model.safetensors`), before parsing a single byte of it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch

CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class PolicyStore:
    """<root>/v000001/model.safetensors, ... written atomically (a reader never sees half a file)."""

    FILE = "model.safetensors"

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, version: int) -> Path:
        if version < 0:
            raise ValueError(f"policy versions are non-negative, got {version}")
        return self.root / f"v{version:06d}" / self.FILE

    def write(self, model: torch.nn.Module, version: int) -> tuple[Path, str]:
        """Save `model`'s weights as `version`; returns (path, sha256 hex)."""
        from safetensors.torch import save_model

        dest = self.path(version)
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".tmp")
        os.close(fd)
        try:
            # save_model (not save_file) de-duplicates tied tensors (embeddings / lm_head) instead of failing.
            save_model(model, tmp)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return dest, sha256_file(dest)
