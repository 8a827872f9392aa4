"""LLMBackend on vLLM (optional `[vllm]` extra, GPU): the fast sampler for Echo and large agent fleets.

Why lazy: vLLM is a heavy, GPU-only dependency; nothing imports it until a VLLMBackend is constructed, so the
rest of the project (and its tests) runs without it. Weight reloads go through a worker extension
(`agents.llm.vllm_worker`) and `collective_rpc`, then the prefix cache is reset, because cached KV blocks
computed with the old weights would otherwise leak into new samples.

Constraints go to vLLM's own structured outputs with the "guidance" backend, the same engine (llguidance) the
transformers backend uses, so a constraint means the same on CPU and GPU. Log-probs are asked for as
"processed" where vLLM offers it (after the mask and temperature), the distribution the token was drawn from.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

from agents.llm.base import Completion, Constraint, Conversation, GenerationResult, LLMBackend, SamplingParams
from agents.llm.weights import safetensors_files
from core.errors import SymphonyError

WORKER_EXTENSION = "agents.llm.vllm_worker.WeightReloadExtension"


def import_vllm() -> Any:
    """Import vllm or explain how to get it."""
    try:
        import vllm
    except ImportError as exc:
        raise SymphonyError(
            "the vllm backend needs the optional extra: pip install 'symphony[vllm]' (CUDA GPU required)"
        ) from exc
    return vllm


class VLLMBackend(LLMBackend):
    """A model served by an in-process `vllm.LLM` engine."""

    def __init__(
        self,
        model: str | Path,
        *,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.85,
        max_model_len: int | None = None,
        seed: int = 0,
        model_id: str | None = None,
        **engine_kwargs: Any,
    ) -> None:
        vllm = import_vllm()
        source = str(model)
        self.model_id = model_id or (Path(source).name if Path(source).is_dir() else source)
        self.policy_version: int | None = None
        self._vllm = vllm
        self._lora: Any = None  # the vllm LoRARequest served with every generate, once load_adapter was called
        engine_kwargs.setdefault("structured_outputs_config", {"backend": "guidance"})
        engine_kwargs.setdefault("logprobs_mode", "processed_logprobs")
        try:
            self.llm = vllm.LLM(
                model=source,
                dtype=dtype,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                seed=seed,
                worker_extension_cls=WORKER_EXTENSION,
                **engine_kwargs,
            )
        except (OSError, ValueError) as exc:
            raise SymphonyError(f"vLLM cannot load model {source!r}: {exc}") from exc

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> GenerationResult:
        if params.n < 1 or params.max_new_tokens < 1:
            raise SymphonyError("SamplingParams.n and max_new_tokens must be >= 1")
        greedy = params.temperature == 0
        # Greedy samples are identical, so ask for one and repeat it (vLLM may refuse n > 1 when greedy).
        sampling = self._vllm.SamplingParams(
            n=1 if greedy else params.n,
            temperature=params.temperature,
            top_p=1.0 if greedy else params.top_p,
            max_tokens=params.max_new_tokens,
            seed=params.seed,
            stop=list(params.stop) or None,
            logprobs=0 if params.logprobs else None,
            **self._structured(params.constraint),
        )
        start = time.perf_counter()
        outputs = self.llm.chat(
            [[dict(m) for m in conv] for conv in conversations],
            sampling_params=sampling,
            use_tqdm=False,
            add_generation_prompt=True,
            **({"lora_request": self._lora} if self._lora is not None else {}),
        )
        groups: list[list[Completion]] = []
        for out in outputs:
            prompt_tokens = len(out.prompt_token_ids or ())
            group = [
                Completion(
                    text=o.text,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=len(o.token_ids),
                    token_ids=tuple(o.token_ids),
                    finish_reason="length" if o.finish_reason == "length" else "stop",
                    logprobs=tuple(step[t].logprob for step, t in zip(o.logprobs, o.token_ids)) if o.logprobs else (),
                )
                for o in out.outputs
            ]
            groups.append(group * params.n if greedy else group)
        return GenerationResult(
            completions=groups,
            seconds=time.perf_counter() - start,
            model_id=self.model_id,
            policy_version=self.policy_version,
            extra={"backend": "vllm"},
        )

    def _structured(self, constraint: Constraint | None) -> dict[str, Any]:
        """The SamplingParams keyword that carries a constraint to vLLM's structured outputs."""
        if constraint is None:
            return {}
        key = {"json_schema": "json", "regex": "regex", "lark": "grammar"}[constraint.kind]
        value: Any = json.loads(constraint.source) if constraint.kind == "json_schema" else constraint.source
        from vllm.sampling_params import StructuredOutputsParams

        return {"structured_outputs": StructuredOutputsParams(**{key: value})}

    def load_weights(self, path: Path, version: int | None = None) -> None:
        safetensors_files(Path(path))  # fail here, with a clear message, before touching the workers
        self.llm.collective_rpc("symphony_load_weights", args=(str(Path(path).resolve()),))
        self.llm.reset_prefix_cache()
        self.policy_version = version

    def load_adapter(self, path: Path, version: int | None = None) -> None:
        """Serve the peft LoRA adapter in folder `path` from the next generate on (vLLM's multi-LoRA: the base
        weights stay, each request names its adapter). The engine must have been built with enable_lora=True
        (`VLLMBackend(..., enable_lora=True, max_lora_rank=R)`). A new version gets a new LoRA id, so vLLM loads
        it instead of serving a cached older one; the previous id is removed to free its slot."""
        folder = Path(path)
        if not (folder / "adapter_config.json").is_file() or not (folder / "adapter_model.safetensors").is_file():
            raise SymphonyError(f"{folder} is not a peft adapter folder (adapter_config.json, adapter_model.safetensors)")
        from vllm.lora.request import LoRARequest

        previous = self._lora
        lora_id = (previous.lora_int_id + 1) if previous is not None else 1
        self._lora = LoRARequest(f"policy-v{version if version is not None else lora_id}", lora_id, str(folder.resolve()))
        if previous is not None:
            try:
                self.llm.llm_engine.remove_lora(previous.lora_int_id)
            except Exception:  # noqa: BLE001 - an engine that never loaded it has nothing to free
                pass
        self.llm.reset_prefix_cache()
        self.policy_version = version

    def close(self) -> None:
        import gc

        self.llm = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover - torch is a core dependency
            pass
