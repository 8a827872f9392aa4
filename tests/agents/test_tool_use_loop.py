"""run_with_tools end to end with a real (tiny, briefly trained) model that learned to call the Python tool.

The tiny random model never writes tool calls by chance, so the test first teaches it two turns by
supervised fine-tuning (a second or two on CPU): on the question it writes a <python> call; after seeing the
<output> it writes "Answer: 42". The loop must then stop generation at </python>, run the real sandbox,
feed the output back, and return the final answer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from agents.llm.base import SamplingParams
from agents.llm.transformers_backend import TransformersBackend
from agents.tool_use import CalculatorTool, PythonTool, run_with_tools
from agents.tool_use.loop import LIMIT_NOTE, with_instructions
from tools.answers import extract_answer

QUESTION = [{"role": "user", "content": "What is six times seven?"}]
CALL = "<python>print(6*7)</python>"
FINAL = "Answer: 42"


def _train(backend: TransformersBackend, examples: list[tuple[list[dict], str]], steps: int = 40) -> None:
    """Supervised fine-tuning on (conversation, assistant reply) pairs; loss on the reply tokens only."""
    tok, model = backend.tokenizer, backend.model
    batch = []
    for messages, reply in examples:
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
        r_ids = tok(reply, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        batch.append((torch.tensor(p_ids + r_ids), torch.tensor([-100] * len(p_ids) + r_ids)))
    torch.manual_seed(0)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        for ids, labels in batch:
            model(input_ids=ids[None], labels=labels[None]).loss.backward()
        opt.step()
    model.eval()


@pytest.fixture(scope="module")
def tool_model(tiny_model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> TransformersBackend:
    torch.set_num_threads(1)
    path = shutil.copytree(tiny_model_path, tmp_path_factory.mktemp("tool-model") / "m")
    backend = TransformersBackend(path, device="cpu")
    tools = [PythonTool(), CalculatorTool()]
    first = with_instructions(QUESTION, tools)
    second = first + [{"role": "assistant", "content": CALL}, {"role": "user", "content": "<output>\n42\n</output>"}]
    _train(backend, [(first, CALL), (second, FINAL)])
    return backend


def test_model_calls_python_and_answers_from_the_output(tool_model: TransformersBackend) -> None:
    outcome = run_with_tools(tool_model, QUESTION, [PythonTool(), CalculatorTool()], max_rounds=3,
                             params=SamplingParams(max_new_tokens=24))
    assert outcome.tools_used == ["python"]
    (exchange,) = outcome.exchanges
    assert exchange.argument == "print(6*7)" and exchange.output == "42" and exchange.ok
    assert outcome.messages[-3] == {"role": "assistant", "content": CALL}
    assert outcome.messages[-2] == {"role": "user", "content": "<output>\n42\n</output>"}
    assert outcome.text == FINAL and extract_answer(outcome.text) == "42"
    assert outcome.generations == 2 and outcome.tokens > 0 and outcome.seconds > 0
    assert "python:" in outcome.messages[0]["content"]  # the instructions went into the system prompt
    assert CALL in outcome.transcript and FINAL in outcome.transcript


def test_round_limit_tells_the_model_and_stops_running_tools(tool_model: TransformersBackend) -> None:
    outcome = run_with_tools(tool_model, QUESTION, [PythonTool(), CalculatorTool()], max_rounds=1,
                             params=SamplingParams(max_new_tokens=24))
    assert len(outcome.exchanges) == 1
    assert outcome.messages[-2]["content"].endswith(LIMIT_NOTE)
    assert outcome.generations == 2


def test_zero_rounds_is_a_plain_generation(tool_model: TransformersBackend) -> None:
    outcome = run_with_tools(tool_model, QUESTION, [PythonTool()], max_rounds=0,
                             params=SamplingParams(max_new_tokens=8))
    assert outcome.exchanges == [] and outcome.generations == 1
    assert outcome.messages[0] == QUESTION[0]


def test_bad_arguments(tool_model: TransformersBackend) -> None:
    from core.errors import SymphonyError

    with pytest.raises(SymphonyError):
        run_with_tools(tool_model, QUESTION, [PythonTool(), PythonTool()])
    with pytest.raises(SymphonyError):
        run_with_tools(tool_model, QUESTION, [PythonTool()], max_rounds=-1)
