"""A Symphony LLM agent exposed as an MCP tool: a real (tiny) model answers over the wire, with progress."""

from __future__ import annotations

from agents.llm.base import SamplingParams
from scheduler.dispatch.dispatcher import Dispatcher, ToolCall
from scheduler.observe.bus import EventBus
from scheduler.observe.events import EventType
from scheduler.toolkit.builtin import build_agent

from .conftest import serve


async def test_llm_agent_answers_through_mcp(tiny_backend, tmp_path) -> None:
    agent = build_agent("llm", tmp_path, backend=tiny_backend)
    async with serve(agent) as connections:
        bus = EventBus()
        dispatcher = Dispatcher(connections, bus)
        outcome = await dispatcher.call(ToolCall("q", "ask_llm", {"prompt": "What is 12 + 35?", "max_new_tokens": 8}), "r")
        bad = await dispatcher.call(ToolCall("b", "ask_llm", {"prompt": "x", "max_new_tokens": 0}), "r")
    assert outcome.ok, outcome.error
    assert outcome.output["model_id"] == tiny_backend.model_id
    assert 1 <= outcome.output["completion_tokens"] <= 8 and outcome.output["prompt_tokens"] > 5
    direct = tiny_backend.generate([[{"role": "system", "content": "You are a concise assistant."},
                                     {"role": "user", "content": "What is 12 + 35?"}]],
                                   SamplingParams(max_new_tokens=8))
    assert outcome.output["text"] == direct.completions[0][0].text  # greedy: the tool returns the model's own answer
    progress = [e for e in bus.history["r"] if e.type == EventType.TOOL_CALL_PROGRESS and e.data["call_id"] == "q"]
    assert progress and "generating" in progress[0].data["message"]
    assert not bad.ok and bad.error_kind == "permanent" and "max_new_tokens" in bad.error
