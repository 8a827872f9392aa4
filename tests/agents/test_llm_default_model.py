"""The converted default model (SmolLM2-135M-Instruct) answers a simple chat prompt. Slow: loads 135M params
(and converts the GGUF first if build/models does not have it yet, ~25 s)."""

from __future__ import annotations

import time

import pytest

from agents.llm.base import SamplingParams
from agents.llm.models import conversion_info, default_model_path, gguf_source, is_prepared, prepare_default_model

pytestmark = pytest.mark.slow


def test_default_model_is_prepared_idempotently_and_answers() -> None:
    from agents.llm.transformers_backend import TransformersBackend

    path = prepare_default_model()
    assert is_prepared(path, gguf_source()) and path == default_model_path()
    info = conversion_info(path)
    assert info["source"] == gguf_source().name and info["source_bytes"] == gguf_source().stat().st_size
    started = time.perf_counter()
    assert prepare_default_model() == path
    assert time.perf_counter() - started < 1.0  # already prepared: no reconversion

    backend = TransformersBackend(path, device="cpu")
    assert backend.tokenizer.chat_template  # the GGUF's chat template survived the conversion
    conv = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
    completion = backend.generate([conv], SamplingParams(max_new_tokens=30)).completions[0][0]
    assert "paris" in completion.text.lower(), completion.text
    assert completion.finish_reason == "stop" and completion.token_ids[-1] == backend.tokenizer.eos_token_id
