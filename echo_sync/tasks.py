"""Task stream and verifier rewards from reasoning-gym.

Why indices: trainer and samplers build the same deterministic datasets from (names, seed, size), so a task
travels as one integer and the *trainer* re-scores every completion with its own copy of the verifier —
a sampler cannot inflate its rewards.

Why the project's one answer extraction (`tools.answers`): the prompt asks for <answer>...</answer>, which
wins over every other marker; without a tag, a last number counts only for the numeric datasets, where a
bare number is a plausible answer and not a piece of a puzzle's statement.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from typing import TYPE_CHECKING, Sequence

from core.errors import ConfigError
from tools.answers import extract_answer

if TYPE_CHECKING:
    from agents.llm.base import LLMBackend, SamplingParams
    from echo_sync.rollout import Sample
    from echo_sync.settings import TaskSettings

CPU_DATASETS = ("chain_sum", "basic_arithmetic")
LARGE_MODEL_DATASETS = ("knights_knaves", "sokoban")
SUPPORTED = CPU_DATASETS + LARGE_MODEL_DATASETS

# Small-model-friendly difficulty: two or three one-digit terms, so a 135M model gets some groups right.
_CONFIGS: dict[str, dict[str, Any]] = {
    "chain_sum": {"min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1},
    "basic_arithmetic": {"min_terms": 2, "max_terms": 3, "min_digits": 1, "max_digits": 1},
    "knights_knaves": {},
    "sokoban": {},
}
_NUMERIC = {"chain_sum", "basic_arithmetic"}

SYSTEM_PROMPT = "Solve the problem. Reply with the final answer only, inside <answer></answer>."


@dataclass(frozen=True)
class Task:
    index: int
    dataset: str
    question: str
    answer: str
    entry: dict


class TaskSet:
    """Round-robin over datasets: task i comes from datasets[i % k], entry (i // k) % size."""

    def __init__(self, datasets: tuple[str, ...] | list[str], seed: int = 1234, size: int = 1000, format_weight: float = 0.1):
        unknown = [d for d in datasets if d not in SUPPORTED]
        if unknown or not datasets:
            raise ConfigError(f"unsupported Echo dataset(s) {unknown or '(none)'}; choose from {', '.join(SUPPORTED)}")
        self.names = tuple(datasets)
        self.seed, self.size, self.format_weight = seed, size, format_weight

    @cached_property
    def _datasets(self) -> dict[str, Any]:
        import reasoning_gym

        return {
            name: reasoning_gym.create_dataset(name, size=self.size, seed=self.seed + i, **_CONFIGS[name])
            for i, name in enumerate(self.names)
        }

    def __getitem__(self, index: int) -> Task:
        if index < 0:
            raise IndexError(index)
        name = self.names[index % len(self.names)]
        entry = self._datasets[name][(index // len(self.names)) % self.size]
        return Task(index, name, entry["question"], str(entry["answer"]), entry)

    def conversation(self, index: int) -> list[dict[str, str]]:
        task = self[index]
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": task.question}]

    def reward(self, index: int, completion: str, transcript: Sequence[dict[str, str]] = ()) -> float:
        """Verifier score (0..1, reasoning-gym's own `score_answer`) plus `format_weight` for a parsable answer
        (`transcript` is unused: a text rollout is one turn, all in `completion`)."""
        task = self[index]
        answer = extract_answer(completion, allow_last_number=task.dataset in _NUMERIC)
        if answer is None:
            return 0.0
        score = float(self._datasets[task.dataset].score_answer(answer=answer, entry=task.entry) or 0.0)
        return score + self.format_weight

    def rollouts(self, backend: "LLMBackend", indices: Sequence[int], params: "SamplingParams", group_size: int) -> list[tuple["Sample", ...]]:
        """One-turn rollouts: `group_size` completions per task in one batched call, with their log-probs."""
        import dataclasses

        from echo_sync.rollout import Sample, Turn

        conversations = [self.conversation(i) for i in indices]
        result = backend.generate(conversations, dataclasses.replace(params, n=group_size, logprobs=True))
        return [
            tuple(Sample(c.text, tuple(c.token_ids), c.finish_reason, tuple(conv),
                         (Turn(len(conv), tuple(c.token_ids), tuple(c.logprobs), None, c.finish_reason),)) for c in comps)
            for conv, comps in zip(conversations, result.completions)
        ]


def make_tasks(settings: "TaskSettings", split: str = "train"):  # noqa: ANN201 - TaskSet | ToolTaskSet
    """The task set a run trains on (or its held-out split): tool episodes when `settings.family` is set."""
    if settings.family is not None:
        from echo_sync.tool_tasks import ToolTaskSet

        size = settings.size if split == "train" else max(settings.heldout_size, 1)
        return ToolTaskSet(settings.family, settings.tool, size, split, settings.call_weight)
    if split != "train":
        raise ConfigError("held-out evaluation needs tool tasks (tasks.family)")
    return TaskSet(settings.datasets, settings.seed, settings.size, settings.format_weight)
