"""GRPO: the reward table against the protocol score, the loss is echo_sync's on one-token decisions, learning on an
easy setting, the KL penalty, save/load + hash."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from core.errors import SymphonyError
from marl_detector.detector import load_detector, save_detector
from marl_detector.features import N_FEATURES
from echo_sync.grpo import grpo_loss
from echo_sync.settings import GRPOSettings
from marl_detector.grpo import (
    DetectorGRPOSettings,
    decision_logprobs,
    decision_loss,
    grpo_train,
    predict_proba,
    reward_table,
)
from marl_detector.model import DetectorNet
from marl_detector.outcome import Label, reward


def test_reward_table_is_the_protocol_score_over_ten() -> None:
    labels = np.array([int(Label.NONE), int(Label.MANIPULATION), int(Label.DISCOVERY)])
    table = reward_table(labels)
    for i, lab in enumerate(labels):
        for a in (0, 1):
            assert table[i, a] == pytest.approx(reward(a, Label(int(lab))))


def _one_episode() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """P(flag) = 0.75 now (logit ln 3), 0.5 under the old policy; decisions flag / pass with advantages +1 / -1."""
    logit = torch.tensor([math.log(3.0)], requires_grad=True)
    return logit, torch.tensor([[1.0, 0.0]]), torch.log(torch.tensor([[0.5, 0.5]])), torch.tensor([[1.0, -1.0]])


def test_decision_loss_is_echo_grpo_loss_on_one_token_sequences() -> None:
    logit, actions, old, adv = _one_episode()
    settings = DetectorGRPOSettings(clip_eps=0.2, kl_beta=0.5, logit_l2=0.0, entropy_coef=0.0)
    parts = decision_loss(logit, actions, old, adv, settings, ref_logit=torch.zeros(1))
    # ratios 0.75/0.5 = 1.5 and 0.25/0.5 = 0.5: min(1.5*1, 1.2*1) = 1.2 and min(0.5*-1, 0.8*-1) = -0.8
    assert parts.pg_loss == pytest.approx(-(1.2 - 0.8) / 2)
    assert parts.clip_fraction == 1.0
    # k3 to the reference P(flag) = 0.5: r/p - ln(r/p) - 1 with r/p = 2/3 (flag) and 2 (pass)
    k3 = ((2 / 3 - math.log(2 / 3) - 1) + (2 - math.log(2) - 1)) / 2
    assert parts.kl == pytest.approx(k3, rel=1e-5)
    assert parts.loss.item() == pytest.approx(-0.2 + 0.5 * k3, rel=1e-5)
    (grad,) = torch.autograd.grad(parts.loss, logit)
    # the same tensors through echo_sync as two one-token sequences: the very same loss and gradient
    logit2, *_ = _one_episode()
    echo = grpo_loss(decision_logprobs(logit2, actions).reshape(2, 1), old.reshape(2, 1), adv.reshape(2), torch.ones(2, 1),
                     clip_eps=0.2, ref_logp=torch.log(torch.tensor([[0.5], [0.5]])), kl_beta=0.5)
    (grad_echo,) = torch.autograd.grad(echo.loss, logit2)
    assert parts.loss.item() == pytest.approx(echo.loss.item(), abs=1e-7)
    assert grad.item() == pytest.approx(grad_echo.item(), abs=1e-7)


def test_decision_loss_adds_logit_l2_and_subtracts_the_entropy_bonus() -> None:
    logit, actions, old, adv = _one_episode()
    plain = decision_loss(logit, actions, old, adv, DetectorGRPOSettings(logit_l2=0.0, entropy_coef=0.0))
    reg = decision_loss(logit, actions, old, adv, DetectorGRPOSettings(logit_l2=0.1, entropy_coef=0.2))
    entropy = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))  # of Bernoulli(0.75), in nats
    assert plain.loss.item() == pytest.approx(-0.2, rel=1e-5)
    assert reg.loss.item() == pytest.approx(-0.2 + 0.1 * math.log(3.0) ** 2 - 0.2 * entropy, rel=1e-5)


def test_settings_extend_echo_grpo_settings_and_refuse_unknown_names() -> None:
    s = DetectorGRPOSettings()
    assert isinstance(s, GRPOSettings) and (s.group_size, s.learning_rate, s.kl_beta) == (16, 3e-3, 0.0)
    for retired in ({"lr": 1e-2}, {"kl_coef": 0.05}, {"batch_episodes": 256}):
        with pytest.raises(ValidationError):
            DetectorGRPOSettings(**retired)


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
    hist = grpo_train(model, X, y3, DetectorGRPOSettings(iterations=60, groups_per_step=256, group_size=8, learning_rate=1e-2))
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
    cfg = DetectorGRPOSettings(iterations=40, groups_per_step=256, learning_rate=1e-2)
    grpo_train(free, X, flipped, cfg)
    grpo_train(tied, X, flipped, cfg.model_copy(update={"kl_beta": 5.0}), ref=base)
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
