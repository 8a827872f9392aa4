"""A tiny random causal LM that every test in the project uses instead of a real model.

Why: tests must exercise the real code paths (tokenizer, chat template, batched generation, gradients for
Echo's GRPO) without downloading or running a real model. A 2-layer Qwen2 with hidden size 64 and a
byte-level BPE tokenizer trained on a small in-code corpus is a genuine `AutoModelForCausalLM`: it loads with
`from_pretrained`, generates (gibberish), and trains. It is deterministic for a given seed so tests can
compare outputs across processes, and it is built in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import SymphonyError

# Special tokens follow the ChatML convention Qwen2 and SmolLM2 use, so prompts look like the real model's.
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
PAD = "<|endoftext|>"
SPECIAL_TOKENS = (PAD, IM_START, IM_END)

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Small corpus covering the vocabulary our prompts use (math word problems, answers, tool tags), so the BPE
# merges produce sensible subwords and common prompts tokenise to a realistic number of tokens.
_CORPUS = [
    "You are a helpful assistant. Answer the question and finish with 'Answer: X'.",
    "What is 12 + 35? Let's think step by step. 12 + 35 = 47. Answer: 47",
    "Solve for x: 3x + 5 = 20. Subtract 5 from both sides: 3x = 15. Divide by 3: x = 5. \\boxed{5}",
    "The train travels 60 miles per hour for 2.5 hours, so it covers 150 miles. #### 150",
    "Which option is correct? (A) red (B) blue (C) green (D) yellow. The answer is (B).",
    "<python>print(sum(range(10)))</python> CALCULATE: 2 * (3 + 4) / 7",
    "Retrieve the document about graph algorithms, sorting, numbers, primes and probability.",
    "The agent declares strengths in arithmetic, logic puzzles, coding, retrieval and planning.",
    "Subtask: compute the total cost of 3 apples at 1.25 dollars each and 2 pears at 0.80 dollars.",
    "system user assistant tool observation result error output question answer reasoning",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14 -7 + - * / = ( ) [ ] { } < > , . ; : ! ? ' \" # $ % &",
    "the quick brown fox jumps over the lazy dog THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
]

DEFAULT_VOCAB_SIZE = 512


def build_tiny_tokenizer(vocab_size: int = DEFAULT_VOCAB_SIZE):
    """Train a byte-level BPE on the in-code corpus and wrap it as a PreTrainedTokenizerFast.

    Byte-level means any UTF-8 text round-trips (no unknown tokens), which the real models also guarantee.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token=IM_END,
        pad_token=PAD,
        bos_token=None,
        unk_token=None,
        additional_special_tokens=[IM_START],
        padding_side="left",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(
    dest: Path,
    *,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
) -> Path:
    """Write a tiny random Qwen2 causal LM (config, safetensors weights, tokenizer) to `dest` and return it.

    Deterministic for a given `seed` (same bytes in model.safetensors); about 0.5 MB with the defaults.
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, Qwen2Config

    if hidden_size % 16 != 0 or hidden_size <= 0:
        raise SymphonyError(f"tiny model hidden_size must be a positive multiple of 16, got {hidden_size}")
    if num_layers < 1:
        raise SymphonyError(f"tiny model needs at least one layer, got {num_layers}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)

    tokenizer = build_tiny_tokenizer(vocab_size)
    eos_id = tokenizer.convert_tokens_to_ids(IM_END)
    pad_id = tokenizer.convert_tokens_to_ids(PAD)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        # Wider than the usual 0.02 so greedy decoding of the random model is varied (not one repeated
        # token), which lets tests see distinct completions, EOS and stop strings.
        initializer_range=0.3,
        tie_word_embeddings=True,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        bos_token_id=None,
    )
    # Seed a private generator state: fork_rng keeps the caller's global RNG untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id)
    model.save_pretrained(dest, safe_serialization=True)
    tokenizer.save_pretrained(dest)
    (dest / "tiny_model.json").write_text(
        json.dumps({"seed": seed, "hidden_size": hidden_size, "num_layers": num_layers}, indent=2)
    )
    return dest
