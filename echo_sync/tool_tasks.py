"""Tool-using rollouts: the model's constrained call, the tool's real result, the model's constrained answer.

Why the agents' own loop: a rollout is exactly what a deployed agent does on a one-step chain (`step_messages`
for a final step, `agents.tool_use.run_with_tools` with the answer format's constraint from
`agents.answer_format`), so what GRPO trains is the behaviour the agent is later used for, and the trainer's
reward is the same exact-match verifier the benchmarks score with (`Question.is_correct`), plus a shaped term.

Why a shaped term (`call_weight` × how closely the call's expression copies the question's formula): untrained,
SmolLM2-135M answers ~5 % of schema-only calculator episodes right, so with groups of 4 nearly every group scores
0, 0, 0, 0 — no variance, no gradient (measured: 8 of 8 first steps). Copying the formula is the behaviour that
makes the answer right (the calculator computes), and its similarity varies within every group. The held-out
accuracy is exact match only, so the shaping cannot inflate what is reported.

Why a lock-step batcher: `run_with_tools` generates one conversation at a time, but a GRPO group is G episodes
of one task (and a held-out evaluation is N questions). Each episode runs on its own thread against a
`_Slot` backend; the batcher waits until every live episode has asked for its next turn, then sends all requests
with equal sampling parameters (the same constraint) to the real backend as one batch. Each slot also records
its turns (context size, sampled tokens, log-probs, constraint) — the rollout the trainer learns from.

Why no worked examples in the prompt: the tool is offered by its schema and description only. That keeps the
prompt short (about 130 instead of 320 tokens on this CPU) and makes driving the tool the thing to learn.
"""

from __future__ import annotations

import difflib
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

from agents.answer_format import Answer, answer_constraint, infer_format
from agents.llm.base import Completion, Conversation, GenerationResult, LLMBackend, SamplingParams
from agents.llm.structured import StructuredOutputError
from agents.payloads import SubtaskPayload
from agents.prompts import step_messages
from core.errors import ConfigError
from echo_sync.rollout import Sample, Turn

SYSTEM_PROMPT = "You are a math agent with an exact calculator."
PLAN = ("Answer the question.",)


class _Lockstep:
    """Gathers one request per live episode, then runs them as batches of equal SamplingParams."""

    def __init__(self, backend: LLMBackend, parties: int) -> None:
        self.backend, self.active = backend, parties
        self.pending: dict[int, tuple[Conversation, SamplingParams]] = {}
        self.results: dict[int, Completion] = {}
        self.error: BaseException | None = None
        self.cond = threading.Condition()

    def submit(self, slot: int, conversation: Conversation, params: SamplingParams) -> Completion:
        with self.cond:
            self.pending[slot] = (conversation, params)
            self._maybe_run()
            while slot not in self.results and self.error is None:
                self.cond.wait()
            if slot in self.results:
                return self.results.pop(slot)
            raise self.error  # type: ignore[misc]

    def leave(self) -> None:
        with self.cond:
            self.active -= 1
            self._maybe_run()

    def _maybe_run(self) -> None:  # the caller holds the lock
        if not self.pending or len(self.pending) < self.active:
            return
        batch, self.pending = self.pending, {}
        by_params: dict[SamplingParams, list[tuple[int, Conversation]]] = {}
        for slot, (conversation, params) in batch.items():
            by_params.setdefault(params, []).append((slot, conversation))
        try:
            for params, items in by_params.items():
                result = self.backend.generate([c for _, c in items], params)
                for (slot, _), completions in zip(items, result.completions):
                    self.results[slot] = completions[0]
        except BaseException as exc:  # noqa: BLE001 - every waiting episode must learn of it
            self.error = exc
        self.cond.notify_all()


class _Slot(LLMBackend):
    """The backend one episode sees: forwards to the batcher and records the turns."""

    def __init__(self, lockstep: _Lockstep, slot: int, model_id: str) -> None:
        self.lockstep, self.slot, self.model_id = lockstep, slot, model_id
        self.turns: list[Turn] = []
        self.transcript: list[dict[str, str]] = []

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> GenerationResult:
        (conversation,) = conversations
        self.transcript = conversation  # type: ignore[assignment] - run_with_tools' own list, appended to later
        completion = self.lockstep.submit(self.slot, [dict(m) for m in conversation], params)
        self.turns.append(Turn(len(conversation), tuple(completion.token_ids), tuple(completion.logprobs),
                               params.constraint, completion.finish_reason))
        return GenerationResult([[completion]], 0.0, self.model_id)


@dataclass(frozen=True)
class ToolTask:
    index: int
    question: object  # agents.datasets.Question
    prompt: str
    fmt: str


