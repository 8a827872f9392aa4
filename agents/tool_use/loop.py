"""The tool-use loop: generate, find the first tool call, run it, feed the output back, repeat.

Why this shape: generation pauses on the tools' closing tags (stop strings), so the model never gets to
invent a tool's output; the text after the earliest call is discarded for the same reason. Tool results
come back as a user turn wrapped in <output>...</output> (every chat template accepts a user turn, not every
one accepts a "tool" role). After `max_rounds` tool runs the model is told to answer without tools.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Sequence

from agents.llm.base import ChatMessage, Conversation, LLMBackend, SamplingParams
from agents.tool_use.base import Tool, ToolCall, ToolResult
from core.errors import SymphonyError

LIMIT_NOTE = "(Tool limit reached: give your final answer now without calling tools.)"


@dataclass(frozen=True)
class ToolExchange:
    """One executed call: what the model asked for and what it got back."""

    tool: str
    argument: str
    output: str
    ok: bool


@dataclass
class ToolRunOutcome:
    """Result of run_with_tools. `text` is the model's final message (where the answer is)."""

    text: str
    messages: list[dict[str, str]]  # the whole conversation, instructions and tool turns included
    exchanges: list[ToolExchange] = field(default_factory=list)
    tokens: int = 0
    generations: int = 0
    seconds: float = 0.0
    finish_reason: str = "stop"

    @property
    def tools_used(self) -> list[str]:
        return [e.tool for e in self.exchanges]

    @property
    def transcript(self) -> str:
        """Every assistant turn and tool output after the prompt, in order (for result payloads and logs)."""
        start = next((i for i, m in enumerate(self.messages) if m["role"] == "assistant"), len(self.messages))
        return "\n".join(m["content"] for m in self.messages[start:])


def tool_instructions(tools: Sequence[Tool]) -> str:
    """The system-prompt paragraph that teaches the model the tools' text protocols."""
    lines = [
        "You can use tools. Write a call exactly in the format shown, then stop and wait: the result is "
        "given back to you inside <output>...</output>. Use the results, then continue.",
    ]
    lines += [f"- {t.name}: {t.description}. Call: {t.usage}" for t in tools]
    return "\n".join(lines)


def with_instructions(conversation: Conversation, tools: Sequence[Tool]) -> list[dict[str, str]]:
    """A copy of the conversation whose system message also describes the tools."""
    messages = [dict(m) for m in conversation]
    note = tool_instructions(tools)
    if messages and messages[0].get("role") == "system":
        messages[0]["content"] = f"{messages[0]['content']}\n\n{note}"
    else:
        messages.insert(0, {"role": "system", "content": note})
    return messages


def first_call(text: str, tools: Sequence[Tool]) -> tuple[Tool, ToolCall] | None:
    """The earliest complete tool call in `text` over all tools."""
    found = [(tool, call) for tool in tools if (call := tool.find_call(text)) is not None]
    return min(found, key=lambda pair: pair[1].start) if found else None


def _run_tool(tool: Tool, call: ToolCall) -> ToolResult:
    try:
        return tool.run(call.argument)
    except SymphonyError as exc:  # user-fixable tool problems are shown to the model, not raised
        return ToolResult(f"error: {exc}", ok=False)


def run_with_tools(
    backend: LLMBackend,
    conversation: Conversation | Sequence[ChatMessage],
    tools: Sequence[Tool],
    max_rounds: int = 3,
    params: SamplingParams | None = None,
) -> ToolRunOutcome:
    """Let the model call `tools` up to `max_rounds` times while answering `conversation`."""
    if max_rounds < 0:
        raise SymphonyError(f"max_rounds must be >= 0, got {max_rounds}")
    names = [t.name for t in tools]
    if len(set(names)) != len(names):
        raise SymphonyError(f"tool names must be unique, got {names}")
    params = dataclasses.replace(params or SamplingParams(max_new_tokens=512), n=1)
    tool_stops = tuple(s for t in tools for s in t.stop_strings)
    start = time.perf_counter()
    use_tools = bool(tools) and max_rounds > 0
    messages = with_instructions(conversation, tools) if use_tools else [dict(m) for m in conversation]
    outcome = ToolRunOutcome(text="", messages=messages)
    while True:
        budget_left = len(outcome.exchanges) < max_rounds
        stops = params.stop + tool_stops if budget_left else params.stop
        result = backend.generate([messages], dataclasses.replace(params, stop=stops))
        completion = result.completions[0][0]
        outcome.generations += 1
        outcome.tokens += completion.prompt_tokens + completion.completion_tokens
        text = completion.text
        if completion.finish_reason == "stop":
            for tool in tools:
                text = tool.close_unfinished(text)
        found = first_call(text, tools) if budget_left else None
        if found is None:
            messages.append({"role": "assistant", "content": text})
            outcome.text, outcome.finish_reason = text, completion.finish_reason
            break
        tool, call = found
        tool_result = _run_tool(tool, call)
        outcome.exchanges.append(ToolExchange(tool.name, call.argument, tool_result.output, tool_result.ok))
        messages.append({"role": "assistant", "content": text[: call.end]})
        feedback = f"<output>\n{tool_result.output}\n</output>"
        if len(outcome.exchanges) >= max_rounds:
            feedback += f"\n{LIMIT_NOTE}"
        messages.append({"role": "user", "content": feedback})
    outcome.seconds = time.perf_counter() - start
    return outcome
