"""The LLM/model section of the Symphony configuration.

Why a separate model here: the agents layer owns how models are loaded; `symphony/config.py` composes this
section with the others, so every entry point (CLI, tests, Echo samplers) builds backends the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.llm.base import SamplingParams

BackendName = Literal["transformers", "vllm"]
DTypeName = Literal["auto", "float32", "bfloat16", "float16"]


class LLMSettings(BaseModel):
    """Which model to load, with which backend and on which device, plus default sampling settings.

    `model` is a local folder or a hub id; None means the default CPU model (SmolLM2-135M-Instruct, converted
    by scripts/prepare_models.py).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: BackendName = "transformers"
    model: str | None = None
    # A LoRA adapter (peft folder, or a Symphony adapter file such as specialists/<name>/adapter.safetensors)
    # served on top of `model`: how an agent runs a trained specialist (see docs/echo.md).
    adapter: Path | None = None
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda", "cuda:1"
    dtype: DTypeName = "auto"  # auto: float32 on CPU, bfloat16 on CUDA
    max_batch_size: int = Field(default=16, ge=1)  # rows per forward pass (transformers backend)
    # torch CPU threads (process-wide; None = torch's default). On a busy shared CPU, 1 can be ~10x faster
    # than oversubscribed threads (see results/llm_cpu_throughput.json).
    cpu_threads: int | None = Field(default=None, ge=1)
    max_new_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.0, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    # vLLM only
    gpu_memory_utilization: float = Field(default=0.85, gt=0.0, le=1.0)
    max_model_len: int | None = Field(default=None, ge=16)

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        head = value.split(":", 1)[0]
        if head not in ("auto", "cpu", "cuda") or (head != "cuda" and ":" in value):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {value!r}")
        return value

    def sampling_params(self, **overrides: object) -> SamplingParams:
        """Default SamplingParams from these settings; keyword overrides win (e.g. n=8 for a GRPO group)."""
        base: dict[str, object] = {
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "seed": self.seed,
        }
        base.update(overrides)
        return SamplingParams(**base)  # type: ignore[arg-type]