class ToolTaskSet:
    """Questions of one agents.datasets family; task i is question i % size of the split's seed."""

    def __init__(self, family: str, tool: str = "calculator_schema", size: int = 1000, split: str = "train",
                 call_weight: float = 0.0) -> None:
        from agents.datasets import FAMILIES, SEEDS

        generated = [f for f, (kind, _) in FAMILIES.items() if kind == "reasoning_gym"]
        if family not in generated:
            # BIG-bench families are fixed pools: two seeds only reshuffle them, so train and held-out would overlap.
            raise ConfigError(f"Echo trains on generated task families only ({', '.join(generated)}), got {family!r}")
        if tool not in ("calculator", "calculator_schema"):
            raise ConfigError(f"unknown Echo tool {tool!r} (calculator or calculator_schema)")
        if split not in ("train", "heldout"):
            raise ConfigError(f"split must be train or heldout, got {split!r}")
        self.family, self.tool_name, self.size, self.split = family, tool, size, split
        self.call_weight = call_weight
        # One seed per purpose (agents.datasets.SEEDS), plus the family's index so families never share one.
        self.seed = SEEDS["echo_train" if split == "train" else "echo_heldout"] + list(FAMILIES).index(family)
        self.names = (family,)

    @cached_property
    def questions(self) -> list:
        from agents.datasets import family_questions

        return family_questions(self.family, self.size, self.seed)

    def __getitem__(self, index: int) -> ToolTask:
        if index < 0:
            raise IndexError(index)
        q = self.questions[index % len(self.questions)]
        return ToolTask(index, q, q.prompt, infer_format(q.prompt))

    @cached_property
    def tools(self) -> list:
        from agents.tool_use import CalculatorTool

        tool = CalculatorTool(grounded=self.tool_name == "calculator")
        tool.examples = ()  # schema and description only (see the module docstring)
        return [tool]

    def conversation(self, index: int) -> list[dict[str, str]]:
        task = self[index]
        payload = SubtaskPayload(task.prompt, PLAN, 0, final=True, answer_format=task.fmt)
        return step_messages(SYSTEM_PROMPT, payload)

    def answer_of(self, completion: str) -> str | None:
        try:
            return Answer.model_validate_json(completion).answer
        except ValueError:
            return None

    def reward(self, index: int, completion: str, transcript: Sequence[dict[str, str]] = ()) -> float:
        """1 if the final answer (an `Answer` JSON) is one of the question's accepted answers, else 0; plus
        `call_weight` × `copy_score` of the episode's first tool call (read from `transcript`)."""
        right = 1.0 if self.is_right(index, completion) else 0.0
        if not self.call_weight:
            return right
        return right + self.call_weight * self.copy_score(index, transcript)

    def is_right(self, index: int, completion: str) -> bool:
        answer = self.answer_of(completion)
        return answer is not None and self[index].question.is_correct(answer)  # type: ignore[attr-defined]

    def copy_score(self, index: int, transcript: Sequence[dict[str, str]]) -> float:
        """0..1: similarity (difflib ratio, spaces ignored) of the first call's expression to the question's longest
        formula; 0 when there is no valid call or the question writes no formula."""
        from agents.tool_use import parse_call
        from agents.tool_use.calculator_tool import formula_spans

        spans = formula_spans(self[index].prompt)
        call = next((m["content"] for m in transcript if m.get("role") == "assistant"), None)  # the prompt has none
        if not spans or call is None:
            return 0.0
        parsed = parse_call(call, self.tools)
        expression = getattr(parsed.arguments, "expression", None)
        if not isinstance(expression, str):
            return 0.0
        squash = lambda text: "".join(text.split())  # noqa: E731
        return difflib.SequenceMatcher(None, squash(expression), squash(spans[0])).ratio()

    def rollouts(self, backend: LLMBackend, indices: Sequence[int], params: SamplingParams, group_size: int) -> list[tuple[Sample, ...]]:
        """`group_size` tool episodes per task, all in lock-step batches; a group per index."""
        jobs = [i for i in indices for _ in range(group_size)]
        lockstep = _Lockstep(backend, len(jobs))
        tools = self.tools
        params = SamplingParams(max_new_tokens=params.max_new_tokens, temperature=params.temperature,
                                top_p=params.top_p, logprobs=True)

        def episode(slot: int) -> Sample:
            from agents.tool_use import run_with_tools

            index = jobs[slot]
            task = self[index]
            proxy = _Slot(lockstep, slot, backend.model_id)
            text, finish = "", "length"
            try:
                outcome = run_with_tools(proxy, self.conversation(index), tools,
                                         answer_constraint(task.fmt, task.prompt), max_rounds=1, params=params,
                                         who=f"echo task {index}", context=task.prompt)
                text, finish = outcome.text, outcome.finish_reason
            except StructuredOutputError:  # a call or answer that did not finish: reward 0, its turns still train
                pass
            finally:
                lockstep.leave()
            last = proxy.turns[-1].token_ids if proxy.turns else ()
            return Sample(text, last, finish, tuple(dict(m) for m in proxy.transcript), tuple(proxy.turns))

        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            samples = list(pool.map(episode, range(len(jobs))))
        return [tuple(samples[k * group_size : (k + 1) * group_size]) for k in range(len(indices))]


def heldout_accuracy(backend: LLMBackend, tasks: ToolTaskSet, n: int, max_new_tokens: int) -> tuple[int, int]:
    """(correct, n) on the first `n` held-out questions, greedy, with the training rollout itself."""
    if tasks.split != "heldout":
        raise ConfigError("held-out accuracy must be measured on the held-out split")
    groups = tasks.rollouts(backend, list(range(n)), SamplingParams(max_new_tokens=max_new_tokens, temperature=0.0), 1)
    return sum(tasks.is_right(i, g[0].text) for i, g in enumerate(groups)), n
