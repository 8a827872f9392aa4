"""TransformersBackend on the tiny random model: batching, sampling, stop strings, token ids, weight reloads."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from agents.llm.base import SamplingParams
from agents.llm.tiny import build_tiny_model
from agents.llm.transformers_backend import TransformersBackend
from core.errors import SymphonyError

SHORT = [{"role": "user", "content": "What is 2+2?"}]
LONG = [
    {"role": "system", "content": "You are a careful assistant who explains every step."},
    {"role": "user", "content": "A train travels 60 miles per hour for 2.5 hours. How far does it go?"},
]
HI = [{"role": "user", "content": "hi"}]


def test_batched_greedy_equals_one_at_a_time(tiny_backend: TransformersBackend) -> None:
    params = SamplingParams(max_new_tokens=24)
    batch = tiny_backend.generate([SHORT, LONG, HI], params)
    singles = [tiny_backend.generate([conv], params).completions[0][0] for conv in (SHORT, LONG, HI)]
    assert [g[0].token_ids for g in batch.completions] == [s.token_ids for s in singles]
    assert len({g[0].token_ids for g in batch.completions}) == 3  # the prompts really differ


def test_completion_fields_are_consistent(tiny_backend: TransformersBackend) -> None:
    tok = tiny_backend.tokenizer
    result = tiny_backend.generate([SHORT, LONG], SamplingParams(max_new_tokens=16))
    assert result.model_id == "tiny" and result.policy_version is None and result.seconds > 0
    for conv, group in zip([SHORT, LONG], result.completions):
        (c,) = group
        prompt = tok.apply_chat_template(list(conv), tokenize=False, add_generation_prompt=True)
        assert c.prompt_tokens == len(tok(prompt, add_special_tokens=False)["input_ids"])
        assert c.completion_tokens == len(c.token_ids) <= 16
        assert c.text == tok.decode(list(c.token_ids), skip_special_tokens=True)
        if c.finish_reason == "length":
            assert c.completion_tokens == 16 and tok.eos_token_id not in c.token_ids
        else:
            assert c.token_ids[-1] == tok.eos_token_id
    assert result.total_tokens == sum(c.prompt_tokens + c.completion_tokens for g in result.completions for c in g)


def test_n_samples_seeded_and_reproducible(tiny_backend: TransformersBackend) -> None:
    params = SamplingParams(max_new_tokens=12, temperature=1.0, n=3, seed=11)
    first = tiny_backend.generate([SHORT, LONG], params)
    again = tiny_backend.generate([SHORT, LONG], params)
    other = tiny_backend.generate([SHORT, LONG], SamplingParams(max_new_tokens=12, temperature=1.0, n=3, seed=12))
    ids = [[c.token_ids for c in g] for g in first.completions]
    assert [len(g) for g in ids] == [3, 3]
    assert ids == [[c.token_ids for c in g] for g in again.completions]
    assert ids != [[c.token_ids for c in g] for g in other.completions]
    assert len(set(ids[0])) > 1  # n samples of one prompt are not copies of each other


def test_stop_string_cuts_text_and_tokens(tiny_backend: TransformersBackend) -> None:
    full = tiny_backend.generate([LONG], SamplingParams(max_new_tokens=40)).completions[0][0]
    match = re.search(r"[A-Za-z0-9]{2}", full.text[4:])
    assert match, f"no ascii pair in {full.text!r}"
    stop = match.group(0)
    where = full.text.find(stop)
    cut = tiny_backend.generate([LONG], SamplingParams(max_new_tokens=40, stop=(stop,))).completions[0][0]
    assert cut.finish_reason == "stop"
    assert cut.text == full.text[:where]
    assert full.token_ids[: len(cut.token_ids)] == cut.token_ids
    assert len(cut.token_ids) < len(full.token_ids)
    assert stop in tiny_backend.tokenizer.decode(list(cut.token_ids))


def test_load_weights_swaps_in_place_and_records_version(tmp_path: Path) -> None:
    base = build_tiny_model(tmp_path / "seed0", seed=0)
    other = build_tiny_model(tmp_path / "seed1", seed=1)
    params = SamplingParams(max_new_tokens=16)
    reference = TransformersBackend(other, device="cpu").generate([LONG], params).completions[0][0].token_ids
    backend = TransformersBackend(base, device="cpu")
    before = backend.generate([LONG], params).completions[0][0].token_ids
    assert before != reference
    backend.load_weights(other / "model.safetensors", version=7)
    result = backend.generate([LONG], params)
    assert result.policy_version == 7
    assert result.completions[0][0].token_ids == reference
    backend.load_weights(base, version=8)  # a folder works too
    assert backend.generate([LONG], params).completions[0][0].token_ids == before


def test_load_weights_rejects_other_architecture(tmp_path: Path, tiny_model_path: Path) -> None:
    wider = build_tiny_model(tmp_path / "wide", hidden_size=32)
    copy = shutil.copytree(tiny_model_path, tmp_path / "copy")
    backend = TransformersBackend(copy, device="cpu")
    with pytest.raises(SymphonyError, match="shape"):
        backend.load_weights(wider, version=1)
    with pytest.raises(SymphonyError, match="does not exist"):
        backend.load_weights(tmp_path / "nope", version=1)
    assert backend.policy_version is None


def test_bad_inputs_are_clear_errors(tiny_backend: TransformersBackend, tmp_path: Path) -> None:
    with pytest.raises(SymphonyError, match="not found"):
        TransformersBackend(tmp_path / "missing-model", device="cpu")
    with pytest.raises(SymphonyError, match="n must be"):
        tiny_backend.generate([SHORT], SamplingParams(n=0))
    with pytest.raises(SymphonyError, match="role"):
        tiny_backend.generate([[{"content": "no role"}]], SamplingParams(max_new_tokens=2))
    with pytest.raises(SymphonyError, match="dtype"):
        TransformersBackend(tmp_path, device="cpu", dtype="int3")


def test_greedy_n_repeats_the_single_greedy_completion(tiny_backend: TransformersBackend) -> None:
    one = tiny_backend.generate([SHORT], SamplingParams(max_new_tokens=10)).completions[0][0]
    group = tiny_backend.generate([SHORT, LONG], SamplingParams(max_new_tokens=10, n=3)).completions
    assert [len(g) for g in group] == [3, 3]
    assert all(c == one for c in group[0])
