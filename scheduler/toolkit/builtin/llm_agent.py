"""A Symphony LLM agent exposed as an MCP tool: any `LLMBackend` answers a prompt.

Why a thread and a lock: backends are synchronous and (on CPU) not re-entrant; generation runs in a worker
thread so the server keeps answering progress and other calls, one generation at a time (capacity 1).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel, Field

from agents.llm.base import LLMBackend, SamplingParams
from scheduler.toolkit.agent_server import ToolAgent
from scheduler.toolkit.typed_tool import Progress, TypedTool
from tools.errors import PermanentToolError


class AskInput(BaseModel):
    prompt: str = Field(min_length=1, max_length=8000)
    system: str = Field(default="You are a concise assistant.", max_length=2000)
    max_new_tokens: int = Field(default=64, ge=1, le=1024)


class AskOutput(BaseModel):
    text: str
    model_id: str
    prompt_tokens: int
    completion_tokens: int


def llm_agent(backend: LLMBackend | None) -> ToolAgent:
    if backend is None:
        raise PermanentToolError("the llm tool agent needs an LLM backend (load one with --model)")
    lock = asyncio.Lock()

    async def ask(data: AskInput, progress: Progress) -> AskOutput:
        conversation = [{"role": "system", "content": data.system}, {"role": "user", "content": data.prompt}]
        async with lock:
            await progress(0, 1, f"generating with {backend.model_id}")
            result = await asyncio.to_thread(backend.generate, [conversation], SamplingParams(max_new_tokens=data.max_new_tokens))
        completion = result.completions[0][0]
        return AskOutput(text=completion.text, model_id=result.model_id,
                         prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens)

    return ToolAgent(
        name="llm",
        description="A Symphony LLM agent: answers a prompt with its language model.",
        tools=[TypedTool("ask_llm", "Ask the agent's language model a question and get its answer.", AskInput, AskOutput, ask)],
        capacity=1,
        model_id=getattr(backend, "model_id", "llm"),
    )
