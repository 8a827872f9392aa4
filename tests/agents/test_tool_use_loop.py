"""run_with_tools end to end: a constrained call, the real tool, a constrained answer — with real models.

The tiny random model writes whatever the constraint leaves open, so with it the tests check the mechanics
(every call parses and runs, errors go back to the model, the answer validates); the default model checks that
a real 135M model drives the calculator to the right result.
"""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from agents.answer_format import Answer, answer_constraint
from agents.llm.base import SamplingParams
from agents.llm.structured import StructuredOutputError
from agents.llm.transformers_backend import TransformersBackend
from agents.tool_use import AgentTool, CalculatorTool, PythonTool, ToolResult, run_with_tools
from core.errors import SymphonyError
from tools.calculator import calculate

QUESTION = [{"role": "system", "content": "You are a math agent."}, {"role": "user", "content": "What is 12 + 35?"}]


class FlakyTool(CalculatorTool):
    """A real calculator that refuses its first call: the loop must show the error and let the model call again."""

    name = "flaky"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def run(self, arguments: BaseModel) -> ToolResult:
        self.calls += 1
        return ToolResult("error: busy, try again", ok=False) if self.calls == 1 else super().run(arguments)


def test_the_call_parses_runs_and_the_answer_validates(tiny_backend) -> None:
    outcome = run_with_tools(tiny_backend, QUESTION, [CalculatorTool()], answer_constraint("number"),
                             params=SamplingParams(max_new_tokens=320, temperature=1.0, seed=4))
    assert 1 <= len(outcome.exchanges) <= 2  # a failed first call (e.g. 0/0) may be retried once
    for exchange in outcome.exchanges:
        assert exchange.tool == "calculator" and set(exchange.arguments) == {"expression"}
        if exchange.ok:
            assert exchange.output == calculate(exchange.arguments["expression"])
        else:
            assert exchange.output.startswith("error:")
    answer = Answer.model_validate_json(outcome.text).answer
    assert json.loads(outcome.messages[-1]["content"])["answer"] == answer
    assert outcome.messages[-2]["content"].startswith(f"Result of calculator: {outcome.exchanges[-1].output}")
    assert outcome.generations == len(outcome.exchanges) + 1 and outcome.tokens > 0
    assert "calculator:" in outcome.messages[0]["content"]  # the tools are named in the system prompt
    assert outcome.messages[1] == {"role": "user", "content": CalculatorTool.examples[0].task}  # the worked example


def test_a_failed_call_is_shown_and_called_again(tiny_backend) -> None:
    tool = FlakyTool()
    outcome = run_with_tools(tiny_backend, QUESTION, [tool], answer_constraint("number"), max_rounds=2,
                             params=SamplingParams(max_new_tokens=320, temperature=1.0, seed=5))
    assert tool.calls == 2 and [e.ok for e in outcome.exchanges][0] is False
    assert "Correct the call" in outcome.messages[-4]["content"]
    once = FlakyTool()
    outcome = run_with_tools(tiny_backend, QUESTION, [once], answer_constraint("number"), max_rounds=1,
                             params=SamplingParams(max_new_tokens=320, temperature=1.0, seed=5))
    assert once.calls == 1 and outcome.generations == 2  # no rounds left: answer anyway


def test_a_budget_too_small_raises_naming_the_schema(tiny_backend) -> None:
    with pytest.raises(StructuredOutputError, match=r"calc-agent: no valid ToolCall\(calculator\)"):
        run_with_tools(tiny_backend, QUESTION, [CalculatorTool()], answer_constraint("number"),
                       params=SamplingParams(max_new_tokens=4), who="calc-agent")


def test_bad_arguments(tiny_backend) -> None:
    with pytest.raises(SymphonyError):
        run_with_tools(tiny_backend, QUESTION, [PythonTool(), PythonTool()], answer_constraint("text"))
    with pytest.raises(SymphonyError):
        run_with_tools(tiny_backend, QUESTION, [PythonTool()], answer_constraint("text"), max_rounds=0)
    with pytest.raises(SymphonyError):
        run_with_tools(tiny_backend, QUESTION, [], answer_constraint("text"))


def test_default_model_drives_the_calculator_to_the_right_answer(smollm) -> None:
    backend = TransformersBackend(smollm, device="cpu")
    outcome = run_with_tools(backend, QUESTION, [CalculatorTool()], answer_constraint("number"),
                             params=SamplingParams(max_new_tokens=64))
    (exchange,) = outcome.exchanges
    assert exchange.arguments["expression"].replace(" ", "") == "12+35" and exchange.output == "47"
    assert Answer.model_validate_json(outcome.text).answer == "47"


class _Unused(AgentTool):  # the abstract interface stays implementable by other projects' tools
    name, description, input_model = "x", "x", Answer

    def run(self, arguments: BaseModel) -> ToolResult:
        return ToolResult(arguments.answer)  # type: ignore[attr-defined]


def test_any_agent_tool_can_be_called(tiny_backend) -> None:
    outcome = run_with_tools(tiny_backend, QUESTION, [_Unused()], answer_constraint("text"),
                             params=SamplingParams(max_new_tokens=320, temperature=1.0, seed=1))
    assert outcome.exchanges[0].tool == "x" and outcome.exchanges[0].ok


class BrokenSchemaTool(CalculatorTool):
    """A tool whose argument schema cannot compile (a malformed pattern): the agent must abstain, not crash."""

    name = "broken"

    def arguments_schema(self, context: str) -> dict:
        schema = super().arguments_schema(context)
        schema["properties"]["expression"]["pattern"] = "([0-9"
        return schema


def test_an_executor_abstains_with_a_reason_naming_the_schema_and_the_agent(tiny_backend, caplog) -> None:
    from agents.executor import StepExecutor
    from agents.payloads import SubtaskPayload
    from agents.profile import AgentProfile

    profile = AgentProfile(name="calc-7", capability="arithmetic", tools=["calculator"])
    payload = SubtaskPayload("What is 12 + 35?", ("Answer the question.",), 0, final=True, answer_format="number")
    with caplog.at_level("WARNING", logger="symphony.executor"):
        result = StepExecutor(tiny_backend, profile, [BrokenSchemaTool()]).execute(payload)
    assert result.abstained and result.answer is None
    assert "calc-7" in result.output and "ToolCall(broken)" in result.output and "does not compile" in result.output
    assert any("calc-7 abstains" in r.getMessage() for r in caplog.records)
    short = profile.model_copy(update={"llm": profile.llm.model_copy(update={"max_new_tokens": 3})})
    over = StepExecutor(tiny_backend, short, [CalculatorTool()]).execute(payload)
    assert over.abstained and "no valid ToolCall(calculator)" in over.output and "calc-7" in over.output
