"""What a tool is: a text protocol the model writes, a parser that finds a call, and an executor.

Why text protocols: the agents run small chat models without native function calling, so a tool call is a
tagged span in the model's own chain of thought (`<python>...</python>`, `<search>...</search>`,
`CALCULATE: 2*(3+4)`). The loop (agents.tool_use.loop) finds the earliest call, cuts the model's text there
(anything after it would be the model hallucinating the result), runs the tool and feeds back `<output>`.
"""

from __future__ import annotations

import abc
import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class ToolCall:
    """One call found in model text: which tool, its argument, and the span [start, end) of the call."""

    tool: str
    argument: str
    start: int
    end: int


@dataclass(frozen=True)
class ToolResult:
    """What the tool returns to the model. ok=False means the call failed (error text is still shown)."""

    output: str
    ok: bool = True


class Tool(abc.ABC):
    """A tool an agent can call from its chain of thought."""

    name: str
    description: str  # one line shown to the model

    @property
    @abc.abstractmethod
    def usage(self) -> str:
        """How the model calls the tool (shown in the system prompt), e.g. "<python>code</python>"."""

    @property
    def stop_strings(self) -> tuple[str, ...]:
        """Strings after which generation should pause so the tool can run (closing tags)."""
        return ()

    @abc.abstractmethod
    def find_call(self, text: str) -> ToolCall | None:
        """The first complete call to this tool in `text`, or None."""

    @abc.abstractmethod
    def run(self, argument: str) -> ToolResult:
        """Execute the call. Must not raise for bad model input: report it in the result instead."""

    def close_unfinished(self, text: str) -> str:
        """If generation paused on this tool's closing tag (stop strings are cut from the text), restore it."""
        return text


class TaggedTool(Tool):
    """A tool called as <tag>argument</tag>; generation pauses at </tag>."""

    tag: str

    @property
    def usage(self) -> str:
        return f"<{self.tag}>...</{self.tag}>"

    @property
    def stop_strings(self) -> tuple[str, ...]:
        return (f"</{self.tag}>",)

    def find_call(self, text: str) -> ToolCall | None:
        match = re.search(rf"<{self.tag}>(.*?)</{self.tag}>", text, flags=re.DOTALL)
        if match is None:
            return None
        return ToolCall(self.name, _strip_fences(match.group(1)), match.start(), match.end())

    def close_unfinished(self, text: str) -> str:
        opened, closed = text.rfind(f"<{self.tag}>"), text.rfind(f"</{self.tag}>")
        return text + f"</{self.tag}>" if opened > closed else text


def _strip_fences(body: str) -> str:
    """Models often wrap code in ``` fences inside the tags; drop them."""
    body = body.strip("\n")
    fenced = re.fullmatch(r"\s*```[\w+-]*\n(.*?)\n?```\s*", body, flags=re.DOTALL)
    return textwrap.dedent(fenced.group(1) if fenced else body).strip()
