"""The trainer conditions on exactly the prompt ids the sampler generated from (one chat templating)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.llm.base import SamplingParams
from agents.llm.models import default_model_path
from agents.llm.transformers_backend import TransformersBackend, encode_chat
from core.errors import SymphonyError

CONVERSATION = [
    {"role": "system", "content": "You add numbers."},
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "<answer>5</answer>"},
    {"role": "user", "content": "And 4 + 4?"},
]


class _OneConversation:
    """The part of a TaskSet the trainer's prompt_ids reads: every task index has CONVERSATION."""

    def conversation(self, index: int) -> list[dict[str, str]]:
        return [dict(m) for m in CONVERSATION]


def _trainer_ids(model_path: Path) -> list[int]:
    from echo_sync.settings import GRPOSettings
    from echo_sync.trainer import GRPOTrainer, load_causal_lm

    model, tokenizer = load_causal_lm(model_path)
    return GRPOTrainer(model, tokenizer, GRPOSettings(), _OneConversation()).prompt_ids(0)  # type: ignore[arg-type]


def _check_same_prompt(model_path: Path) -> None:
    ids = _trainer_ids(model_path)
    backend = TransformersBackend(model_path, device="cpu", dtype="float32")
    try:
        assert ids == encode_chat(backend.tokenizer, CONVERSATION)
        # what generate() actually fed the model: as many prompt tokens as the trainer's ids
        result = backend.generate([CONVERSATION], SamplingParams(max_new_tokens=1, temperature=0.0))
        assert result.completions[0][0].prompt_tokens == len(ids)
        text = backend.tokenizer.decode(ids)
    finally:
        backend.close()
    # every message, in order, then the assistant's turn is open
    positions = [text.index(m["content"]) for m in CONVERSATION]
    assert positions == sorted(positions)
    assert not text.rstrip().endswith(CONVERSATION[-1]["content"])


def test_trainer_prompt_ids_are_the_backends_on_the_tiny_model(tiny_model: Path) -> None:
    _check_same_prompt(tiny_model)


def test_trainer_prompt_ids_are_the_backends_on_the_default_model() -> None:
    path = default_model_path()
    if not (path / "config.json").exists():
        pytest.skip("default model not prepared (run scripts/setup.sh)")
    _check_same_prompt(path)


def test_encode_chat_refuses_messages_without_role_or_content(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model))
    for bad in ([], [{"role": "user"}], [{"content": "hi"}]):
        with pytest.raises(SymphonyError, match="'role' and 'content'"):
            encode_chat(tokenizer, bad)
