"""Capability vectors: MiniLM embeddings -> seeded projection -> int8 bytes32, scored exactly like the ledger."""

from __future__ import annotations

import hashlib
import math
import random

import numpy as np
import pytest

from agents.capability import (
    DIMENSIONS,
    PROJECTION_SEED,
    WAD,
    CapabilityError,
    encode_vector,
    encode_vectors,
    match_score,
    norm,
    pack,
    projection_matrix,
    quantize,
    text_match_score,
    unpack,
)

MATH = "Strong at arithmetic, algebra and multi-step math word problems."
CODE = "Writes and debugs Python programs, algorithms and unit tests."
COOKING = "Knows recipes, baking and how to cook Italian pasta dishes."


def _random_vector(rng: random.Random) -> bytes:
    comps = [rng.randint(-127, 127) for _ in range(DIMENSIONS)]
    return pack(comps)


def test_projection_matrix_follows_the_documented_recipe() -> None:
    matrix = projection_matrix()
    assert matrix.shape == (384, DIMENSIONS) and matrix.dtype == np.float64
    assert not matrix.flags.writeable
    rebuilt = np.random.default_rng(PROJECTION_SEED).standard_normal((384, DIMENSIONS))
    assert np.array_equal(matrix, rebuilt)
    # Pinned so a numpy change in the Gaussian stream (or a seed edit) cannot silently change every vector.
    # The same values are published in docs/capability_encoding.md for implementers in other languages.
    assert hashlib.sha256(matrix.tobytes()).hexdigest()[:16] == "2c2c4254d833a6f1"
    assert (matrix[0, 0], matrix[0, 1], matrix[383, 31]) == (0.02206005048257817, 0.4869107220069134, 2.8291641327449546)
    assert abs(matrix.mean()) < 0.02 and abs(matrix.std() - 1) < 0.02


def test_quantize_scales_peak_to_127_and_rounds_half_away_from_zero() -> None:
    vec = [0.0] * DIMENSIONS
    vec[0], vec[1], vec[2], vec[3] = -2.0, 1.0, 0.5 * 2 / 127, -1.5 * 2 / 127
    q = quantize(vec)
    assert q[0] == -127 and q[1] == 64  # 63.5 rounds away from zero
    assert q[2] == 1 and q[3] == -2  # 0.5 -> 1, -1.5 -> -2
    assert min(q) >= -127 and max(q) <= 127
    with pytest.raises(CapabilityError):
        quantize([0.0] * DIMENSIONS)
    with pytest.raises(CapabilityError):
        quantize([1.0] * 31)


def test_pack_unpack_big_endian_twos_complement() -> None:
    comps = list(range(-16, 16))
    packed = pack(comps)
    assert len(packed) == 32 and packed[0] == 0xF0 and packed[16] == 0x00 and packed[31] == 0x0F
    assert unpack(packed) == comps
    assert unpack(pack([-127] * 32)) == [-127] * 32
    with pytest.raises(ValueError):
        pack([-128] + [0] * 31)
    with pytest.raises(ValueError):
        unpack(b"\x00" * 31)


def test_match_score_matches_float_cosine_and_edge_cases() -> None:
    rng = random.Random(7)
    for _ in range(200):
        a, b = _random_vector(rng), _random_vector(rng)
        ua, ub = np.array(unpack(a), dtype=float), np.array(unpack(b), dtype=float)
        cos = float(ua @ ub / (np.linalg.norm(ua) * np.linalg.norm(ub)))
        assert abs(match_score(a, b) / WAD - max(cos, 0.0)) < 1e-5
    v = _random_vector(rng)
    opposite = pack([-c for c in unpack(v)])
    assert match_score(v, v) == WAD  # clamped: integer square roots may push it just over 1e18
    assert match_score(v, opposite) == 0
    assert match_score(v, bytes(32)) == 0
    assert norm(pack([3, 4] + [0] * 30)) == 5 * 10**6
    with pytest.raises(CapabilityError):
        match_score(v, b"\x01" * 31)


