"""Scenario (vii) of the adversarial benchmark runs on anvil and returns the interface bench_adversarial.py uses;
self-trading detectors win no positive score, coalition partners neither."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

KEYS = {"attacker_share", "attacker_profit_eth", "attacker_cost_eth", "attacker_gas", "honest_payment_eth",
        "honest_reputation", "attacker_reputation"}


@pytest.fixture(scope="module")
def bench():
    path = Path(__file__).resolve().parents[2] / "scripts" / "adversarial_detectors.py"
    spec = importlib.util.spec_from_file_location("adversarial_detectors", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("strategy", ["self", "coalition"])
def test_self_trading_detectors_earn_no_positive_score(anvil, tmp_path, bench, strategy):
    snapshot = anvil.snapshot()
    try:
        out = bench.run_self_trading_detectors(anvil, tmp_path / "deployment.json", 2, 1, strategy=strategy,
                                               honest=3, attackers=2)
    finally:
        anvil.revert(snapshot)
    assert KEYS <= set(out) and len(out["attacker_share"]) == 2
    assert out["attacker_share"] == [0.0, 0.0] and out["attacker_true_positives"] == 0
    assert out["attacker_voided"] == (4 if strategy == "self" else 2)
    assert out["attacker_reputation"] < 1.0 <= out["honest_reputation"]
    assert out["honest_false_negatives"] == 0, "a participant's pump taints the window instead"
    assert out["attacker_cost_eth"] > 0 and out["attacker_gas"] > 0
