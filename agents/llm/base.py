"""The one LLM-backend interface every layer uses (agents, planner, Echo samplers, detectors, scheduler).

Why a batch interface: every backend we care about (transformers on CPU, vLLM on GPU) is much faster when
given many prompts at once, and callers (K chains of thought, GRPO groups) naturally have batches.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

ChatMessage = Mapping[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}
Conversation = Sequence[ChatMessage]


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. temperature == 0 means greedy decoding."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1  # completions per prompt (GRPO groups use n > 1)
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """One sampled continuation. token_ids/logprobs are filled when the backend can (Echo needs token_ids)."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    token_ids: tuple[int, ...] = ()
    finish_reason: str = "stop"  # "stop" | "length"


@dataclass(frozen=True)
class GenerationResult:
    """Completions for a batch: completions[i] holds the `n` samples of prompt i."""

    completions: list[list[Completion]]
    seconds: float
    model_id: str
    policy_version: int | None = None  # set by backends that serve versioned weights (Echo)
    extra: dict = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for group in self.completions for c in group)


class LLMBackend(abc.ABC):
    """A loaded model that turns chat conversations into completions."""

    model_id: str

    @abc.abstractmethod
    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> GenerationResult:
        """Generate `params.n` completions for each conversation."""

    def load_weights(self, path: Path, version: int | None = None) -> None:
        """Replace the weights in place from a safetensors file or folder (Echo weight sync)."""
        raise NotImplementedError(f"{type(self).__name__} cannot reload weights")

    def close(self) -> None:
        """Release the model (GPU memory, worker processes)."""
