"""GRPO maths against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from echo_sync.grpo import group_advantages, grpo_loss, pack


def test_advantages_are_group_zscores():
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.2, 0.2, 0.2, 0.2], [3.0, 1.0, 2.0, 2.0]])
    adv = group_advantages(rewards)
    assert torch.allclose(adv[0], torch.tensor([1.0, -1.0, -1.0, 1.0]), atol=1e-5)
    assert torch.equal(adv[1], torch.zeros(4))  # no signal in a group where every answer scored the same
    std = math.sqrt(0.5)  # population std of (3,1,2,2)
    assert torch.allclose(adv[2], torch.tensor([1.0, -1.0, 0.0, 0.0]) / (std + 1e-6), atol=1e-5)
    assert torch.allclose(group_advantages(rewards, normalize_std=False)[2], torch.tensor([1.0, -1.0, 0.0, 0.0]))


def test_advantages_reject_bad_shapes():
    with pytest.raises(ValueError):
        group_advantages(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError):
        group_advantages(torch.tensor([[1.0], [2.0]]))


def test_pack_masks_only_completion_targets():
    b = pack([[5, 6, 7], [8]], [[1, 2], [3, 4, 9]], pad_id=0)
    assert b.input_ids.tolist() == [[5, 6, 7, 1, 2], [8, 3, 4, 9, 0]]
    assert b.attention_mask.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]
    # targets are input_ids shifted left; the mask selects positions whose *target* is a completion token
    assert b.targets.tolist() == [[6, 7, 1, 2], [3, 4, 9, 0]]
    assert b.completion_mask.tolist() == [[0, 0, 1, 1], [1, 1, 1, 0]]


def test_on_policy_loss_is_minus_mean_advantage_and_gradient_is_policy_gradient():
    logp = torch.tensor([[-1.0, -2.0, -0.5], [-0.3, -0.7, -9.0]], requires_grad=True)
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    adv = torch.tensor([2.0, -1.0])
    parts = grpo_loss(logp, logp.detach(), adv, mask)
    # ratio == 1 everywhere: loss = -(2*2 + (-1)*3) / 5 tokens
    assert parts.loss.item() == pytest.approx(-(4 - 3) / 5)
    parts.loss.backward()
    expected = -(adv.unsqueeze(1) * mask) / 5  # d/dlogp of -rho*A at rho=1 is -A
    assert torch.allclose(logp.grad, expected)


def test_clipping_stops_the_gradient_outside_the_trust_region():
    old = torch.zeros(1, 2)
    logp = torch.tensor([[math.log(1.5), math.log(0.5)]], requires_grad=True)
    parts = grpo_loss(logp, old, torch.tensor([1.0]), torch.ones(1, 2), clip_eps=0.2)
    parts.loss.backward()
    # token 0: rho=1.5 > 1.2 with A>0 -> clipped, no gradient; token 1: rho=0.5 < 0.8 with A>0 -> min picks rho*A
    assert logp.grad[0, 0].item() == 0.0
    assert logp.grad[0, 1].item() == pytest.approx(-0.5 / 2)
    assert parts.clip_fraction == 1.0


def test_kl_penalty_is_zero_at_reference_and_positive_elsewhere():
    logp = torch.tensor([[-1.0, -2.0]])
    mask = torch.ones(1, 2)
    same = grpo_loss(logp, logp, torch.tensor([0.0]), mask, ref_logp=logp.clone(), kl_beta=0.5)
    assert same.kl == pytest.approx(0.0) and same.loss.item() == pytest.approx(0.0)
    moved = grpo_loss(logp, logp, torch.tensor([0.0]), mask, ref_logp=logp - 0.3, kl_beta=0.5)
    k3 = math.exp(-0.3) + 0.3 - 1
    assert moved.kl == pytest.approx(k3, rel=1e-5)
    assert moved.loss.item() == pytest.approx(0.5 * k3, rel=1e-5)


def test_sequence_aggregation_weights_sequences_equally():
    logp = torch.zeros(2, 4, requires_grad=True)
    mask = torch.tensor([[1.0, 0, 0, 0], [1.0, 1, 1, 1]])
    adv = torch.tensor([1.0, 1.0])
    tok = grpo_loss(logp, logp.detach(), adv, mask, aggregation="token")
    seq = grpo_loss(logp, logp.detach(), adv, mask, aggregation="sequence")
    assert tok.loss.item() == pytest.approx(-1.0) and seq.loss.item() == pytest.approx(-1.0)
    seq.loss.backward()
    assert logp.grad[0, 0].item() == pytest.approx(-0.5)  # the 1-token answer gets a whole sequence's weight
    assert logp.grad[1, 0].item() == pytest.approx(-0.125)


def test_importance_weight_corrects_stale_tokens_and_is_truncated():
    """w = min(pi_prox / pi_behaviour, C): by hand for a token the sampler found less likely than the trainer
    (w = e^0.5), one far less likely (e^1 > C = 2, truncated) and one it found more likely (e^-0.7)."""
    from echo_sync.grpo import importance_weights

    prox = torch.tensor([[-1.0, -1.0, -1.0]])
    behaviour = torch.tensor([[-1.5, -2.0, -0.3]])
    w = importance_weights(prox, behaviour, cap=2.0)
    assert torch.allclose(w, torch.tensor([[math.exp(0.5), 2.0, math.exp(-0.7)]]))
    logp = prox.clone().requires_grad_(True)
    parts = grpo_loss(logp, logp.detach(), torch.tensor([1.0]), torch.ones(1, 3), behaviour_logp=behaviour, is_cap=2.0)
    # on-policy ratio 1, so the loss is -mean(w * A) and d loss / d logp_t = -w_t * A / 3
    assert parts.loss.item() == pytest.approx(-(math.exp(0.5) + 2.0 + math.exp(-0.7)) / 3, rel=1e-6)
    parts.loss.backward()
    assert torch.allclose(logp.grad, -w / 3)
    assert parts.is_truncated_fraction == pytest.approx(1 / 3) and parts.is_weight_mean == pytest.approx(w.mean().item())
    same = grpo_loss(logp.detach(), logp.detach(), torch.tensor([1.0]), torch.ones(1, 3), behaviour_logp=prox)
    assert same.is_weight_mean == pytest.approx(1.0) and same.loss.item() == pytest.approx(-1.0)  # on-policy: w = 1
