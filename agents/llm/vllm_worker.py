"""vLLM worker extension that reloads weights in place from a safetensors file or folder.

Why an extension class: with vLLM's V1 engine the model lives in worker processes, so the only supported way
to touch it is `LLM.collective_rpc(method)` on a method mixed into the worker via `worker_extension_cls`.
This module must stay importable without vLLM (vLLM imports it inside its workers).
"""

from __future__ import annotations

from typing import Any


class WeightReloadExtension:
    """Mixed into vLLM's worker class; `self` is the worker (it has `model_runner`)."""

    model_runner: Any  # provided by the vLLM worker this class is mixed into

    def symphony_load_weights(self, path: str) -> int:
        """Stream every tensor at `path` into the live model; returns how many tensors were read."""
        from vllm.model_executor.model_loader.utils import process_weights_after_loading

        from agents.llm.weights import iter_safetensors

        runner = self.model_runner
        model = runner.get_model() if hasattr(runner, "get_model") else runner.model
        model = model.unwrap() if hasattr(model, "unwrap") else model  # CUDA-graph wrappers
        count = 0

        def counted():
            nonlocal count
            for name, tensor in iter_safetensors(path):
                count += 1
                yield name, tensor

        model.load_weights(weights=counted())
        device = next(model.parameters()).device
        process_weights_after_loading(model, runner.model_config, device)
        return count
