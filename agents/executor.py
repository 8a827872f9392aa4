"""Carry out one subtask with the agent's LLM (and tools): the work an assigned executor is paid for.

Malformed output policy (issue #3): a final step whose answer cannot be extracted is retried once with a
stricter instruction; if that fails too the executor abstains explicitly instead of guessing.

`Executor` is the seam between the worker (auctions, results, votes: the same for every agent) and the work
itself. A beacon payload is opaque bytes to the worker; the executor says whether it can do the job at all
(`accepts`, checked before bidding, so an agent never wins work of a kind it cannot do) and does it (`run`).
A reasoning agent takes `SubtaskPayload`s; a Hide-and-Shill detector agent takes detection requests.
"""

from __future__ import annotations

import time
from typing import Protocol, Sequence

from agents.llm.base import LLMBackend
from agents.payloads import PayloadError, ResultPayload, SubtaskPayload
from agents.profile import AgentProfile
from agents.prompts import final_answer, step_messages
from tools.answers import normalize_answer


class Executor(Protocol):
    def accepts(self, payload: bytes) -> bool:
        """Can this agent do the job a beacon payload describes? (Cheap: called for every beacon seen.)"""
        ...

    def run(self, payload: bytes) -> ResultPayload:
        """Do the job; a final step's `answer` is the agent's vote (None with `abstained=True`: no opinion)."""
        ...


class StepExecutor:
    """Executes one step of a chain of thought (`SubtaskPayload`) with the agent's LLM and tools."""

    def __init__(self, backend: LLMBackend, profile: AgentProfile, tools: Sequence[object] = ()) -> None:
        self.backend = backend
        self.profile = profile
        self.tools = list(tools)

    def _generate(self, messages: list[dict[str, str]]) -> tuple[str, tuple[str, ...], int]:
        params = self.profile.llm.sampling_params()
        if self.tools:
            from agents.tool_use import run_with_tools

            outcome = run_with_tools(self.backend, messages, self.tools, max_rounds=self.profile.max_tool_rounds, params=params)
            return outcome.text, tuple(outcome.tools_used), outcome.tokens
        result = self.backend.generate([messages], params)
        completion = result.completions[0][0]
        return completion.text, (), completion.prompt_tokens + completion.completion_tokens

    def accepts(self, payload: bytes) -> bool:
        try:
            SubtaskPayload.decode(payload)
        except PayloadError:
            return False
        return True

    def run(self, payload: bytes) -> ResultPayload:
        try:
            subtask = SubtaskPayload.decode(payload)
        except PayloadError as exc:
            return ResultPayload(output=f"malformed subtask: {exc}", abstained=True)
        return self.execute(subtask)

    def execute(self, payload: SubtaskPayload) -> ResultPayload:
        start = time.perf_counter()
        text, used, tokens = self._generate(step_messages(self.profile.system_prompt, payload))
        if not payload.final:
            if not text.strip():
                text, used2, tokens2 = self._generate(step_messages(self.profile.system_prompt, payload, strict=True))
                used, tokens = used + used2, tokens + tokens2
            if not text.strip():
                return ResultPayload(output="", abstained=True, tools_used=used, tokens=tokens, seconds=time.perf_counter() - start)
            return ResultPayload(output=text.strip(), tools_used=used, tokens=tokens, seconds=time.perf_counter() - start)

        answer = final_answer(text)
        if answer is None:
            retry, used2, tokens2 = self._generate(step_messages(self.profile.system_prompt, payload, strict=True))
            used, tokens = used + used2, tokens + tokens2
            answer = final_answer(retry)
            text = text + "\n[retry] " + retry
        seconds = time.perf_counter() - start
        if answer is None:
            return ResultPayload(output=text.strip(), abstained=True, tools_used=used, tokens=tokens, seconds=seconds)
        return ResultPayload(output=text.strip(), answer=normalize_answer(answer), tools_used=used, tokens=tokens, seconds=seconds)

