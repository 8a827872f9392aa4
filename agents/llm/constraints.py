"""Enforcing a `Constraint` while decoding with transformers, through llguidance.

Why llguidance: a small Rust library (a 3 MB wheel, no GPU stack) that compiles JSON Schema, regular
expressions and Lark grammars against the model's own tokenizer and computes the set of allowed next tokens
in about 0.1 ms for SmolLM2's 49k-token vocabulary; vLLM's structured outputs can run the same engine
(the "guidance" backend), so a constraint means the same thing on CPU and GPU. xgrammar does the job as
well but pulls in triton (about 1 GB) as a hard dependency.

Two things are done by hand on purpose: the mask is applied by unpacking llguidance's bitmask with numpy,
because `llguidance.torch.apply_token_bitmask_inplace` is `torch.compile`d (tens of seconds to compile on
first use on a CPU); and the log-probabilities are computed by one function, `sampled_logprobs`, used both
while sampling and when a trainer recomputes them (`replay_allowed`), so both see the same distribution:
the model's logits with disallowed tokens removed, divided by the temperature.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Sequence

import numpy as np
import torch

from agents.llm.base import Constraint, ConstraintError


class ConstraintCompiler:
    """Compiles constraints for one tokenizer and hands out matchers (one per sequence being decoded)."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int, eos_ids: Sequence[int]) -> None:
        import llguidance
        import llguidance.hf

        self._llguidance = llguidance
        self.vocab_size = vocab_size
        try:
            self.tokenizer = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=vocab_size, eos_token=sorted(eos_ids))
        except Exception as exc:  # noqa: BLE001 - any failure here means: this tokenizer is not supported
            raise ConstraintError(f"structured generation does not support this model's tokenizer "
                                  f"({type(hf_tokenizer).__name__}): {exc}") from None
        self._grammar = lru_cache(maxsize=256)(self._compile)

    def _compile(self, constraint: Constraint) -> str:
        matcher_cls = self._llguidance.LLMatcher
        try:
            if constraint.kind == "json_schema":
                grammar = matcher_cls.grammar_from_json_schema(constraint.source)
            elif constraint.kind == "regex":
                grammar = matcher_cls.grammar_from_regex(constraint.source)
            elif constraint.kind == "lark":
                grammar = matcher_cls.grammar_from_lark(constraint.source)
            else:
                raise ConstraintError(f"constraint {constraint.name!r}: unknown kind {constraint.kind!r}")
        except ConstraintError:
            raise
        except Exception as exc:  # noqa: BLE001 - llguidance raises plain exceptions for bad input
            raise ConstraintError(f"constraint {constraint.name!r} ({constraint.kind}) does not compile: {exc}") from None
        problem = matcher_cls.validate_grammar(grammar, self.tokenizer)
        if problem:
            first = str(problem).strip().splitlines()[0]
            raise ConstraintError(f"constraint {constraint.name!r} ({constraint.kind}) does not compile: {first}")
        return grammar

    def matcher(self, constraint: Constraint) -> Any:
        """A fresh matcher at the start of the constrained language."""
        matcher = self._llguidance.LLMatcher(self.tokenizer, self._grammar(constraint))
        if matcher.is_error():
            raise ConstraintError(f"constraint {constraint.name!r}: {matcher.get_error()}")
        return matcher

    def allowed(self, matcher: Any) -> torch.Tensor:
        """Bool [vocab_size]: the tokens the matcher allows next."""
        bitmask = np.full((self.vocab_size + 31) // 32, -1, dtype=np.int32)
        matcher.unsafe_compute_mask_ptr(bitmask.ctypes.data, bitmask.nbytes)
        bits = np.unpackbits(bitmask.view(np.uint8), bitorder="little")[: self.vocab_size]
        return torch.from_numpy(bits.astype(bool))


def sampled_logprobs(logits: torch.Tensor, allowed: torch.Tensor | None, temperature: float) -> torch.Tensor:
    """Log-probabilities of the distribution a token is drawn from: disallowed tokens removed, then the
    temperature (greedy decoding counts as temperature 1). logits [..., V], allowed bool [..., V] or None."""
    scores = logits.float()
    if allowed is not None:
        scores = scores.masked_fill(~allowed[..., : scores.shape[-1]], float("-inf"))
    if temperature > 0:
        scores = scores / temperature
    return torch.log_softmax(scores, dim=-1)


def replay_allowed(compiler: ConstraintCompiler, constraint: Constraint, token_ids: Sequence[int]) -> torch.Tensor:
    """Bool [len(token_ids), V]: what the constraint allowed before each token of a completion sampled under it
    (for a trainer that must compute log-probs on the distribution that was sampled)."""
    matcher = compiler.matcher(constraint)
    rows = []
    for position, token in enumerate(token_ids):
        if matcher.is_stopped():
            raise ConstraintError(f"constraint {constraint.name!r}: token {position} follows a complete output")
        rows.append(compiler.allowed(matcher))
        if not matcher.consume_token(int(token)):
            raise ConstraintError(f"constraint {constraint.name!r}: token {position} ({token}) was not allowed there "
                                  "(the completion was not sampled under this constraint)")
    return torch.stack(rows) if rows else torch.zeros((0, compiler.vocab_size), dtype=torch.bool)


class GuidedLogits:
    """A transformers logits processor that removes every token the constraint forbids, row by row.

    Row r of the batch has its own matcher. On each call the token generated last for a row is fed to its
    matcher first (nothing on the first call); a row that already ended keeps producing padding, which is
    not fed. Must run before temperature and top-p (the backend passes those after it).
    """

    def __init__(self, compiler: ConstraintCompiler, matchers: list[Any], prompt_width: int, eos_ids: set[int]) -> None:
        self.compiler, self.matchers, self.width, self.eos_ids = compiler, matchers, prompt_width, eos_ids
        self.done = [False] * len(matchers)
        self.seconds = 0.0  # time spent in the constraint (what it costs per token, for benchmarks)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        try:
            return self._mask(input_ids, scores)
        finally:
            self.seconds += time.perf_counter() - start

    def _mask(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids.shape[1] - self.width
        allowed = torch.ones_like(scores, dtype=torch.bool)
        for row, matcher in enumerate(self.matchers):
            if generated > 0 and not self.done[row]:
                token = int(input_ids[row, -1])
                if token in self.eos_ids or matcher.is_stopped():
                    self.done[row] = True
                elif not matcher.consume_token(token):
                    raise ConstraintError(f"constraint violated at token {generated}: {matcher.get_error()}")
            if not self.done[row]:
                allowed[row, : self.compiler.vocab_size] = self.compiler.allowed(matcher)
                allowed[row, self.compiler.vocab_size :] = False
        return scores.masked_fill(~allowed, float("-inf"))

    def complete(self, row: int, generated: Sequence[int]) -> bool:
        """Whether row's completion (its tokens after the prompt) is a whole sentence of the language."""
        matcher = self.matchers[row]
        if not self.done[row] and generated:  # the last token was never seen by a call
            last = int(generated[-1])
            if last not in self.eos_ids and not matcher.is_stopped():
                matcher.consume_token(last)
        return bool(matcher.is_accepting() or matcher.is_stopped())


class LogprobRecorder:
    """The last logits processor: remembers each step's final distribution and, one call later (or at the
    end), the log-probability of the token that was drawn from it."""

    def __init__(self, prompt_width: int) -> None:
        self.width = prompt_width
        self.previous: torch.Tensor | None = None
        self.columns: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self.previous is not None:
            self.columns.append(self.previous.gather(1, input_ids[:, -1:]).squeeze(1))
        self.previous = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def logprobs(self, generated: torch.Tensor) -> list[list[float]]:
        """[rows][tokens] for the generated block [rows, N] (padding after a row's end is included)."""
        columns = list(self.columns)
        if self.previous is not None and generated.shape[1] > len(columns):
            columns.append(self.previous.gather(1, generated[:, len(columns) : len(columns) + 1]).squeeze(1))
        if not columns:
            return [[] for _ in range(generated.shape[0])]
        return torch.stack(columns, dim=1).tolist()
