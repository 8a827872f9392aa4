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

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from agents.llm.adapter_file import META_BASE, META_CONFIG
from echo_sync.settings import LoRASettings


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


