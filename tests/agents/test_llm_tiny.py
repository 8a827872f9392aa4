"""The tiny random model must be a real, loadable, trainable, deterministic causal LM."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from agents.llm.tiny import build_tiny_model
from core.errors import SymphonyError


def _digest(path: Path) -> str:
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = build_tiny_model(tmp_path / "a", seed=3)
    b = build_tiny_model(tmp_path / "b", seed=3)
    c = build_tiny_model(tmp_path / "c", seed=4)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert (a / "tokenizer.json").read_bytes() == (c / "tokenizer.json").read_bytes()


def test_small_on_disk(tiny_model_path: Path) -> None:
    total = sum(f.stat().st_size for f in tiny_model_path.iterdir())
    assert total < 2 * 1024 * 1024


def test_build_leaves_global_rng_alone(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model(tmp_path / "m", seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_tokenizer_round_trips_any_text_and_has_chat_template(tiny_model_path: Path) -> None:
    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    text = "Ünïcödé ✓ 3.14 <python>print(1)</python> \\boxed{42}"
    assert tok.decode(tok(text)["input_ids"]) == text
    prompt = tok.apply_chat_template(
        [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt == "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n"
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"
    assert tok.eos_token_id != tok.pad_token_id


def test_trainable_loss_decreases(tiny_model_path: Path) -> None:
    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny_model_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path)
    model.train()
    ids = torch.tensor([tok("Answer: 47. The answer is 47.")["input_ids"]])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        loss = model(input_ids=ids, labels=ids).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(p.grad is not None for p in model.parameters())
    assert losses[-1] < losses[0] * 0.8


@pytest.mark.parametrize("kwargs", [{"hidden_size": 30}, {"num_layers": 0}])
def test_bad_shape_is_a_clear_error(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(SymphonyError):
        build_tiny_model(tmp_path / "bad", **kwargs)
