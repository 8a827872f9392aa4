"""VLLMBackend against a real vLLM engine (GPU). Skips cleanly where vllm is not installed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agents.llm.base import SamplingParams
from agents.llm.tiny import build_tiny_model

pytestmark = pytest.mark.vllm
vllm = pytest.importorskip("vllm")


@pytest.fixture(scope="module")
def vllm_backend(tmp_path_factory: pytest.TempPathFactory):
    from agents.llm.vllm_backend import VLLMBackend

    path = build_tiny_model(tmp_path_factory.mktemp("vllm") / "tiny", seed=0)
    backend = VLLMBackend(path, dtype="float32", gpu_memory_utilization=0.2, max_model_len=512, enforce_eager=True)
    yield backend
    backend.close()


def test_generate_shapes_and_token_ids(vllm_backend) -> None:
    conv = [{"role": "user", "content": "What is 2+2?"}]
    result = vllm_backend.generate([conv, conv], SamplingParams(max_new_tokens=8, temperature=1.0, n=3, seed=1))
    assert [len(g) for g in result.completions] == [3, 3]
    for c in (c for g in result.completions for c in g):
        assert c.completion_tokens == len(c.token_ids) <= 8 and c.prompt_tokens > 0


def test_greedy_matches_transformers(vllm_backend, tmp_path: Path) -> None:
    from agents.llm.transformers_backend import TransformersBackend

    conv = [{"role": "user", "content": "Explain primes."}]
    params = SamplingParams(max_new_tokens=8)
    hf = TransformersBackend(build_tiny_model(tmp_path / "same", seed=0), device="cpu")
    expected = hf.generate([conv], params).completions[0][0].token_ids
    assert vllm_backend.generate([conv], params).completions[0][0].token_ids == expected


def test_load_weights_changes_outputs(vllm_backend, tmp_path: Path) -> None:
    conv = [{"role": "user", "content": "Explain primes."}]
    params = SamplingParams(max_new_tokens=12)
    before = vllm_backend.generate([conv], params).completions[0][0].token_ids
    other = build_tiny_model(tmp_path / "seed1", seed=1)
    vllm_backend.load_weights(other / "model.safetensors", version=3)
    after = vllm_backend.generate([conv], params)
    assert after.policy_version == 3 and after.completions[0][0].token_ids != before
    shutil.rmtree(other)