def test_encoding_is_deterministic_and_valid() -> None:
    a, b = encode_vectors([MATH, MATH])
    assert a == b == encode_vector(MATH) and len(a) == 32
    comps = unpack(a)
    assert max(abs(c) for c in comps) == 127
    assert -128 not in comps


def test_related_texts_score_higher_than_unrelated() -> None:
    req_math = "Compute the total cost: 3 apples at 1.25 dollars and 2 pears at 0.80 dollars."
    req_code = "Implement a Python function that sorts a list and write a test for it."
    caps = dict(zip(("math", "code", "cooking"), encode_vectors([MATH, CODE, COOKING])))
    reqs = dict(zip(("math", "code"), encode_vectors([req_math, req_code])))
    for want, req in reqs.items():
        scores = {name: match_score(cap, req) for name, cap in caps.items()}
        assert max(scores, key=scores.get) == want, scores
        assert scores[want] > scores["cooking"] + WAD // 20, scores
    assert text_match_score(MATH, req_math) == match_score(caps["math"], reqs["math"])


def test_projection_roughly_preserves_embedding_cosine() -> None:
    from agents.capability import sentence_encoder

    texts = [MATH, CODE, COOKING, "Translating French poetry.", "Planning multi-city travel itineraries."]
    emb = sentence_encoder().encode(texts, normalize_embeddings=True)
    vecs = encode_vectors(texts)
    errors = [
        abs(float(emb[i] @ emb[j]) - match_score(vecs[i], vecs[j]) / WAD)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if float(emb[i] @ emb[j]) > 0
    ]
    # 32 random dimensions are a coarse sketch: errors of ~1/sqrt(32) are expected, not more.
    assert max(errors) < 3 / math.sqrt(DIMENSIONS)


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_bad_text_is_a_clear_error(bad) -> None:
    with pytest.raises(CapabilityError):
        encode_vector(bad)  # type: ignore[arg-type]
    with pytest.raises(CapabilityError):
        encode_vectors("a single string")


def test_python_score_equals_on_chain_ledger_score(chain) -> None:
    """Register real encoded vectors with CapabilityLedger on anvil and compare matchScore bit for bit."""
    contracts = chain.contracts(1)
    ledger = contracts.ledger
    rng = random.Random(3)
    capabilities = encode_vectors([MATH, CODE]) + [_random_vector(rng)]
    requirements = encode_vectors([COOKING, "Add 17 and 25.", "Fix a bug in this Python loop."])
    requirements += [_random_vector(rng) for _ in range(12)]
    requirements += [capabilities[0], pack([-c for c in unpack(capabilities[0])])]
    me = ledger.client.address
    for i, cap in enumerate(capabilities):
        if i == 0:
            ledger.register("cap-test", "tiny", "http://localhost:1", ["math"], cap, 1, ledger.min_stake())
        else:
            ledger.update("tiny", "http://localhost:1", ["math"], cap, 1)
            chain.node.increase_time(ledger.profile_delay())  # a new vector counts only after the profile delay
        assert ledger.get_agent(me).norm == norm(cap)
        for req in requirements:
            assert ledger.match_score(me, req) == match_score(cap, req)


def test_encoding_never_draws_a_progress_bar_into_logs(capfd):
    """Workers log at INFO to files; sentence-transformers draws a bar at INFO unless told not to."""
    import logging

    from agents.capability import encode_centroid, encode_vectors, sentence_encoder

    sentence_encoder()  # loading draws its own bar once per process; encoding is what workers do all the time
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    try:
        capfd.readouterr()
        encode_vectors(["adding numbers", "ordering objects"])
        encode_centroid(["What is 2 + 3?", "Calculate 4 * 5."])
        out, err = capfd.readouterr()
    finally:
        root.setLevel(level)
    assert "Batches" not in out + err
