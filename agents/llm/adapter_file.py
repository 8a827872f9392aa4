"""The Symphony adapter file: one safetensors file holding a LoRA adapter, its config and its base model's hash.

Why here, below echo_sync: Echo writes these files as policy versions, and an agent profile serves one
(`LLMSettings.adapter`, agents.llm.factory); the format is the contract between them, so it lives in the lower
layer and echo_sync.adapters builds on it. echo_sync.adapters' docstring says why one file and what the base
model's hash covers.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from core.errors import SymphonyError
from core.hashing import sha256_file

ADAPTER_FILE = "adapter.safetensors"
META_CONFIG = "symphony.lora"
META_BASE = "symphony.base_sha256"
PEFT_CONFIG = "adapter_config.json"
PEFT_WEIGHTS = "adapter_model.safetensors"
MAX_HEADER_BYTES = 1 << 20


class AdapterError(SymphonyError):
    """An adapter file that is corrupt, too large, for another base model or of another shape: never loaded."""


@lru_cache(maxsize=8)
def base_model_hash(model_dir: str | Path) -> str:
    """sha256 of the base model's weights (see the module docstring); cached per folder within a process."""
    folder = Path(model_dir)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise AdapterError(f"model folder {folder} has no *.safetensors weights to identify it by")
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.name}\0{sha256_file(f)}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class AdapterFile:
    tensors: dict[str, torch.Tensor]
    config: dict[str, Any]
    base_sha256: str


def read_adapter(data: bytes) -> AdapterFile:
    """Parse a version file (already sha256-verified); AdapterError for anything that is not a whole adapter."""
    from safetensors.torch import load

    if len(data) < 8:
        raise AdapterError("adapter file is truncated (no safetensors header)")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > min(MAX_HEADER_BYTES, len(data) - 8):
        raise AdapterError("adapter file is corrupt (bad safetensors header length)")
    try:
        header = json.loads(data[8 : 8 + header_len])
        meta = header.get("__metadata__") or {}
        config = json.loads(meta[META_CONFIG])
        base = str(meta[META_BASE])
        tensors = load(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise AdapterError(f"adapter file is corrupt or not a Symphony adapter: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own SafetensorError for corrupt bytes
        raise AdapterError(f"adapter file is corrupt: {exc}") from None
    if not isinstance(config, dict) or not {"r", "lora_alpha", "target_modules"} <= set(config) or not tensors:
        raise AdapterError("adapter file has no LoRA config or no tensors")
    return AdapterFile(tensors, config, base)


def write_peft_folder(adapter: AdapterFile, folder: Path) -> Path:
    """The verified adapter as a peft adapter folder (what `LLMBackend.load_adapter(path)` takes)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": adapter.config["r"],
              "lora_alpha": adapter.config["lora_alpha"], "target_modules": adapter.config["target_modules"],
              "lora_dropout": 0.0, "bias": "none", "base_model_sha256": adapter.base_sha256}
    save_file(adapter.tensors, str(folder / PEFT_WEIGHTS))
    (folder / PEFT_CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True))
    return folder


def base_hash_from_uri(uri: str) -> str | None:
    """The base model hash a publisher put in the URI's fragment (`#base=<sha256>`), if any."""
    _, _, fragment = uri.partition("#")
    for part in fragment.split("&"):
        key, _, value = part.partition("=")
        if key == "base" and value:
            return value.lower()
    return None
