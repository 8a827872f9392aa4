"""The shipped detector (detectors/hideshill-grpo): it is the default, it loads under the hash its manifest names,
and a model file whose hash differs from its manifest is refused in one line, exit 2, before anything is sent."""

from __future__ import annotations

import json
import shutil

import pytest

from core.errors import SymphonyError
from core.hashing import sha256_file
from marl_detector.detector import MANIFEST, WEIGHTS, load_detector
from marl_detector.live import TrainedDetector, load_live_detector
from marl_detector.onchain.evaluation import EvaluationLogClient
from marl_detector.onchain.settings import SHIPPED_DETECTOR, LiveDetectorSettings, default_detector
from symphony.cli.main import main
from tests.detector.campaign import market_with_open_window

KEY_ENV = "HS_SHIPPED_KEY"


def test_the_shipped_detector_is_the_default_and_commits_under_its_manifest_hash() -> None:
    manifest = json.loads((SHIPPED_DETECTOR / MANIFEST).read_text())
    assert default_detector() == SHIPPED_DETECTOR and LiveDetectorSettings().detector_path == SHIPPED_DETECTOR
    assert sha256_file(SHIPPED_DETECTOR / WEIGHTS) == manifest["sha256"]
    assert (SHIPPED_DETECTOR / WEIGHTS).stat().st_size < 5_000_000
    live = load_live_detector(default_detector())
    assert isinstance(live, TrainedDetector) and live.model_hash.hex() == manifest["sha256"]
    assert manifest["command"] and manifest["dataset_manifest_sha256"] and manifest["benchmark"]


@pytest.fixture
def tampered(tmp_path):
    """A copy of the shipped detector whose manifest names another hash than its weights have."""
    d = tmp_path / "tampered"
    shutil.copytree(SHIPPED_DETECTOR, d)
    manifest = json.loads((d / MANIFEST).read_text())
    manifest["sha256"] = "00" * 32
    (d / MANIFEST).write_text(json.dumps(manifest))
    return d


def test_a_manifest_hash_mismatch_is_refused_on_load(tampered) -> None:
    with pytest.raises(SymphonyError, match=f"does not match {MANIFEST}"):
        load_detector(tampered)


@pytest.mark.parametrize("command", [["detect", "run", "--manifest", "{tmp}/none.json"], ["detect", "demo", "--out", "{tmp}/demo"]])
def test_cli_refuses_a_mismatched_model_in_one_line_before_any_chain(command, tampered, tmp_path, capsys) -> None:
    """Loading comes first: `detect run` never connects and `detect demo` never starts its anvil with a bad model."""
    capsys.readouterr()
    assert main([c.format(tmp=tmp_path) for c in command] + ["--detector", str(tampered)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"does not match {MANIFEST}" in err and "Traceback" not in err
    assert not (tmp_path / "demo").exists(), "the demo must not have started"


def test_detect_run_with_a_mismatched_model_exits_in_one_line_and_sends_nothing(chain, tampered, tmp_path, monkeypatch,
                                                                                 capsys) -> None:
    path = tmp_path / "deployment.json"
    market = market_with_open_window(chain, path)
    operator = chain.client(0)
    monkeypatch.setenv(KEY_ENV, chain.node.dev_accounts[3].key.to_0x_hex())  # anvil dev key, local chain only
    detector = chain.client(3)
    before = detector.w3.eth.get_transaction_count(detector.address)
    capsys.readouterr()
    code = main(["detect", "run", "--manifest", str(path), "--key-env", KEY_ENV, "--detector", str(tampered),
                 "--horizon", "1200", "--lookback", "3600", "--poll", "0.01", "--steps", "1",
                 "--state", str(tmp_path / "state.json")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and f"does not match {MANIFEST}" in captured.err
    assert "Traceback" not in captured.err and "committed" not in captured.out
    assert detector.w3.eth.get_transaction_count(detector.address) == before, "nothing may be sent with a bad model"
    assert EvaluationLogClient(operator, market.log).entry_of(0, detector.address) is None
