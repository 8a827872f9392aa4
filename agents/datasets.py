"""Verifiable questions for the demo and the benchmark: reasoning-gym generators and BIG-bench (BBH source) tasks.

Why our own wrapper: the single-agent baselines, Symphony and the voting variants must be scored by exactly the
same rule. Every question carries its accepted answers in normalised form (tools.answers.normalize_answer),
so scoring is an exact match of normalised strings; multiple-choice tasks are shown with lettered options and
accept the letter or the option text.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from core.errors import SymphonyError
from core.paths import PROJECT_ROOT
from tools.answers import normalize_answer

BIGBENCH_DIR = PROJECT_ROOT / "data" / "bigbench"
LETTERS = "ABCDEFGHIJ"
_NUMBER_WORDS = {w: str(i) for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}


@dataclass(frozen=True)
class Question:
    id: str
    source: str
    prompt: str
    accepted: tuple[str, ...]  # normalised accepted answers

    def is_correct(self, answer: str | None) -> bool:
        return answer is not None and normalize_answer(answer) in self.accepted


def reasoning_gym_questions(task: str, n: int, seed: int, **settings: object) -> list[Question]:
    import reasoning_gym

    dataset = reasoning_gym.create_dataset(task, size=n, seed=seed, **settings)
    out = []
    for i, item in enumerate(dataset):
        prompt = item["question"]
        out.append(Question(f"{task}-{seed}-{i}", task, prompt, (normalize_answer(str(item["answer"])),)))
    return out


def _multiple_choice(task: str, i: int, question: str, scores: dict[str, int], rng: random.Random) -> Question:
    options = list(scores)
    rng.shuffle(options)
    lines = [question, "Options:"] + [f"({LETTERS[j]}) {text}" for j, text in enumerate(options)]
    correct = next(j for j, text in enumerate(options) if scores[text] == 1)
    accepted = (normalize_answer(LETTERS[correct]), normalize_answer(f"({LETTERS[correct]})"), normalize_answer(options[correct]))
    return Question(f"{task}-{i}", task, "\n".join(lines), tuple(dict.fromkeys(accepted)))


def bigbench_questions(task: str, n: int, seed: int) -> list[Question]:
    """`n` examples of a BIG-bench task (e.g. 'object_counting', 'logical_deduction/three_objects')."""
    data = json.loads((BIGBENCH_DIR / task / "task.json").read_text())
    rng = random.Random(seed)
    examples = list(enumerate(data["examples"]))
    rng.shuffle(examples)
    out = []
    for i, ex in examples[:n]:
        name = task.replace("/", "-")
        if "target_scores" in ex and task != "strategyqa":
            out.append(_multiple_choice(name, i, ex["input"], ex["target_scores"], rng))
        elif task == "strategyqa":
            yes = ex["target_scores"].get("Yes", 0) == 1
            out.append(Question(f"{name}-{i}", name, ex["input"] + " Answer Yes or No.", (normalize_answer("yes" if yes else "no"),)))
        else:
            targets = ex["target"] if isinstance(ex["target"], list) else [ex["target"]]
            accepted = {normalize_answer(t) for t in targets} | {normalize_answer(_NUMBER_WORDS[t]) for t in targets if t in _NUMBER_WORDS}
            out.append(Question(f"{name}-{i}", name, ex["input"], tuple(sorted(accepted))))
    return out


# One seed per purpose: a question generated for one of them is never seen by another (training, calibration,
# benchmarks, the demo). Benchmarks add the family's index to their seed, so families never share one either.
SEEDS = {
    "dev": 555,  # prompt and grammar development
    "calibration": 1000,
    "bench_symphony": 2000,
    "bench_structured": 3000,
    "echo_heldout": 4000,
    "demo": 5000,  # plus the run's own offset, printed
    "echo_train": 10_000,
}

# The task families the benchmarks and the demo draw from: reasoning-gym generators at small-model difficulty
# (2-3 terms, 1-2 digits), letter counting, and two BIG-bench tasks. New families go at the end: a family's seed
# offset is its index here, so inserting one would change every later family's questions.
ARITHMETIC = dict(min_terms=2, max_terms=3, min_digits=1, max_digits=2)
FAMILIES: dict[str, tuple[str, dict]] = {
    "basic_arithmetic": ("reasoning_gym", ARITHMETIC),
    "chain_sum": ("reasoning_gym", ARITHMETIC),
    "gsm_symbolic": ("reasoning_gym", {}),
    "object_counting": ("bigbench", {}),
    "logical_deduction": ("bigbench", {"task": "logical_deduction/three_objects"}),
    "letter_counting": ("reasoning_gym", {}),
}


def family_questions(family: str, n: int, seed: int) -> list[Question]:
    """`n` questions of one of FAMILIES, deterministic in `seed`."""
    if family not in FAMILIES:
        raise SymphonyError(f"unknown task family {family!r}; choose from {', '.join(FAMILIES)}")
    kind, settings = FAMILIES[family]
    if kind == "bigbench":
        return bigbench_questions(settings.get("task", family), n, seed)
    return reasoning_gym_questions(family, n, seed, **settings)


# The families the demo asks by default: those its network has a specialist for that was measured right on most
# held-out questions (the two Echo-trained calculator specialists and the letter counter), so the demo shows each
# kind of question going to a different agent; scripts/bench_symphony.py measures every family, and
# `symphony demo --families` asks any of FAMILIES.
DEMO_FAMILIES = ("basic_arithmetic", "chain_sum", "letter_counting")


def demo_questions(n: int, offset: int, families: tuple[str, ...] = DEMO_FAMILIES) -> list[Question]:
    """`n` fresh held-out questions for `symphony demo`, round-robin over `families`, from seed
    SEEDS["demo"] * 1000 + 10 * `offset` + the family's index (far above every other purpose's seeds, so no offset
    reaches a training or benchmark seed): a run prints its offset so it can be asked again."""
    if not 0 <= offset < 100_000:
        raise SymphonyError(f"the demo's question offset must be 0..99999, got {offset}")
    unknown = [f for f in families if f not in FAMILIES]  # before FAMILIES.index below, which would raise bare
    if unknown or not families:
        raise SymphonyError(f"unknown task family {', '.join(unknown) or '(none given)'}; choose from {', '.join(FAMILIES)}")
    per_family = -(-n // len(families))
    sets = [family_questions(f, per_family, SEEDS["demo"] * 1000 + 10 * offset + list(FAMILIES).index(f)) for f in families]
    return [q for row in zip(*sets) for q in row][:n]
