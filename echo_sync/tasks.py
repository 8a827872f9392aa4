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

from core.errors import ConfigError
from tools.answers import extract_answer

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

    def reward(self, index: int, completion: str) -> float:
        """Verifier score (0..1, reasoning-gym's own `score_answer`) plus `format_weight` for a parsable answer."""
        task = self[index]
        answer = extract_answer(completion, allow_last_number=task.dataset in _NUMERIC)
        if answer is None:
            return 0.0
        score = float(self._datasets[task.dataset].score_answer(answer=answer, entry=task.entry) or 0.0)
        return score + self.format_weight
