"""Building the configured LLMBackend from LLMSettings: the one place that knows every backend.

Why: callers (CLI, agents, Echo samplers) say *what* they want in config; this picks the class, resolves the
default model (converting it on first use) and keeps heavy imports lazy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.llm.base import LLMBackend
from core.errors import ConfigError

if TYPE_CHECKING:
    from agents.settings import LLMSettings


def resolve_model(settings: "LLMSettings") -> str:
    """The model folder or hub id to load: settings.model, else the default model (prepared on demand)."""
    if settings.model:
        return settings.model
    from agents.llm.models import prepare_default_model

    return str(prepare_default_model())


def load_backend(settings: "LLMSettings") -> LLMBackend:
    """Construct the backend named by settings.backend ("transformers" | "vllm")."""
    model = resolve_model(settings)
    if settings.backend == "transformers":
        from agents.llm.transformers_backend import TransformersBackend

        return TransformersBackend(
            model,
            device=settings.device,
            dtype=settings.dtype,
            max_batch_size=settings.max_batch_size,
            cpu_threads=settings.cpu_threads,
        )
    if settings.backend == "vllm":
        from agents.llm.vllm_backend import VLLMBackend

        if settings.device == "cpu":
            raise ConfigError("the vllm backend runs on CUDA; use backend 'transformers' for device 'cpu'")
        return VLLMBackend(
            model,
            dtype=settings.dtype,
            gpu_memory_utilization=settings.gpu_memory_utilization,
            max_model_len=settings.max_model_len,
            seed=settings.seed or 0,
        )
    raise ConfigError(f"unknown LLM backend {settings.backend!r} (use 'transformers' or 'vllm')")
