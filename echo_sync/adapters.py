"""LoRA adapters as policy versions: one small safetensors file per version, bound to its base model.

Why an adapter and not the weights: SmolLM2-135M in float32 is 538 MB, which took ~5.7 s per version to export,
download, hash and load; a rank-8 adapter on the attention projections is 3.7 MB and syncs in milliseconds
(TRL, verl and vLLM serve LoRA the same way). The base model never changes during a run, so every party
loads it once and only adapters move.

Why one file with the config and the base model's hash in its safetensors metadata: the sha256 recorded on chain
covers all of it, so a sampler cannot be given a genuine adapter for another base model, or with another rank,
without the hash check failing; the base hash is also put in the URI's fragment on chain
(`…/adapter.safetensors#base=<sha256>`) so a sampler on another base model refuses *before* downloading.

What the base model's hash is: sha256 over the sorted (file name, sha256) of the model folder's *.safetensors
files — the bytes of the weights, independent of where the folder lives.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from core.errors import SymphonyError
from echo_sync.settings import LoRASettings
from echo_sync.weights import sha256_file

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


def lora_config(settings: LoRASettings):  # noqa: ANN201 - peft.LoraConfig
    from peft import LoraConfig

    return LoraConfig(r=settings.rank, lora_alpha=settings.alpha, target_modules=list(settings.target_modules),
                      lora_dropout=0.0, bias="none", task_type="CAUSAL_LM")


def apply_lora(model: torch.nn.Module, settings: LoRASettings) -> torch.nn.Module:
    """Wrap `model` with a fresh LoRA adapter (B = 0, so the policy starts exactly at the base model)."""
    from peft import get_peft_model

    return get_peft_model(model, lora_config(settings))


def is_adapter_model(model: Any) -> bool:
    return hasattr(model, "peft_config") and hasattr(model, "disable_adapter")


def adapter_tensors(model: Any) -> dict[str, torch.Tensor]:
    """The adapter's tensors under peft's file names (`base_model.model.<module>.lora_A.weight`)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().to("cpu", torch.float32).contiguous().clone() for k, v in get_peft_model_state_dict(model).items()}


def _config_of(model: Any) -> dict[str, Any]:
    cfg = model.peft_config["default"]
    return {"r": int(cfg.r), "lora_alpha": float(cfg.lora_alpha), "target_modules": sorted(cfg.target_modules)}


def adapter_bytes(model: Any, base_sha256: str) -> bytes:
    """The policy version file: the adapter's tensors, its config and the base model's hash (metadata)."""
    from safetensors.torch import save

    return save(adapter_tensors(model), metadata={META_CONFIG: json.dumps(_config_of(model), sort_keys=True),
                                                  META_BASE: base_sha256})


def write_adapter(model: Any, dest: Path, base_sha256: str) -> Path:
    """Atomically write the version file (a reader never sees half of it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(adapter_bytes(model, base_sha256))
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest


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
