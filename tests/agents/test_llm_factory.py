"""load_backend picks the backend from settings; the vLLM backend stays optional and lazy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from agents.llm.base import SamplingParams
from agents.llm.factory import load_backend
from agents.llm.transformers_backend import TransformersBackend
from agents.settings import LLMSettings
from core.errors import SymphonyError


def test_transformers_backend_from_settings(tiny_model_path: Path) -> None:
    settings = LLMSettings(model=str(tiny_model_path), device="cpu", max_batch_size=2, max_new_tokens=5)
    backend = load_backend(settings)
    assert isinstance(backend, TransformersBackend)
    assert backend.max_batch_size == 2
    result = backend.generate([[{"role": "user", "content": "hi"}]] * 3, settings.sampling_params())
    assert [len(g) for g in result.completions] == [1, 1, 1]
    assert all(c.completion_tokens <= 5 for g in result.completions for c in g)


def test_sampling_params_overrides() -> None:
    settings = LLMSettings(temperature=0.7, seed=3, max_new_tokens=9)
    assert settings.sampling_params(n=4) == SamplingParams(max_new_tokens=9, temperature=0.7, n=4, seed=3)


@pytest.mark.parametrize(
    "bad", [{"backend": "onnx"}, {"device": "tpu"}, {"device": "cpu:1"}, {"temperature": -1}, {"dtype": "int8"}]
)
def test_settings_reject_bad_values(bad: dict) -> None:
    with pytest.raises(ValidationError):
        LLMSettings(**bad)


def test_vllm_module_imports_without_vllm() -> None:
    code = (
        "import sys, agents.llm.vllm_backend, agents.llm.vllm_worker, agents.llm.factory; "
        "print('vllm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_vllm_backend_without_vllm_is_a_clear_error(tiny_model_path: Path) -> None:
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vllm is installed; the missing-extra error cannot happen")
    with pytest.raises(SymphonyError, match=r"symphony\[vllm\]"):
        load_backend(LLMSettings(backend="vllm", model=str(tiny_model_path)))
