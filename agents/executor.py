"""Carry out one subtask with the agent's LLM (and tools): the work an assigned executor is paid for.

`Executor` is the seam between the worker (auctions, results, votes: the same for every agent) and the work
itself. A beacon payload is opaque bytes to the worker; the executor says whether it can do the job at all
(`accepts`, checked before bidding, so an agent never wins work of a kind it cannot do) and does it (`run`).
A reasoning agent takes `SubtaskPayload`s; a Hide-and-Shill detector agent takes detection requests.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Protocol, Sequence

from agents.answer_format import NUMBER_PATTERN, Answer, answer_constraint, result_constraint
from agents.llm.base import ConstraintError, LLMBackend
from agents.llm.structured import StructuredOutputError, ask_structured
from agents.payloads import PayloadError, ResultPayload, SubtaskPayload
from agents.profile import AgentProfile
from agents.prompts import final_answer, step_messages
from agents.tool_use import AgentTool, ToolExchange, run_with_tools
from tools.answers import normalize_answer

log = logging.getLogger("symphony.executor")


class Executor(Protocol):
    def accepts(self, payload: bytes) -> bool:
        """Can this agent do the job a beacon payload describes? (Cheap: called for every beacon seen.)"""
        ...

    def run(self, payload: bytes) -> ResultPayload:
        """Do the job; a final step's `answer` is the agent's vote (None with `abstained=True`: no opinion)."""
        ...


class StepExecutor:
    """Executes one step of a chain of thought (`SubtaskPayload`) with the agent's LLM and tools.

    Constrained (the default): the reply is an `Answer` decoded under the step's constraint — the final step's
    answer format, or one short result — after at most `max_tool_rounds` constrained tool calls. A reply that
    cannot finish within the token budget is an explicit abstention naming the schema, never a truncated vote.
    Free (`profile.decoding == "free"`, the baseline benchmarks compare against): free text, the answer
    extracted from an "Answer:" line, retried once with a stricter instruction, else an abstention.
    """

    def __init__(self, backend: LLMBackend, profile: AgentProfile, tools: Sequence[AgentTool] = ()) -> None:
        self.backend = backend
        self.profile = profile
        self.tools = list(tools)

    def accepts(self, payload: bytes) -> bool:
        try:
            subtask = SubtaskPayload.decode(payload)
        except PayloadError:
            return False
        return self.tools_apply(subtask)

    def tools_apply(self, payload: SubtaskPayload) -> bool:
        """False when the agent works through tools and none of them can help with the question (an item counter
        and no list of items): it declines, rather than bid on work it cannot do."""
        return not self.tools or any(t.applies(payload.question) for t in self.tools)

    def run(self, payload: bytes) -> ResultPayload:
        try:
            subtask = SubtaskPayload.decode(payload)
        except PayloadError as exc:
            return ResultPayload(output=f"malformed subtask: {exc}", abstained=True)
        return self.execute(subtask)

    def execute(self, payload: SubtaskPayload) -> ResultPayload:
        if not self.tools_apply(payload):
            return ResultPayload(output=f"abstained: {self.profile.name}: none of its tools applies to this question",
                                 abstained=True)
        if self.profile.decoding == "free":
            return self._execute_free(payload)
        start = time.perf_counter()
        messages = step_messages(self.profile.system_prompt, payload)
        constraint = answer_constraint(payload.answer_format, payload.question, final=payload.final)
        params = self.profile.llm.sampling_params()
        used: tuple[str, ...] = ()
        extra: dict = {}
        try:
            if self.tools:
                answer_for = self._answer_for(payload, constraint)
                outcome = run_with_tools(self.backend, messages, self.tools, answer_for, params=params,
                                         max_rounds=max(1, self.profile.max_tool_rounds), who=self.profile.name,
                                         context=payload.question)
                text, used, tokens, transcript = outcome.text, tuple(outcome.tools_used), outcome.tokens, outcome.transcript
                extra = {"tool_calls": len(outcome.exchanges), "invalid_calls": outcome.invalid_calls}
            else:
                sample = ask_structured(self.backend, messages, Answer, params, who=self.profile.name, constraint=constraint)
                completion = sample.completion
                text, tokens, transcript = completion.text, completion.prompt_tokens + completion.completion_tokens, completion.text
        except (StructuredOutputError, ConstraintError) as exc:
            # Over budget, or a constraint this model's tokenizer cannot use: say so and abstain, never guess.
            reason = str(exc) if isinstance(exc, StructuredOutputError) else f"{self.profile.name}: {exc}"
            log.warning("%s abstains on step %d: %s", self.profile.name, payload.step_index, reason)
            return ResultPayload(output=f"abstained: {reason}", abstained=True, seconds=time.perf_counter() - start)
        answer = Answer.model_validate_json(text).answer.strip()
        seconds = time.perf_counter() - start
        if not payload.final:
            return ResultPayload(output=answer, tools_used=used, tokens=tokens, seconds=seconds, extra=extra)
        return ResultPayload(output=transcript, answer=normalize_answer(answer), tools_used=used, tokens=tokens,
                             seconds=seconds, extra=extra)

    def _answer_for(self, payload: SubtaskPayload, constraint):  # noqa: ANN001, ANN202 - Constraint -> callable
        """A final numeric step answers with a value its exact tools computed, when they computed one."""
        exact = {t.name for t in self.tools if t.exact_result}
        if not payload.final or payload.answer_format != "number" or not exact:
            return constraint

        def answer(exchanges: list[ToolExchange]):  # noqa: ANN202
            values = [v for e in exchanges if e.ok and e.tool in exact
                      if (v := e.output.strip().splitlines()[-1] if e.output.strip() else "") and re.fullmatch(NUMBER_PATTERN, v)]
            return result_constraint(values) if values else constraint

        return answer

    # -- the unconstrained baseline ------------------------------------------------------------------------
    def _generate_free(self, messages: list[dict[str, str]]) -> tuple[str, int, tuple[str, ...]]:
        params = self.profile.llm.sampling_params()
        if self.tools:
            outcome = run_with_tools(self.backend, messages, self.tools, None, params=params,
                                     max_rounds=max(1, self.profile.max_tool_rounds), who=self.profile.name)  # free: no grounding
            self._free_calls = (len(outcome.exchanges), outcome.invalid_calls)
            return outcome.text, outcome.tokens, tuple(e.tool for e in outcome.exchanges if e.ok)
        completion = self.backend.generate([messages], params).completions[0][0]
        return completion.text, completion.prompt_tokens + completion.completion_tokens, ()

    def _execute_free(self, payload: SubtaskPayload) -> ResultPayload:
        start = time.perf_counter()
        self._free_calls = (0, 0)
        text, tokens, used = self._generate_free(step_messages(self.profile.system_prompt, payload, free=True))
        if not payload.final:
            ok = bool(text.strip())
            return ResultPayload(output=text.strip(), abstained=not ok, tools_used=used, tokens=tokens,
                                 seconds=time.perf_counter() - start)
        answer = final_answer(text)
        if answer is None:
            retry, tokens2, used2 = self._generate_free(step_messages(self.profile.system_prompt, payload, free=True, strict=True))
            tokens, used = tokens + tokens2, used + used2
            answer = final_answer(retry)
            text = text + "\n[retry] " + retry
        seconds = time.perf_counter() - start
        extra = {"tool_calls": self._free_calls[0], "invalid_calls": self._free_calls[1]} if self.tools else {}
        if answer is None:
            return ResultPayload(output=text.strip(), abstained=True, tools_used=used, tokens=tokens, seconds=seconds, extra=extra)
        return ResultPayload(output=text.strip(), answer=normalize_answer(answer), tools_used=used, tokens=tokens,
                             seconds=seconds, extra=extra)
