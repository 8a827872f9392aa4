"""The one LLM-backend interface every layer uses (agents, planner, Echo samplers, detectors, scheduler).

Why a batch interface: every backend we care about (transformers on CPU, vLLM on GPU) is much faster when
given many prompts at once, and callers (K chains of thought, GRPO groups) naturally have batches.
"""

from __future__ import annotations

import abc
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Mapping, Sequence

from core.errors import SymphonyError

if TYPE_CHECKING:
    from pydantic import BaseModel

ChatMessage = Mapping[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}
Conversation = Sequence[ChatMessage]


ConstraintKind = Literal["json_schema", "regex", "lark"]


@dataclass(frozen=True)
class Constraint:
    """What the decoder may emit: text matching a JSON schema, a regular expression or a Lark grammar.

    Why in the one interface: every program that parses a small model's output needs the syntax to be right;
    with the constraint enforced while decoding, the model chooses content and never syntax. `name` says whose
    constraint it is (e.g. "Plan", "calculator.arguments") in every error about it.
    """

    kind: ConstraintKind
    source: str  # the JSON schema as JSON text, the regex, or the Lark grammar
    name: str

    @classmethod
    def for_model(cls, model: "type[BaseModel]", name: str | None = None) -> "Constraint":
        """The JSON schema of a pydantic model: the same model then validates what was generated."""
        return cls.json_schema(model.model_json_schema(), name or model.__name__)

    @classmethod
    def json_schema(cls, schema: Mapping[str, Any], name: str) -> "Constraint":
        """Objects are closed (no properties beyond the schema's) unless the schema says otherwise, and the
        JSON is written one way (`{"a": 1, "b": [2, 3]}`), so the model spends no tokens on layout."""
        closed = _closed(json.loads(json.dumps(schema)))
        closed.setdefault("x-guidance", JSON_LAYOUT)
        return cls("json_schema", json.dumps(closed, sort_keys=True), name)

    @classmethod
    def regex(cls, pattern: str, name: str) -> "Constraint":
        return cls("regex", pattern, name)

    @classmethod
    def lark(cls, grammar: str, name: str) -> "Constraint":
        return cls("lark", grammar, name)


JSON_LAYOUT = {"whitespace_flexible": False, "key_separator": ": ", "item_separator": ", "}


def _closed(schema: Any) -> Any:
    """A copy of a JSON schema where every object without an explicit `additionalProperties` gets False."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _closed(value) for key, value in schema.items()}
    if (out.get("type") == "object" or "properties" in out) and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


class ConstraintError(SymphonyError):
    """A constraint that cannot be used: it does not compile, or this model's tokenizer is not supported."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample. temperature == 0 means greedy decoding.

    `constraint` limits every completion to the constrained language; a constrained completion that hits
    `max_new_tokens` before the language allows it to end has finish_reason "length" (callers must not use
    it as if complete). `logprobs` asks for the log-probability of each sampled token under the distribution
    it was actually drawn from (constraint mask, then temperature and top-p applied).
    """

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1  # completions per prompt (GRPO groups use n > 1)
    seed: int | None = None
    stop: tuple[str, ...] = ()
    constraint: Constraint | None = None
    logprobs: bool = False


@dataclass(frozen=True)
class Completion:
    """One sampled continuation. token_ids are filled when the backend can (Echo needs them); logprobs when asked."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    token_ids: tuple[int, ...] = ()
    finish_reason: str = "stop"  # "stop" | "length"
    logprobs: tuple[float, ...] = ()


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
        """Replace the weights in place from a safetensors file or folder (Echo weight sync, full fine-tune)."""
        raise NotImplementedError(f"{type(self).__name__} cannot reload weights")

    def load_adapter(self, path: Path, version: int | None = None) -> None:
        """Serve the base model with the LoRA adapter in `path` (a peft adapter folder) from now on, replacing
        the one served before, in place (Echo policy versions are adapters by default; agents may run one)."""
        raise NotImplementedError(f"{type(self).__name__} cannot load adapters")

    def close(self) -> None:
        """Release the model (GPU memory, worker processes)."""
