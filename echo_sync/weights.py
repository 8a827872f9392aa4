"""Policy checkpoints on disk: one safetensors file per version, identified by the sha256 of its bytes.

Why hash the file rather than the tensors: the sha256 recorded on chain must be checkable by anyone who
downloads the URI with any tool (`sha256sum model.safetensors`), before parsing a single byte of it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch

from core.hashing import sha256_file


class PolicyStore:
    """<root>/v000001/model.safetensors, ... written atomically (a reader never sees half a file).

    With `keep`, only the newest `keep` versions stay on disk (a 135M-parameter policy is ~0.5 GB per version, and
    a long run would fill any disk); an older version's sha256 stays on chain, its file is gone.
    """

    FILE = "model.safetensors"
    ADAPTER_FILE = "adapter.safetensors"

    def __init__(self, root: Path, keep: int | None = None, *, base_sha256: str | None = None):
        """`base_sha256` set: versions are LoRA adapters of that base model (echo_sync.adapters), else full weights."""
        if keep is not None and keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.root = Path(root)
        self.keep = keep
        self.base_sha256 = base_sha256
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def file_name(self) -> str:
        return self.ADAPTER_FILE if self.base_sha256 else self.FILE

    def path(self, version: int) -> Path:
        if version < 0:
            raise ValueError(f"policy versions are non-negative, got {version}")
        return self.root / f"v{version:06d}" / self.file_name

    def write(self, model: torch.nn.Module, version: int) -> tuple[Path, str]:
        """Save `model`'s weights (or its adapter) as `version`; returns (path, sha256 hex)."""
        from safetensors.torch import save_model

        dest = self.path(version)
        if self.base_sha256:
            from echo_sync.adapters import write_adapter

            write_adapter(model, dest, self.base_sha256)
            sha = sha256_file(dest)
            if self.keep is not None:
                self._prune(version - self.keep)
            return dest, sha
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
        sha = sha256_file(dest)
        if self.keep is not None:
            self._prune(version - self.keep)
        return dest, sha

    def _prune(self, up_to: int) -> None:
        """Delete the files of versions <= `up_to`."""
        for folder in self.root.glob("v[0-9]*"):
            if folder.is_dir() and folder.name[1:].isdigit() and int(folder.name[1:]) <= up_to:
                (folder / self.file_name).unlink(missing_ok=True)
                try:
                    folder.rmdir()
                except OSError:  # something else lives there: leave it
                    pass
