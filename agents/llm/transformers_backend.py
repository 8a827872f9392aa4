"""LLMBackend on Hugging Face transformers: the default backend (CPU or one GPU), used by every test.

Why this design: prompts are batched with left padding (decoder-only models continue from the right edge),
each prompt is repeated `n` times so a GRPO group is one batched call, and the completion's token ids are
returned exactly as sampled (Echo needs them). Weights can be swapped in place from a safetensors checkpoint
so Echo's samplers follow the trainer without reloading the model or tokenizer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from agents.llm.base import (
    Completion,
    Conversation,
    GenerationResult,
    LLMBackend,
    SamplingParams,
)
from agents.llm.constraints import ConstraintCompiler, GuidedLogits, LogprobRecorder
from agents.llm.devices import resolve_device, resolve_dtype
from agents.llm.stops import first_stop, tokens_through_stop
from agents.llm.weights import iter_safetensors
from core.errors import SymphonyError

if TYPE_CHECKING:
    import torch


class TransformersBackend(LLMBackend):
    """A causal LM loaded with transformers from a local folder (or a hub id the user has cached)."""

    def __init__(
        self,
        model: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        model_id: str | None = None,
        cpu_threads: int | None = None,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        if max_batch_size < 1:
            raise SymphonyError(f"max_batch_size must be >= 1, got {max_batch_size}")
        source = str(model)
        if _looks_like_path(source) and not Path(source).is_dir():
            raise SymphonyError(f"model folder not found (or not a folder): {source}")
        if cpu_threads is not None:
            if cpu_threads < 1:
                raise SymphonyError(f"cpu_threads must be >= 1, got {cpu_threads}")
            # Process-wide: on a shared or oversubscribed CPU fewer threads is often much faster.
            torch.set_num_threads(cpu_threads)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.max_batch_size = max_batch_size
        self.model_id = model_id or (Path(source).name if Path(source).is_dir() else source)
        self.policy_version: int | None = None
        self.adapter_path: Path | None = None  # the LoRA adapter served on top of the base model, if any
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source, padding_side="left")
            self.model = AutoModelForCausalLM.from_pretrained(source, dtype=self.dtype)
        except (OSError, ValueError) as exc:
            raise SymphonyError(f"cannot load model {source!r}: {exc}") from exc
        self.model.to(self.device)
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self._eos_ids = _eos_ids(self.model, self.tokenizer)
        # SamplingParams is the only source of sampling settings: drop the model's recommended defaults
        # (e.g. do_sample/temperature in generation_config.json), which generate() would otherwise merge in.
        self.model.generation_config = GenerationConfig(
            eos_token_id=sorted(self._eos_ids),
            pad_token_id=self.tokenizer.pad_token_id,
            bos_token_id=getattr(self.model.generation_config, "bos_token_id", None),
        )
        self._torch = torch
        self._compiler: ConstraintCompiler | None = None

    # ------------------------------------------------------------------ generation
    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> GenerationResult:
        _check_params(params)
        start = time.perf_counter()
        prompts = [self._encode_prompt(conv) for conv in conversations]
        # Greedy samples are identical: decode each prompt once and repeat the completion n times.
        per_prompt = 1 if params.temperature == 0 else params.n
        # Row r of the flattened batch is sample (r % per_prompt) of prompt (r // per_prompt).
        rows = [ids for ids in prompts for _ in range(per_prompt)]
        # Sorting by length keeps padding (wasted compute) small when prompts differ a lot in length.
        order = sorted(range(len(rows)), key=lambda r: len(rows[r]))
        outputs: list[Completion | None] = [None] * len(rows)
        self._constraint_seconds = 0.0
        with self._torch.random.fork_rng(devices=self._rng_devices(), enabled=params.seed is not None):
            if params.seed is not None:
                self._torch.manual_seed(params.seed)
            for lo in range(0, len(order), self.max_batch_size):
                chunk = order[lo : lo + self.max_batch_size]
                for r, completion in zip(chunk, self._generate_rows([rows[r] for r in chunk], params)):
                    outputs[r] = completion
        grouped = [
            [c for c in outputs[i * per_prompt : (i + 1) * per_prompt] if c is not None] * (params.n // per_prompt)
            for i in range(len(prompts))
        ]
        return GenerationResult(
            completions=grouped,
            seconds=time.perf_counter() - start,
            model_id=self.model_id,
            policy_version=self.policy_version,
            extra={"device": str(self.device), "dtype": str(self.dtype).removeprefix("torch."),
                   "constraint_seconds": self._constraint_seconds},
        )

    def _encode_prompt(self, conversation: Conversation) -> list[int]:
        """This backend's prompt ids for `conversation`: `encode_chat` with its tokenizer."""
        return encode_chat(self.tokenizer, conversation)

    def _generate_rows(self, rows: list[list[int]], params: SamplingParams) -> list[Completion]:
        torch = self._torch
        from transformers import GenerationConfig, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

        width = max(len(r) for r in rows)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows], device=self.device)
        attention = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=self.device)
        # The processors run in this order: constraint mask, temperature, top-p, then the log-prob recorder, so
        # recorded log-probs are those of the distribution each token was drawn from. generate() is told
        # temperature 1 / top-p 1 so that it adds no warpers of its own (it would put them before the mask).
        processors: list = []
        guided = None
        if params.constraint is not None:
            compiler = self.constraint_compiler()
            guided = GuidedLogits(compiler, [compiler.matcher(params.constraint) for _ in rows], width, self._eos_ids)
            processors.append(guided)
        sampling: dict[str, Any] = {"do_sample": False}
        if params.temperature > 0:
            sampling = {"do_sample": True, "temperature": 1.0, "top_p": 1.0, "top_k": 0}
            if params.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(params.temperature))
            if params.top_p < 1.0:
                processors.append(TopPLogitsWarper(params.top_p))
        recorder = LogprobRecorder(width) if params.logprobs else None
        if recorder is not None:
            processors.append(recorder)
        config = GenerationConfig(
            max_new_tokens=params.max_new_tokens,
            eos_token_id=sorted(self._eos_ids),
            pad_token_id=pad,
            stop_strings=list(params.stop) or None,
            **sampling,
        )
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=config,
                logits_processor=LogitsProcessorList(processors) if processors else None,
                tokenizer=self.tokenizer if params.stop else None,
            )
        block = out[:, width:]
        new = block.tolist()
        if guided is not None:
            self._constraint_seconds += guided.seconds
        logprobs = recorder.logprobs(block) if recorder is not None else [[] for _ in rows]
        return [
            self._finish(prompt, generated, params, logprobs[i],
                         complete=guided.complete(i, _until_eos(generated, self._eos_ids)) if guided else None)
            for i, (prompt, generated) in enumerate(zip(rows, new))
        ]

    def _finish(self, prompt: list[int], generated: list[int], params: SamplingParams, logprobs: list[float],
                complete: bool | None = None) -> Completion:
        """Cut padding after EOS / stop string and build the Completion. `complete` (constrained rows): whether
        the output is a whole sentence of the constrained language; if not, the finish reason is "length"."""
        reason = "length"
        for k, tok in enumerate(generated):
            if tok in self._eos_ids:
                generated, reason = generated[: k + 1], "stop"
                break
        text = self._decode(generated)
        if params.stop:
            cut = tokens_through_stop(generated, params.stop, self._decode)
            if cut is not None:
                generated, reason = generated[:cut], "stop"
                text = self._decode(generated)
                text = text[: first_stop(text, params.stop)]
        if reason == "length" and len(generated) < params.max_new_tokens:
            # Finished early with no EOS or stop found: only padding follows (pad is never sampled here).
            while generated and generated[-1] == self.tokenizer.pad_token_id:
                generated = generated[:-1]
            text = self._decode(generated)
        if complete is not None:
            reason = "stop" if complete else "length"
        return Completion(
            text=text,
            prompt_tokens=len(prompt),
            completion_tokens=len(generated),
            token_ids=tuple(generated),
            finish_reason=reason,
            logprobs=tuple(logprobs[: len(generated)]),
        )

    def constraint_compiler(self) -> ConstraintCompiler:
        """The llguidance compiler for this model's tokenizer (built once, on first use: about half a second)."""
        if self._compiler is None:
            vocab = int(self.model.get_output_embeddings().weight.shape[0])
            self._compiler = ConstraintCompiler(self.tokenizer, vocab, self._eos_ids)
        return self._compiler

    def _decode(self, ids: Sequence[int]) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=True)

    def _rng_devices(self) -> list[int]:
        return [self.device.index or 0] if self.device.type == "cuda" else []

    # ------------------------------------------------------------------ weights
    def load_weights(self, path: Path, version: int | None = None) -> None:
        """Copy every tensor of a safetensors file/folder into the live parameters (same names and shapes).

        Every parameter must be covered (a tied lm_head may be omitted, as save_pretrained does), so a
        checkpoint from a different architecture fails loudly instead of half-loading.
        """
        self.load_state_dict(iter_safetensors(Path(path)), version=version)

    def load_state_dict(self, tensors: Any, version: int | None = None) -> None:
        """Same as load_weights from an iterable of (name, tensor) or a mapping (in-process weight sync)."""
        torch = self._torch
        items = tensors.items() if hasattr(tensors, "items") else tensors
        by_name = dict(self.model.named_parameters(remove_duplicate=False))
        by_name.update(dict(self.model.named_buffers(remove_duplicate=False)))
        required = {id(p) for p in self.model.parameters()}
        covered: set[int] = set()
        with torch.no_grad():
            for name, tensor in items:
                target = by_name.get(name)
                if target is None:
                    raise SymphonyError(f"weights contain {name!r}, which this model ({self.model_id}) lacks")
                if tuple(target.shape) != tuple(tensor.shape):
                    raise SymphonyError(
                        f"weights {name!r} have shape {tuple(tensor.shape)}, model expects {tuple(target.shape)}"
                    )
                target.copy_(tensor.to(device=target.device, dtype=target.dtype))
                covered.add(id(target))
        missing = [n for n, p in self.model.named_parameters() if id(p) in required - covered]
        if missing:
            raise SymphonyError(f"weights are missing {len(missing)} parameter(s), e.g. {missing[:3]}")
        self.policy_version = version

    def load_adapter(self, path: Path, version: int | None = None) -> None:
        """Serve the base model plus the peft LoRA adapter in folder `path` (adapter_config.json and
        adapter_model.safetensors), replacing the adapter served before, in place.

        Why in place: the first adapter injects LoRA layers once; every later one only copies its tensors into
        them (milliseconds for a few MB), so Echo's samplers hot-swap policy versions without reloading the
        model. Everything is checked before anything is touched (a module the adapter names that this model
        lacks, a shape or rank that differs, a tensor missing): a bad adapter raises SymphonyError and the
        adapter served before (or the bare base model) stays in place.
        """
        import json

        from safetensors.torch import load_file

        folder = Path(path)
        try:
            config = json.loads((folder / "adapter_config.json").read_text())
            tensors = load_file(str(folder / "adapter_model.safetensors"))
            rank, alpha = int(config["r"]), float(config["lora_alpha"])
            targets = sorted(config["target_modules"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SymphonyError(f"cannot read LoRA adapter {folder}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - safetensors' own error type for corrupt files
            raise SymphonyError(f"cannot read LoRA adapter {folder}: {exc}") from None
        plan = self._adapter_plan(tensors, rank, targets)
        torch = self._torch
        if not hasattr(self.model, "peft_config"):
            from peft import LoraConfig, get_peft_model

            lora = LoraConfig(r=rank, lora_alpha=alpha, target_modules=targets, lora_dropout=0.0, bias="none")
            self.model = get_peft_model(self.model, lora)
            self.model.eval()
        else:
            served = self.model.peft_config["default"]
            if (int(served.r), float(served.lora_alpha), sorted(served.target_modules)) != (rank, alpha, targets):
                raise SymphonyError(f"adapter {folder} has rank {rank}/alpha {alpha:g} on {targets}; this backend "
                                    f"serves rank {served.r}/alpha {served.lora_alpha:g} on {sorted(served.target_modules)}")
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for file_key, param_name in plan.items():
                params[param_name].copy_(tensors[file_key].to(device=params[param_name].device, dtype=params[param_name].dtype))
        self.policy_version = version
        self.adapter_path = folder

    def _adapter_plan(self, tensors: dict, rank: int, targets: list[str]) -> dict[str, str]:
        """file key -> parameter name of the (wrapped) model, after checking every name and shape."""
        base = self.model.get_base_model() if hasattr(self.model, "peft_config") else self.model
        expected: dict[str, tuple[int, ...]] = {}
        for name, module in base.named_modules():
            if name.rsplit(".", 1)[-1] in targets and isinstance(module, self._torch.nn.Linear):
                expected[f"base_model.model.{name}.lora_A.weight"] = (rank, module.in_features)
                expected[f"base_model.model.{name}.lora_B.weight"] = (module.out_features, rank)
            elif name.rsplit(".", 1)[-1] in targets and hasattr(module, "base_layer"):  # already wrapped by peft
                inner = module.base_layer
                expected[f"base_model.model.{name}.lora_A.weight"] = (rank, inner.in_features)
                expected[f"base_model.model.{name}.lora_B.weight"] = (inner.out_features, rank)
        if not expected:
            raise SymphonyError(f"this model ({self.model_id}) has none of the adapter's target modules {targets}")
        unknown = sorted(set(tensors) - set(expected))
        missing = sorted(set(expected) - set(tensors))
        if unknown or missing:
            raise SymphonyError(f"adapter does not fit {self.model_id}: {len(unknown)} unknown tensor(s) "
                                f"{unknown[:2]}, {len(missing)} missing {missing[:2]}")
        for key, shape in expected.items():
            if tuple(tensors[key].shape) != shape:
                raise SymphonyError(f"adapter tensor {key} has shape {tuple(tensors[key].shape)}, model expects {shape}")
        return {key: key.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight")
                for key in expected}

    def close(self) -> None:
        self.model = None  # type: ignore[assignment]
        if self.device.type == "cuda":
            self._torch.cuda.empty_cache()


def encode_chat(tokenizer: Any, conversation: Conversation) -> list[int]:
    """Token ids of a chat prompt that ends where the assistant speaks.

    Why a module-level function: the sampler (this backend) and Echo's trainer (echo_sync/trainer.py) must
    build byte-identical prompts, or the trainer computes log-probs of the completion under another context.
    """
    messages = [dict(m) for m in conversation]
    if not messages or any("role" not in m or "content" not in m for m in messages):
        raise SymphonyError("each conversation needs at least one message with 'role' and 'content'")
    if tokenizer.chat_template:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:  # base models without a template: a plain transcript that ends where the assistant speaks
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
    # The template already contains any BOS/special tokens the model expects.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _looks_like_path(source: str) -> bool:
    """Hub ids look like 'org/name'; anything absolute, relative-dotted or with more slashes is a path."""
    return source.startswith((".", "/", "~")) or source.count("/") > 1 or Path(source).exists()


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    configured = getattr(model.generation_config, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    if not ids:
        raise SymphonyError("model has no EOS token configured; cannot tell where completions end")
    return ids


def _check_params(params: SamplingParams) -> None:
    if params.n < 1:
        raise SymphonyError(f"SamplingParams.n must be >= 1, got {params.n}")
    if params.max_new_tokens < 1:
        raise SymphonyError(f"SamplingParams.max_new_tokens must be >= 1, got {params.max_new_tokens}")
    if params.temperature < 0:
        raise SymphonyError(f"SamplingParams.temperature must be >= 0, got {params.temperature}")
    if not 0 < params.top_p <= 1:
        raise SymphonyError(f"SamplingParams.top_p must be in (0, 1], got {params.top_p}")


def _until_eos(generated: list[int], eos_ids: set[int]) -> list[int]:
    """The tokens of a row up to and including its first EOS (the rest is padding)."""
    for k, tok in enumerate(generated):
        if tok in eos_ids:
            return generated[: k + 1]
    return generated
