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
    """Construct the backend named by settings.backend ("transformers" | "vllm"), serving settings.adapter."""
    backend = _construct(settings)
    if settings.adapter is not None:
        try:
            backend.load_adapter(adapter_folder(settings.adapter, resolve_model(settings)), None)
        except Exception:
            backend.close()  # nothing half-loaded: no backend without the adapter it was asked for
            raise
    return backend


def adapter_folder(adapter, model: str):  # noqa: ANN001, ANN201 - Path -> Path
    """A peft adapter folder for `adapter`: the folder itself, or — for a Symphony adapter file (one safetensors
    with its LoRA config and base-model hash, agents.llm.adapter_file) — a folder written next to it, after checking
    that it was trained for `model` (the same weights, by hash)."""
    from pathlib import Path

    path = Path(adapter).expanduser()
    if path.is_dir():
        return path
    if not path.is_file():
        raise ConfigError(f"LoRA adapter {path} not found")
    from agents.llm.adapter_file import AdapterError, base_model_hash, read_adapter, write_peft_folder

    try:
        parsed = read_adapter(path.read_bytes())
        base = base_model_hash(model)
    except AdapterError as exc:
        raise ConfigError(f"LoRA adapter {path}: {exc}") from None
    if parsed.base_sha256 != base:
        raise ConfigError(f"LoRA adapter {path} was trained for base model {parsed.base_sha256[:16]}…, "
                          f"not for {model} ({base[:16]}…)")
    import tempfile

    return write_peft_folder(parsed, Path(tempfile.mkdtemp(prefix="symphony-adapter-")))


def _construct(settings: "LLMSettings") -> LLMBackend:
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
            **({"enable_lora": True, "max_lora_rank": 64} if settings.adapter is not None else {}),
        )
    raise ConfigError(f"unknown LLM backend {settings.backend!r} (use 'transformers' or 'vllm')")
