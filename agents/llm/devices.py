"""Turning the user's device/dtype words ("auto", "cuda:1", "bfloat16") into torch objects, with clear errors.

Why: the same settings must work on a 2-core laptop (CPU, float32) and on a GPU box (CUDA, bfloat16); "auto"
picks the sensible one, and asking for CUDA where there is none is a user error, not a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import SymphonyError

if TYPE_CHECKING:
    import torch

_DTYPES = ("float32", "bfloat16", "float16")


def resolve_device(name: str) -> "torch.device":
    """"auto" -> cuda if available else cpu; "cuda"/"cuda:N" must be available."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise SymphonyError(f"unknown device {name!r} (use auto, cpu, cuda or cuda:N)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SymphonyError(f"device {name!r} requested but CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise SymphonyError(f"device {name!r} requested but only {torch.cuda.device_count()} GPU(s) exist")
    elif device.type != "cpu":
        raise SymphonyError(f"unsupported device {name!r} (use auto, cpu, cuda or cuda:N)")
    return device


def resolve_dtype(name: str, device: "torch.device") -> "torch.dtype":
    """"auto" -> float32 on CPU (fast and exact there), bfloat16 on CUDA when supported, else float16."""
    import torch

    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if name not in _DTYPES:
        raise SymphonyError(f"unknown dtype {name!r} (use auto, {', '.join(_DTYPES)})")
    return getattr(torch, name)
