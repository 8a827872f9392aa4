"""Fixtures for the agents tests: a tiny random model (built once per session) and a CPU backend on it.

Why session scope: building the model is cheap but loading transformers is not; one model serves every
test, and tests that mutate weights build their own copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agents.llm.tiny import build_tiny_model

    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model") / "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_path: Path):
    from agents.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(tiny_model_path, device="cpu", max_batch_size=4)
    yield backend
    backend.close()
