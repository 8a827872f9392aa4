"""The tool-use loop: a constrained tool call, the tool's real result, then a constrained answer.

Why this shape: the call is decoded under the union of the tools' argument schemas (`call_constraint`), so it
always parses; the tool runs and its output goes back to the model as the next user turn (every chat template
accepts a user turn, not every one a "tool" role); a failed call is shown with its error and, while rounds
remain, the model may call again; the answer is decoded under the caller's answer constraint. A worked example
of each tool is put before the task as real chat turns, because a small model copies a shown exchange much
more reliably than it follows a description.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from agents.llm.base import Completion, Constraint, Conversation, LLMBackend, SamplingParams
from agents.llm.structured import StructuredOutputError, find_json_object
from agents.tool_use.base import AgentTool, ToolResult, call_constraint, call_json, parse_call
from core.errors import SymphonyError

ANSWER_HINT = 'Now reply with the answer as JSON: {"answer": "..."}.'


@dataclass(frozen=True)
class ToolExchange:
    """One executed call: what the model asked for and what it got back."""

    tool: str
    arguments: dict
    output: str
    ok: bool


@dataclass
class ToolRunOutcome:
    """Result of run_with_tools: the final answer's completion text (JSON) and everything before it."""

    text: str
    messages: list[dict[str, str]]  # the whole conversation, examples and tool turns included
    exchanges: list[ToolExchange] = field(default_factory=list)
    tokens: int = 0
    generations: int = 0
    seconds: float = 0.0
    finish_reason: str = "stop"
    invalid_calls: int = 0  # calls whose arguments the tool's own model refused (the constraint is narrower)

    @property
    def tools_used(self) -> list[str]:
        return [e.tool for e in self.exchanges]

    @property
    def transcript(self) -> str:
        """Every tool call and result after the prompt, then the answer (for result payloads and logs)."""
        lines = [f"{e.tool}({json.dumps(e.arguments, ensure_ascii=False)}) -> {e.output}" for e in self.exchanges]
        return "\n".join([*lines, self.text])


def tool_instructions(tools: Sequence[AgentTool]) -> str:
    """The system-prompt paragraph that names the tools and the call format."""
    lines = ['You can use a tool. Reply with one JSON call {"tool": ..., "arguments": {...}}; the result is '
             "given back to you; then reply with the answer."]
    lines += [f"- {t.name}: {t.description}" for t in tools]
    return "\n".join(lines)


def _with_instructions(conversation: Conversation, tools: Sequence[AgentTool]) -> list[dict[str, str]]:
    messages = [dict(m) for m in conversation]
    note = tool_instructions(tools)
    if messages and messages[0].get("role") == "system":
        messages[0]["content"] = f"{messages[0]['content']}\n\n{note}"
    else:
        messages.insert(0, {"role": "system", "content": note})
    examples: list[dict[str, str]] = []
    for tool in tools:
        for ex in tool.examples:
            examples += [
                {"role": "user", "content": ex.task},
                {"role": "assistant", "content": call_json(tool, ex.arguments)},
                {"role": "user", "content": f"Result of {tool.name}: {ex.result}\n{ANSWER_HINT}"},
                {"role": "assistant", "content": json.dumps({"answer": ex.answer})},
            ]
    return messages[:1] + examples + messages[1:]


def _context(conversation: Conversation) -> str:
    return "\n".join(m["content"] for m in conversation if m.get("role") == "user")


def run_with_tools(
    backend: LLMBackend,
    conversation: Conversation,
    tools: Sequence[AgentTool],
    answer: Constraint | Callable[[list[ToolExchange]], Constraint] | None,
    *,
    max_rounds: int = 2,
    params: SamplingParams | None = None,
    who: str = "",
    context: str | None = None,
) -> ToolRunOutcome:
    """Call one of `tools` (again after a failed call, up to `max_rounds` calls), then answer under `answer`.

    `context` is what the call may draw on (tools narrow their arguments by it; default: the user turns). An
    executor passes the question alone: earlier steps' results are model-written and may hold made-up numbers.
    `answer` may depend on what the tools returned (a callable of the exchanges), e.g. a calculator agent whose
    answer must be one of the values its calculator computed. Raises StructuredOutputError (naming the schema
    and `who`) when the call or the answer does not finish within the token budget.
    `answer=None` is the free-text baseline: nothing is constrained, the call is read as the first JSON object
    of the reply (a reply without one counts as an invalid call), and the answer text is returned as written."""
    if max_rounds < 1:
        raise SymphonyError(f"max_rounds must be >= 1, got {max_rounds}")
    names = [t.name for t in tools]
    if not tools or len(set(names)) != len(names):
        raise SymphonyError(f"tool names must be present and unique, got {names}")
    params = dataclasses.replace(params or SamplingParams(max_new_tokens=256), n=1, stop=())
    start = time.perf_counter()
    context = context if context is not None else _context(conversation)
    messages = _with_instructions(conversation, tools)
    outcome = ToolRunOutcome(text="", messages=messages)
    constrained = answer is not None
    call = call_constraint(tools, context) if constrained else None

    def generate(constraint: Constraint | None) -> Completion:
        completion = backend.generate([messages], dataclasses.replace(params, constraint=constraint)).completions[0][0]
        outcome.generations += 1
        outcome.tokens += completion.prompt_tokens + completion.completion_tokens
        return completion

    for round_index in range(max_rounds):
        completion = generate(call)
        if call is not None and completion.finish_reason == "length":
            raise StructuredOutputError(call.name, who, f"the call did not finish within {params.max_new_tokens} tokens")
        parsed = parse_call(completion.text if constrained else _first_json(completion.text), tools)
        messages.append({"role": "assistant", "content": completion.text})
        if parsed.tool is None or parsed.arguments is None:
            outcome.invalid_calls += 1
            result = ToolResult(f"error: {parsed.error}", ok=False)
            arguments: dict = {}
        else:
            result = _run(parsed.tool, parsed.arguments)
            arguments = parsed.arguments.model_dump()
        outcome.exchanges.append(ToolExchange(parsed.tool.name if parsed.tool else "?", arguments, result.output, result.ok))
        label = parsed.tool.name if parsed.tool else "the call"
        retry = not result.ok and round_index + 1 < max_rounds
        hint = "Correct the call and call the tool again." if retry else ANSWER_HINT
        messages.append({"role": "user", "content": f"Result of {label}: {result.output}\n{hint}"})
        if not retry:
            break
    final_constraint = answer(outcome.exchanges) if callable(answer) else answer
    final = generate(final_constraint)
    messages.append({"role": "assistant", "content": final.text})
    outcome.text, outcome.finish_reason = final.text, final.finish_reason
    outcome.seconds = time.perf_counter() - start
    if final_constraint is not None and final.finish_reason == "length":
        raise StructuredOutputError(final_constraint.name, who, f"the answer did not finish within {params.max_new_tokens} tokens")
    return outcome


def _first_json(text: str) -> str:
    try:
        return json.dumps(find_json_object(text))
    except ValueError:
        return text


def _run(tool: AgentTool, arguments) -> ToolResult:  # noqa: ANN001 - the tool's input model
    try:
        return tool.run(arguments)
    except SymphonyError as exc:  # user-fixable tool problems are shown to the model, not raised
        return ToolResult(f"error: {exc}", ok=False)
