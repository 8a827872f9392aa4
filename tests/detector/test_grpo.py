"""GRPO: advantages, the reward table against the protocol score, learning on an easy setting, save/load + hash."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.errors import SymphonyError
from marl_detector.detector import load_detector, save_detector
from marl_detector.features import N_FEATURES
from marl_detector.grpo import GRPOConfig, group_advantages, grpo_train, predict_proba, reward_table
from marl_detector.model import DetectorNet
from marl_detector.outcome import Label, reward


def test_reward_table_is_the_protocol_score_over_ten() -> None:
    labels = np.array([int(Label.NONE), int(Label.MANIPULATION), int(Label.DISCOVERY)])
    table = reward_table(labels)
    for i, lab in enumerate(labels):
        for a in (0, 1):
            assert table[i, a] == pytest.approx(reward(a, Label(int(lab))))


def test_group_advantages_are_zero_mean_unit_scale_and_zero_for_uniform_groups() -> None:
    r = torch.tensor([[1.0, -0.5, 1.0, -0.5], [0.1, 0.1, 0.1, 0.1]])
    a = group_advantages(r)
    assert torch.allclose(a.mean(dim=1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(a[0].std(unbiased=False), torch.tensor(1.0), atol=1e-4)
    assert torch.all(a[1] == 0)


def _easy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Manipulation iff feature 0 > 0; feature 1 separates news (discovery) from quiet among the rest."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y3 = np.where(X[:, 0] > 0, int(Label.MANIPULATION), np.where(X[:, 1] > 0, int(Label.DISCOVERY), int(Label.NONE)))
    return X, y3


def test_a_few_grpo_steps_improve_reward_on_an_easy_setting() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    X, y3 = _easy(2000, 0)
    model = DetectorNet(4, (16,))
    model.set_normalisation(torch.as_tensor(X))
    R = reward_table(y3)

    def greedy_reward() -> float:
        p = predict_proba(model, X)
        return float(np.where(p >= 0.5, R[:, 1], R[:, 0]).mean())

    before = greedy_reward()
    hist = grpo_train(model, X, y3, GRPOConfig(iterations=60, batch_episodes=256, group_size=8, lr=1e-2))
    after = greedy_reward()
    best = float(R.max(axis=1).mean())
    assert after > before + 0.1
    assert after > 0.9 * best
    assert hist[-1]["sampled_reward"] > hist[0]["sampled_reward"]
    Xt, y3t = _easy(500, 1)
    acc = ((predict_proba(model, Xt) >= 0.5) == (y3t == int(Label.MANIPULATION))).mean()
    assert acc > 0.9


def test_kl_penalty_keeps_the_policy_near_its_reference() -> None:
    torch.manual_seed(1)
    X, y3 = _easy(1000, 2)
    base = DetectorNet(4, (8,))
    base.set_normalisation(torch.as_tensor(X))
    flipped = np.where(y3 == int(Label.MANIPULATION), int(Label.NONE), int(Label.MANIPULATION))  # adversarial labels
    free, tied = [DetectorNet(4, (8,)) for _ in range(2)]
    for m in (free, tied):
        m.load_state_dict(base.state_dict())
    cfg = GRPOConfig(iterations=40, batch_episodes=256, lr=1e-2)
    grpo_train(free, X, flipped, cfg)
    grpo_train(tied, X, flipped, GRPOConfig(**{**cfg.__dict__, "kl_coef": 5.0}), ref=base)
    p0 = predict_proba(base, X)
    assert np.abs(predict_proba(tied, X) - p0).mean() < np.abs(predict_proba(free, X) - p0).mean()


def test_save_load_verifies_hash_and_features(tmp_path) -> None:
    torch.manual_seed(2)
    model = DetectorNet(N_FEATURES, (8,))
    digest = save_detector(model, tmp_path, {"note": "test"})
    det = load_detector(tmp_path)
    assert det.sha256 == digest and len(det.model_hash) == 32
    assert (tmp_path / "detector.sha256").read_text().strip() == digest
    x = np.random.default_rng(0).normal(size=(3, N_FEATURES)).astype(np.float32)
    np.testing.assert_allclose(det.predict_features(x), predict_proba(model, x), rtol=1e-6)
    raw = bytearray((tmp_path / "detector.pt").read_bytes())
    raw[-20] ^= 0xFF
    (tmp_path / "detector.pt").write_bytes(bytes(raw))
    with pytest.raises(SymphonyError, match="sha256"):
        load_detector(tmp_path)
    with pytest.raises(SymphonyError):
        load_detector(tmp_path / "missing")
