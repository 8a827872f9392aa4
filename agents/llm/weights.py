"""Reading safetensors weights from a file or a folder (possibly sharded), for in-place weight reloads.

Why here: both backends reload weights the same way for Echo's weight sync (the trainer writes a
safetensors checkpoint, samplers swap it in without restarting), so the file handling lives in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from core.errors import SymphonyError

if TYPE_CHECKING:
    import torch


def safetensors_files(path: Path) -> list[Path]:
    """The safetensors files at `path`: the file itself, or every `*.safetensors` in the folder (sorted)."""
    path = Path(path)
    if path.is_file():
        if path.suffix != ".safetensors":
            raise SymphonyError(f"weights file must be a .safetensors file, got {path}")
        return [path]
    if path.is_dir():
        files = sorted(path.glob("*.safetensors"))
        if not files:
            raise SymphonyError(f"no .safetensors files in weights folder {path}")
        return files
    raise SymphonyError(f"weights path does not exist: {path}")


def iter_safetensors(path: Path) -> Iterator[tuple[str, "torch.Tensor"]]:
    """Yield (name, tensor) for every tensor at `path`, one file at a time (CPU tensors)."""
    from safetensors import SafetensorError
    from safetensors.torch import safe_open

    for file in safetensors_files(path):
        try:
            with safe_open(str(file), framework="pt", device="cpu") as handle:
                for name in handle.keys():
                    yield name, handle.get_tensor(name)
        except SafetensorError as exc:
            raise SymphonyError(f"cannot read safetensors file {file}: {exc}") from exc
