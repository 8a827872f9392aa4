"""Exact counting (tools.counting) and the counters as grounded agent tools, decoded by real models."""

from __future__ import annotations

import json

import pytest

from agents.answer_format import Answer, answer_constraint
from agents.llm.base import SamplingParams
from agents.llm.transformers_backend import TransformersBackend
from agents.tool_use import ItemCounterTool, LetterCounterTool, build_tools, run_with_tools
from tools.counting import CountingError, count_items, count_letter, item_quantity, listed_items, quoted_spans

LETTERS = 'How many times does the letter "e" appear in the text: "Seven sheep slept here"?'
ITEMS = "I have a frog, two plums, three heads of broccoli, and a banana. How many fruits do I have?"


def _ask(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "You are a counting agent."}, {"role": "user", "content": question}]


def test_letters_are_counted_exactly_ignoring_case() -> None:
    assert count_letter("Seven sheep slept here", "e") == 7
    assert count_letter("Seven sheep slept here", "S") == 3
    assert count_letter("a gain of 5000", "0") == 3  # generators pick digits as "letters" too
    for bad in ("ee", "", " ", "?"):
        with pytest.raises(CountingError):
            count_letter("text", bad)


def test_items_count_by_their_quantity_word() -> None:
    assert [item_quantity(i) for i in ("a frog", "an orange", "two plums", "three heads of broccoli", "12 cars")] == [1, 1, 2, 3, 12]
    assert count_items({"a frog": False, "two plums": True, "a banana": True}) == 3
    assert count_items({}) == 0
    with pytest.raises(CountingError, match="quantity"):
        count_items({"two plums": True, "frog": False})  # a malformed entry is reported even when not counted


def test_questions_are_split_into_their_quoted_spans_and_listed_items() -> None:
    assert quoted_spans(LETTERS) == ["e", "Seven sheep slept here"]
    assert listed_items(ITEMS) == ["a frog", "two plums", "three heads of broccoli", "a banana"]
    assert listed_items("I have a clarinet and a violin. How many musical instruments do I have?") == ["a clarinet", "a violin"]
    assert listed_items("What is 2 + 3?") == []


def test_the_letter_counter_is_grounded_in_the_quoted_text_and_letter() -> None:
    props = LetterCounterTool().arguments_schema(LETTERS)["properties"]
    assert props["text"]["enum"] == ["Seven sheep slept here"] and props["letter"]["enum"] == ["e"]
    free = LetterCounterTool().arguments_schema("How many e are in eel?")["properties"]
    assert free["text"]["enum"] == ["How many e are in eel?"] and len(free["letter"]["enum"]) == 36


def test_the_item_counter_asks_about_every_listed_item_once() -> None:
    schema = ItemCounterTool().arguments_schema(ITEMS)["properties"]["items"]
    assert list(schema["properties"]) == listed_items(ITEMS) and schema["required"] == listed_items(ITEMS)
    assert schema["additionalProperties"] is False and all(p == {"type": "boolean"} for p in schema["properties"].values())
    assert "properties" not in ItemCounterTool().arguments_schema("What is 2 + 3?")["properties"]["items"]


@pytest.mark.parametrize("question, tool", [(LETTERS, LetterCounterTool()), (ITEMS, ItemCounterTool())])
def test_any_call_a_model_can_write_is_a_grounded_call_that_runs(tiny_backend, question, tool) -> None:
    """The tiny random model writes whatever the constraint leaves open: the call is still over the question's own
    text, letter or list, and the answer is the value the counter computed."""
    outcome = run_with_tools(tiny_backend, _ask(question), [tool], answer_constraint("number"),
                             params=SamplingParams(max_new_tokens=160, temperature=1.0, seed=2))
    exchange = outcome.exchanges[0]
    assert exchange.ok, exchange.output
    if tool.name == "letter_counter":
        assert exchange.arguments == {"text": "Seven sheep slept here", "letter": "e"} and exchange.output == "7"
    else:
        assert list(exchange.arguments["items"]) == sorted(listed_items(ITEMS))
        assert exchange.output == str(count_items(exchange.arguments["items"]))
    assert Answer.model_validate_json(outcome.text).answer.strip()


def test_the_default_model_counts_with_the_tools(smollm) -> None:
    backend = TransformersBackend(smollm, device="cpu")
    try:
        letters = run_with_tools(backend, _ask(LETTERS), build_tools(["letter_counter"]), answer_constraint("number"),
                                 params=SamplingParams(max_new_tokens=64))
        assert json.loads(letters.text)["answer"] == "7"
        items = run_with_tools(backend, _ask("I have a clarinet, a violin, and two flutes. How many musical instruments do I have?"),
                               build_tools(["item_counter"]), answer_constraint("number"), params=SamplingParams(max_new_tokens=160))
        assert items.exchanges[0].ok and json.loads(items.text)["answer"] == "4"
    finally:
        backend.close()


def test_a_counting_agent_declines_questions_its_counters_cannot_help_with(tiny_backend, tmp_path) -> None:
    """It never bids on them (accepts is checked before bidding) and, asked directly, abstains without generating."""
    from agents.executor import StepExecutor
    from agents.payloads import SubtaskPayload
    from agents.profile import AgentProfile

    profile = AgentProfile(name="counter", capability="counts", tools=["item_counter"], state_dir=tmp_path)
    executor = StepExecutor(tiny_backend, profile, build_tools(profile.tools))
    word_problem = SubtaskPayload("Tom has 3 boxes of 4 pens. How many pens?", ("Answer the question.",), 0, final=True)
    listed = SubtaskPayload(ITEMS, ("Answer the question.",), 0, final=True, answer_format="number")
    assert not executor.accepts(word_problem.encode(8192)) and executor.accepts(listed.encode(8192))
    declined = executor.execute(word_problem)
    assert declined.abstained and "none of its tools applies" in declined.output and declined.tokens == 0
    assert not executor.execute(listed).abstained
