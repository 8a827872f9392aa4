"""Per-process setup shared by trainer and sampler processes: threads, CPU pinning, model path, logging.

Why pin: on a 2-core machine three busy processes with default thread pools thrash each other; one torch
thread per process on a chosen core makes the mode comparison about scheduling, not oversubscription.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import ConfigError


def setup_process(torch_threads: int, cpu: int | None) -> None:
    import torch

    torch.set_num_threads(torch_threads)
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {available[cpu % len(available)]})
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def resolve_model_path(model_path: str | None) -> Path:
    """The configured folder, or the project's default CPU model (SmolLM2-135M-Instruct as safetensors)."""
    if model_path:
        path = Path(model_path).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(f"model folder {path} has no config.json (expected a Hugging Face model folder)")
        return path
    from agents.llm.models import prepare_default_model  # converts the packaged GGUF once, then reuses it

    return Path(prepare_default_model())
