"""Planning: JSON steps, templates, schema validation fed back as observations, replans, the LLM planner."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.llm.base import SamplingParams
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.engine import Engine
from scheduler.observe.bus import EventBus
from scheduler.observe.events import EventType
from scheduler.planning.llm_react import LLMPlanner
from scheduler.planning.scripted import ScriptedPlanner
from agents.llm.structured import find_json_object
from scheduler.planning.step import step_from_json
from scheduler.planning.templates import TemplateError, render
from scheduler.toolkit.builtin import build_agent

from .conftest import serve


def test_json_step_parsing() -> None:
    text = 'Sure!\n```json\n{"thought": "a {brace} in text", "actions": [{"tool": "calculate", "args": {"expression": "1+1"}}]}\n```'
    step = step_from_json(find_json_object(text), "p")
    assert step.thought == "a {brace} in text" and step.actions[0].id == "p1" and step.actions[0].args == {"expression": "1+1"}
    single = step_from_json({"thought": "t", "action": "calculate", "args": {"expression": "2"}}, "p")
    assert [(a.tool, a.args) for a in single.actions] == [("calculate", {"expression": "2"})]
    with pytest.raises(ValueError, match="no JSON"):
        find_json_object("no json here")
    with pytest.raises(ValueError, match="actions"):
        step_from_json({"thought": "nothing to do"}, "p")
    with pytest.raises(ValueError, match="mode"):
        step_from_json({"actions": [{"tool": "x", "args": {}, "mode": "later"}]}, "p")


def test_templates_keep_types_and_quote_json() -> None:
    results = {"a": {"value": "3", "hits": [{"passage": 'say "hi"'}]}, "b": {"stdout": "7\n"}}
    assert render("{{a.hits}}", results) == [{"passage": 'say "hi"'}]
    assert render("{{a.value}} + {{b.stdout}}", results) == "3 + 7"
    assert render({"code": "t = {{a.hits.0.passage|json}}"}, results) == {"code": 't = "say \\"hi\\""'}
    with pytest.raises(TemplateError, match="no successful result"):
        render("{{zzz.value}}", results)
    with pytest.raises(TemplateError, match="no 'nope'"):
        render("{{a.nope}}", results)


async def test_invalid_actions_become_observations_and_trigger_replan(tmp_path: Path) -> None:
    plan = [
        {"thought": "bad calls", "actions": [
            {"id": "u", "tool": "no_such_tool", "args": {}},
            {"id": "v", "tool": "calculate", "args": {"expr": "1"}},
            {"id": "ok", "tool": "calculate", "args": {"expression": "2 * 21"}}],
         "fallback": {"v": [{"id": "v2", "tool": "calculate", "args": {"expression": "{{ok.value}} + 1"}}]}},
        {"thought": "done", "final_answer": "{{v2.value}}"},
    ]
    async with serve(build_agent("python", tmp_path)) as connections:
        bus = EventBus()
        result = await Engine(Dispatcher(connections, bus)).run("t", ScriptedPlanner(plan), run_id="r")
    assert result.ok and result.answer == "43" and result.replans == 1
    errors = {e.data["id"]: e.data["error"] for e in bus.history["r"] if e.type == EventType.TOOL_CALL_RESULT and not e.data["ok"]}
    assert "unknown tool 'no_such_tool'" in errors["u"] and "calculate" in errors["u"]
    assert "'expression' is a required property" in errors["v"]
    started = {e.data["call_id"] for e in bus.history["r"] if e.type == EventType.TOOL_CALL_START}
    assert started == {"ok", "v2"}  # invalid calls never reached the agent


async def test_step_limit_ends_the_run_with_an_error(tmp_path: Path) -> None:
    plan = [{"thought": f"step {i}", "actions": [{"id": f"c{i}", "tool": "calculate", "args": {"expression": "1"}}]} for i in range(5)]
    async with serve(build_agent("python", tmp_path)) as connections:
        bus = EventBus()
        result = await Engine(Dispatcher(connections, bus), max_steps=3).run("t", ScriptedPlanner(plan), run_id="r")
    assert not result.ok and "step limit (3)" in result.error and result.steps == 3
    assert bus.history["r"][-1].type == EventType.RUN_ERROR


async def test_llm_planner_drives_a_real_model(tiny_backend, tmp_path: Path) -> None:
    """The tiny random model writes gibberish: the planner must turn that into observations, count tokens,
    and the run must end cleanly at the step limit (the honest outcome for a model that cannot plan)."""
    async with serve(build_agent("python", tmp_path)) as connections:
        bus = EventBus()
        planner = LLMPlanner(tiny_backend, max_new_tokens=16)
        result = await Engine(Dispatcher(connections, bus), max_steps=2).run("What is 2 + 2?", planner, run_id="r")
    assert result.llm_calls == 2 and result.prompt_tokens > 0 and result.completion_tokens > 0
    thoughts = [e for e in bus.history["r"] if e.type == EventType.THOUGHT]
    assert len(thoughts) == 2
    assert not result.ok and "step limit (2)" in result.error and result.steps == 2


async def test_llm_planner_prompt_lists_tools_and_observations(tiny_backend, tmp_path: Path) -> None:
    async with serve(build_agent("python", tmp_path)) as connections:
        tools = Dispatcher(connections, EventBus()).tools
    planner = LLMPlanner(tiny_backend)
    from scheduler.planning.step import PlanStep, StepRecord

    history = [StepRecord(PlanStep(raw='{"thought": "x"}'), observations=[{"id": "a1", "ok": False, "error": "InvalidAction: boom"}])]
    messages = planner.messages("task", tools, history)
    assert '"tool": "run_python"' in messages[0]["content"] and '"expression": "string"' in messages[0]["content"]
    assert messages[-1]["role"] == "user" and "InvalidAction: boom" in messages[-1]["content"]
    assert tiny_backend.generate([messages], SamplingParams(max_new_tokens=4)).completions[0][0].completion_tokens >= 1


async def test_async_actions_are_collected_later(tmp_path: Path) -> None:
    """An async call is fired in step 1, step 2 runs meanwhile, and its result is there for the final answer."""
    plan = [
        {"thought": "fire", "actions": [{"id": "slow", "tool": "run_python", "mode": "async",
                                         "args": {"code": "import time; time.sleep(0.6); print(5)"}}]},
        {"thought": "meanwhile", "actions": [{"id": "fast", "tool": "calculate", "args": {"expression": "1 + 1"}}]},
        {"thought": "done", "final_answer": "{{fast.value}}/{{slow.stdout}}"},
    ]
    async with serve(build_agent("python", tmp_path)) as connections:
        bus = EventBus()
        result = await Engine(Dispatcher(connections, bus)).run("t", ScriptedPlanner(plan), run_id="r")
    assert result.ok and result.answer == "2/5"
    order = [(e.type, e.data.get("call_id")) for e in bus.history["r"] if e.type in (EventType.TOOL_CALL_START, EventType.TOOL_CALL_END)]
    assert order.index((EventType.TOOL_CALL_END, "fast")) < order.index((EventType.TOOL_CALL_END, "slow"))


async def test_one_call_per_step_baseline_splits_steps_and_keeps_fallbacks(tmp_path: Path) -> None:
    plan = [
        {"thought": "fan out", "actions": [{"id": "a", "tool": "calculate", "args": {"expression": "1 + 1"}},
                                            {"id": "b", "tool": "csv_aggregate", "args": {"path": "missing.csv", "column": "x"}}],
         "fallback": {"b": [{"id": "b2", "tool": "calculate", "args": {"expression": "10"}}]}},
        {"thought": "sum", "actions": [{"id": "c", "tool": "calculate", "args": {"expression": "{{a.value}} + {{b2.value}}"}}]},
        {"thought": "done", "final_answer": "{{c.value}}"},
    ]
    results = {}
    async with serve(build_agent("python", tmp_path), build_agent("documents", tmp_path)) as connections:
        for one in (False, True):
            bus = EventBus()
            results[one] = await Engine(Dispatcher(connections, bus)).run("t", ScriptedPlanner(plan, one_call_per_step=one), run_id="r")
            steps = [e.data["actions"] for e in bus.history["r"] if e.type == EventType.THOUGHT]
            assert all(len(actions) <= 1 for actions in steps) if one else len(steps[0]) == 2
    assert results[False].answer == results[True].answer == "12"
    assert results[False].steps == 4 and results[True].steps == 5  # fan-out, fallback, sum, answer (+1 split step)
    assert results[True].planner == "scripted/one-call-per-step"


async def test_a_crashing_planner_ends_the_run_with_run_error(tmp_path: Path) -> None:
    class Broken(ScriptedPlanner):
        async def next_step(self, task, tools, history):
            raise RuntimeError("model server went away")

    async with serve(build_agent("python", tmp_path)) as connections:
        bus = EventBus()
        result = await Engine(Dispatcher(connections, bus)).run("t", Broken([{"final_answer": "x"}]), run_id="r")
    assert not result.ok and "planner failed: RuntimeError: model server went away" in result.error
    assert bus.history["r"][-1].type == EventType.RUN_ERROR


async def test_constrained_steps_always_name_listed_tools_with_valid_arguments(tiny_backend) -> None:
    """Even a random model's steps validate against the discovered tools' own schemas: every action names a
    listed tool with arguments its input schema accepts, or the step gives a final answer."""
    from scheduler.evaluation.harness import running_agents
    from scheduler.planning.llm_react import step_constraint
    from scheduler.planning.validate import validate_call

    async with running_agents() as connections:
        tools = Dispatcher(connections, EventBus()).tools
    plain = {k: v for k, v in tools.items() if "." not in k}
    assert len(plain) >= 7  # the documents, search, python and webpage agents. tools
    planner = LLMPlanner(tiny_backend)
    messages = planner.messages("What is 17 * 3?", tools, [])
    params = SamplingParams(max_new_tokens=400, temperature=1.0, n=6, seed=9, constraint=step_constraint(tools))
    finished = [c for c in tiny_backend.generate([messages], params).completions[0] if c.finish_reason == "stop"]
    assert len(finished) >= 3
    for completion in finished:
        step = step_from_json(find_json_object(completion.text), "s")
        assert step.final_answer is not None or step.actions
        for action in step.actions:
            assert validate_call(action, tools) is None, (action, completion.text)
