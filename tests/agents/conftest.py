"""Fixtures for the agents tests: a CPU backend on the session's tiny random model (tests/conftest.py).

Why session scope: one backend serves every test; tests that mutate weights build their own copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_backend(tiny_model_path: Path):
    from agents.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(tiny_model_path, device="cpu", max_batch_size=4)
    yield backend
    backend.close()
